// Retention on each store: finished transactions older than the cut-off go, with their branches
// and attempt rows; newer ones and unfinished ones stay whole; the attempt log of a transaction
// that keeps retrying is trimmed to its first and newest rows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adoptedFromDtm, openDatabase, type Database, type NewAttempt } from '@dtx/db';
import { Retention, silentLogger, type GlobalStatus } from '@dtx/engine';
import { ManualClock } from './support/clock.ts';
import { globalRow } from './support/rows.ts';
import { freshStore, testStores } from './support/stores.ts';

const DAY = 86_400_000;

describe.each(testStores())('retention on %s', (storeName) => {
  let db: Database;
  const clock = new ManualClock(new Date());
  let n = 0;
  const gid = (label: string) => `ret-${label}-${storeName}-${++n}`;

  beforeAll(async () => {
    db = await openDatabase(await freshStore(storeName, 'retention'));
  });
  afterAll(async () => {
    await db?.close();
  });

  const global = (g: string) => globalRow(g, new Date(Date.now() + 3600_000));
  const attempt = (g: string, i: number): NewAttempt => ({
    gid: g,
    branchId: '01',
    op: 'action',
    url: `http://127.0.0.1:1/a?${i}`,
    protocol: 'http',
    startedAt: new Date(),
    durationMs: 1,
    httpStatus: 503,
    grpcCode: null,
    outcome: 'error',
    response: `try ${i}`,
    error: 'down',
    owner: 'x:1',
  });

  /** A saga with two branch ops and three attempts, ended with `to` at `at` (or left submitted). */
  async function make(label: string, to: GlobalStatus | null, at: Date): Promise<string> {
    const g = gid(label);
    const branches = ['compensate', 'action'].map((op) => ({
      gid: g,
      url: 'http://127.0.0.1:1/x',
      binData: null,
      branchId: '01',
      op,
      status: 'prepared' as const,
    }));
    expect(await db.store.insertTrans(global(g), branches, at)).toBe(true);
    await db.store.insertAttempts([0, 1, 2].map((i) => attempt(g, i)));
    if (to) expect(await db.store.changeStatus(g, 'submitted', to, at)).toBe(true);
    return g;
  }

  const rows = async (g: string) => ({
    global: (await db.store.findGlobal(g)) !== null,
    branches: (await db.store.findBranches(g)).length,
    attempts: (await db.store.findAttempts(g, 1000)).length,
  });

  it('deletes finished transactions past the age with their branches and attempts, and nothing else', async () => {
    const now = clock.now().getTime();
    const oldOk = await make('old-ok', 'succeed', new Date(now - 3 * DAY));
    const oldFailed = await make('old-failed', 'failed', new Date(now - 2 * DAY));
    const newOk = await make('new-ok', 'succeed', new Date(now - 3600_000));
    const oldOpen = await make('old-open', null, new Date(now - 5 * DAY));
    const before = await db.store.finishedStats();
    const retention = new Retention({
      store: db.store,
      clock,
      log: silentLogger,
      finishedAgeSeconds: 86_400,
      batchSize: 1, // one per batch: the run loops until a batch comes back short
      intervalSeconds: 60,
      keepAttempts: 0,
    });
    const run = await retention.runOnce();
    expect(run.deletedTransactions).toBe(2);
    for (const g of [oldOk, oldFailed]) expect(await rows(g)).toEqual({ global: false, branches: 0, attempts: 0 });
    for (const g of [newOk, oldOpen]) expect(await rows(g)).toEqual({ global: true, branches: 2, attempts: 3 });
    const after = await db.store.finishedStats();
    expect(after.count).toBe(before.count - 2);
    expect(Math.abs((after.oldest?.getTime() ?? 0) - (now - 3600_000))).toBeLessThan(1000);
  });

  it('is on by default in a database dtx created', async () => {
    expect(await adoptedFromDtm(db.driver)).toBe(false);
  });

  it('trims the attempt log of an unfinished transaction to its first and newest rows', async () => {
    const g = await make('busy', null, clock.now());
    await db.store.insertAttempts(Array.from({ length: 20 }, (_, i) => attempt(g, i + 3)));
    const other = await make('quiet', null, clock.now());
    const retention = new Retention({
      store: db.store,
      clock,
      log: silentLogger,
      finishedAgeSeconds: 0,
      batchSize: 2,
      intervalSeconds: 60,
      keepAttempts: 5,
    });
    const run = await retention.runOnce();
    expect(run.trimmedAttempts).toBe(18);
    expect((await db.store.findAttempts(g, 1000)).map((a) => a.response)).toEqual(['try 0', 'try 19', 'try 20', 'try 21', 'try 22']);
    expect((await db.store.findAttempts(other, 1000)).length).toBe(3);
  });
});
