// The Topics page's per-subscriber deliveries on real databases: attempt rows for chosen URLs,
// outcomes and start times, so every count and the newest error are known.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveriesByUrl, openDatabase, type Database, type NewAttempt } from '@dtx/db';
import { attemptRow } from '../../../tests/support/rows.ts';
import { freshStore, testStores } from '../../../tests/support/stores.ts';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const MIN = 60_000;
const OK_URL = 'http://mail-srv:8080/api/OrderPaid';
const BAD_URL = 'http://ledger:80/api/OrderPaid';
// longer than the 200 characters the MySQL and PostgreSQL index keys hold: told apart by the whole URL
const LONG = `http://audit:80/api/${'x'.repeat(220)}`;

const attempt = (gid: string, url: string, outcome: string, agoMs: number, extra: Partial<NewAttempt> = {}) =>
  attemptRow(gid, url, outcome, new Date(NOW - agoMs), { branchId: '01-01', ...extra });

describe.each(testStores())('subscriber deliveries on %s', (storeName) => {
  let db: Database;

  beforeAll(async () => {
    db = await openDatabase(await freshStore(storeName, 'deliveries'));
    const rows: NewAttempt[] = [];
    for (let i = 0; i < 3; i++) rows.push(attempt(`m${i}`, OK_URL, 'success', (i + 1) * MIN));
    rows.push(attempt('m0', BAD_URL, 'error', 5 * MIN));
    rows.push(attempt('m0', BAD_URL, 'error', 2 * MIN, { httpStatus: 503, error: 'overloaded' }));
    rows.push(attempt('m1', BAD_URL, 'ongoing', MIN, { httpStatus: 425, error: 'ONGOING' }));
    // outside the hour, and a URL with a query string (another URL than the subscriber's)
    rows.push(attempt('old', OK_URL, 'error', 3 * 3600_000));
    rows.push(attempt('q', `${OK_URL}?tenant=2`, 'error', MIN));
    rows.push(attempt('l1', LONG, 'success', MIN));
    rows.push(attempt('l2', `${LONG}y`, 'error', MIN));
    await db.store.insertAttempts(rows);
  });
  afterAll(async () => {
    await db?.close();
  });

  it('counts the calls to each subscriber URL since the time asked, with the newest failed one', async () => {
    const got = await deliveriesByUrl(db.driver, [OK_URL, BAD_URL, 'http://never-called/x', OK_URL], new Date(NOW - 3600_000));
    expect(got).toEqual([
      { url: OK_URL, succeeded: 3, failed: 0, ongoing: 0, lastError: null },
      { url: BAD_URL, succeeded: 0, failed: 2, ongoing: 1, lastError: { at: new Date(NOW - 2 * MIN), answer: '503', text: 'overloaded' } },
      { url: 'http://never-called/x', succeeded: 0, failed: 0, ongoing: 0, lastError: null },
    ]);
  });

  it('a longer window reaches older calls; URLs alike in their first 200 characters are counted apart', async () => {
    const [ok] = await deliveriesByUrl(db.driver, [OK_URL], new Date(NOW - 86400_000));
    expect(ok).toMatchObject({ succeeded: 3, failed: 1, lastError: { at: new Date(NOW - 3 * 3600_000) } });
    const long = await deliveriesByUrl(db.driver, [LONG, `${LONG}y`], new Date(NOW - 3600_000));
    expect(long.map((d) => [d.succeeded, d.failed])).toEqual([
      [1, 0],
      [0, 1],
    ]);
  });

  it('many URLs at once (more than one statement)', async () => {
    const urls = Array.from({ length: 450 }, (_, i) => `http://s${i}/x`).concat([BAD_URL]);
    const got = await deliveriesByUrl(db.driver, urls, new Date(NOW - 3600_000));
    expect(got).toHaveLength(451);
    expect(got[450]).toMatchObject({ url: BAD_URL, failed: 2 });
  });
});
