// The overview's "Failing endpoints" query on real databases: attempt rows with chosen URLs,
// outcomes, durations and start times, so every count, percentile bucket and last error is known.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpointStats, openDatabase, type Database, type NewAttempt } from '@dtx/db';
import { attemptRow } from '../../../tests/support/rows.ts';
import { freshStore, testStores } from '../../../tests/support/stores.ts';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const MIN = 60_000;

const attempt = (gid: string, url: string, outcome: string, durationMs: number, agoMs: number, extra: Partial<NewAttempt> = {}) =>
  attemptRow(gid, url, outcome, new Date(NOW - agoMs), { durationMs, ...(outcome === 'success' ? {} : { error: 'stock db down' }), ...extra });

describe.each(testStores())('failing endpoints on %s', (storeName) => {
  let db: Database;

  beforeAll(async () => {
    db = await openDatabase(await freshStore(storeName, 'endpoints'));
    const stock = 'http://stock-srv:8080/api/TransIn';
    const rows: NewAttempt[] = [];
    // stock: 3 transactions, 6 failed calls (the newest a 503), 4 successes; 9 calls of 5 ms, one of 900 ms
    for (let i = 0; i < 6; i++) rows.push(attempt(`g${i % 3}`, `${stock}?gid=g${i % 3}`, 'error', 5, (10 - i) * MIN));
    rows.push(attempt('g0', stock, 'error', 5, 2 * MIN, { httpStatus: 503, error: 'overloaded' }));
    for (let i = 0; i < 3; i++) rows.push(attempt(`h${i}`, stock, 'success', 5, 3 * MIN));
    rows.push(attempt('h9', stock, 'success', 900, 3 * MIN));
    // pay over gRPC: one FAILURE, one ongoing, all slow
    const pay = 'pay-srv:9090/busi.Pay/Charge';
    rows.push(attempt('p1', pay, 'failure', 40, MIN, { protocol: 'grpc', httpStatus: null, grpcCode: 10, error: 'no funds FAILURE' }));
    rows.push(attempt('p2', pay, 'ongoing', 40, MIN, { protocol: 'grpc', httpStatus: null, grpcCode: 9, error: 'ONGOING' }));
    // healthy, and one outside the window
    rows.push(attempt('o1', 'http://orders:80/ok', 'success', 1, MIN));
    rows.push(attempt('o2', 'http://old:80/gone', 'error', 1, 3 * 3600_000));
    await db.store.insertAttempts(rows);
  });
  afterAll(async () => {
    await db?.close();
  });

  it('groups the window by endpoint, most failed first, with last error, transactions and latency buckets', async () => {
    const stats = await endpointStats(db.driver, new Date(NOW - 3600_000));
    expect(stats.map((s) => s.endpoint)).toEqual(['stock-srv:8080/api/TransIn', 'pay-srv:9090/busi.Pay/Charge', 'orders:80/ok']);
    expect(stats[0]).toEqual({
      endpoint: 'stock-srv:8080/api/TransIn',
      calls: 11,
      failed: 7,
      ongoing: 0,
      // g0 called with and without a query string: counted per URL
      transactions: 4,
      p50Ms: 5,
      p99Ms: 1000,
      lastError: { at: new Date(NOW - 2 * MIN), answer: '503', text: 'overloaded' },
    });
    expect(stats[1]).toMatchObject({ calls: 2, failed: 1, ongoing: 1, transactions: 1, p50Ms: 50, p99Ms: 50 });
    expect(stats[1]?.lastError).toMatchObject({ answer: 'gRPC ABORTED', text: 'no funds FAILURE' });
    expect(stats[2]).toMatchObject({ calls: 1, failed: 0, transactions: 0, p50Ms: 1, lastError: null });
  });

  it('a longer window reaches older calls; limit keeps the worst', async () => {
    const week = await endpointStats(db.driver, new Date(NOW - 7 * 86400_000), 3);
    expect(week.map((s) => s.endpoint)).toEqual(['stock-srv:8080/api/TransIn', 'pay-srv:9090/busi.Pay/Charge', 'old:80/gone']);
  });
});
