// The login attempt counters (src/dashboard/login-limit.ts) on each store: concurrent attempts
// are all counted with distinct counts, a window that ended starts again, and clearing and giving
// back work on the row other instances see.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearLoginAttempts, openDatabase, pruneLoginAttempts, returnLoginAttempt, takeLoginAttempt, type Database } from '@dtx/db';
import { freshStore, testStores } from '../../../tests/support/stores.ts';

describe.each(testStores())('login attempt counters on %s', (storeName) => {
  let db: Database;
  let other: Database;

  beforeAll(async () => {
    const store = await freshStore(storeName, 'limit');
    db = await openDatabase(store);
    other = await openDatabase(store); // a second instance on the same database
  });
  afterAll(async () => {
    await other?.close();
    await db?.close();
  });

  it('200 concurrent attempts from two instances get the counts 1..200, each once', async () => {
    const now = new Date();
    const all = await Promise.all(Array.from({ length: 200 }, (_, i) => takeLoginAttempt(i % 2 ? db.driver : other.driver, 'user:x', 60_000, now)));
    expect(all.map((a) => a.count).sort((p, q) => p - q)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(new Set(all.map((a) => a.resetsAt))).toEqual(new Set([now.getTime() + 60_000]));
  });

  it('a window that has ended starts again at 1, with a new end', async () => {
    const t0 = new Date(Date.now() - 10 * 60_000);
    expect((await takeLoginAttempt(db.driver, 'user:y', 60_000, t0)).count).toBe(1);
    expect((await takeLoginAttempt(db.driver, 'user:y', 60_000, new Date(t0.getTime() + 30_000))).count).toBe(2);
    const later = new Date(t0.getTime() + 61_000);
    expect(await takeLoginAttempt(other.driver, 'user:y', 60_000, later)).toEqual({ count: 1, resetsAt: later.getTime() + 60_000 });
  });

  it('clear forgets a key, give-back lowers it by one, prune deletes ended windows only', async () => {
    const now = new Date();
    for (let i = 0; i < 3; i++) await takeLoginAttempt(db.driver, 'addr:1', 60_000, now);
    await returnLoginAttempt(other.driver, 'addr:1');
    expect((await takeLoginAttempt(db.driver, 'addr:1', 60_000, now)).count).toBe(3);
    await clearLoginAttempts(other.driver, 'addr:1');
    expect((await takeLoginAttempt(db.driver, 'addr:1', 60_000, now)).count).toBe(1);
    await takeLoginAttempt(db.driver, 'addr:old', 1000, new Date(now.getTime() - 60_000));
    expect(await pruneLoginAttempts(db.driver, now)).toBeGreaterThanOrEqual(1);
    expect((await takeLoginAttempt(db.driver, 'addr:1', 60_000, now)).count).toBe(2);
  });
});
