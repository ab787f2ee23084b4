// Dashboard overview, "Failing endpoints": the branch attempt log of a time window grouped by URL
// in SQL (through the started_at index, migration 0021), then merged by endpoint name (host +
// path, or gRPC service/method: the engine's endpointOf). Latency percentiles come from a
// histogram counted in the same GROUP BY (a portable CASE over fixed bounds), so no dialect needs
// a percentile function and no duration is sent to the dashboard: p50/p99 are "at most" a bound.
// Hand-written SQL for the reason given in docs/development.md ("Which reads go through Prisma
// and which through SQL").
import { endpointOf } from '@dtx/engine';
import type { SqlDriver } from '../drivers.ts';
import { attemptErrors, type AttemptError } from './attempt-errors.ts';

/** Upper bounds (ms) of the latency buckets; a last bucket holds what is slower. */
export const LATENCY_BOUNDS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000] as const;

const BUCKET = `CASE ${LATENCY_BOUNDS_MS.map((b, i) => `WHEN duration_ms <= ${b} THEN ${i}`).join(' ')} ELSE ${LATENCY_BOUNDS_MS.length} END`;

export interface EndpointStats {
  /** host + path, or gRPC host + service/method */
  endpoint: string;
  calls: number;
  /** calls answered with an error or FAILURE */
  failed: number;
  ongoing: number;
  /** distinct transactions with a failed call here */
  transactions: number;
  /** upper bound (ms) of the latency bucket holding the median / 99th percentile; null = slower than the last bound */
  p50Ms: number | null;
  p99Ms: number | null;
  /** the newest failed call */
  lastError: AttemptError | null;
}

const FAILED = `('error', 'failure')`;

/** Per endpoint, the calls started at or after `since`; the `limit` with most failed calls (then most calls) first. */
export async function endpointStats(driver: SqlDriver, since: Date, limit = 50): Promise<EndpointStats[]> {
  const [buckets, affected] = await Promise.all([
    driver.query(
      `SELECT url, outcome, ${BUCKET} AS bucket, COUNT(*) AS n, MAX(id) AS last_id FROM branch_attempt ` +
        `WHERE started_at >= ? GROUP BY url, outcome, ${BUCKET}`,
      [since],
    ),
    driver.query(`SELECT url, COUNT(DISTINCT gid) AS n FROM branch_attempt WHERE started_at >= ? AND outcome IN ${FAILED} GROUP BY url`, [since]),
  ]);
  interface Acc {
    stats: EndpointStats;
    hist: number[];
    lastFailedId: number;
  }
  const by = new Map<string, Acc>();
  const accOf = (url: string): Acc => {
    const endpoint = endpointOf(url);
    let a = by.get(endpoint);
    if (!a) {
      a = {
        stats: { endpoint, calls: 0, failed: 0, ongoing: 0, transactions: 0, p50Ms: null, p99Ms: null, lastError: null },
        hist: new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0),
        lastFailedId: 0,
      };
      by.set(endpoint, a);
    }
    return a;
  };
  for (const r of buckets) {
    const a = accOf(String(r.url));
    const n = Number(r.n);
    const outcome = String(r.outcome);
    a.stats.calls += n;
    a.hist[Number(r.bucket)]! += n;
    if (outcome === 'error' || outcome === 'failure') {
      a.stats.failed += n;
      a.lastFailedId = Math.max(a.lastFailedId, Number(r.last_id));
    } else if (outcome === 'ongoing') {
      a.stats.ongoing += n;
    }
  }
  for (const r of affected) accOf(String(r.url)).stats.transactions += Number(r.n);
  const top = [...by.values()].sort((x, y) => y.stats.failed - x.stats.failed || y.stats.calls - x.stats.calls).slice(0, limit);
  const lastById = await attemptErrors(
    driver,
    top.map((a) => a.lastFailedId),
  );
  for (const a of top) {
    a.stats.p50Ms = percentileBound(a.hist, 0.5);
    a.stats.p99Ms = percentileBound(a.hist, 0.99);
    a.stats.lastError = lastById.get(a.lastFailedId) ?? null;
  }
  return top.map((a) => a.stats);
}

/** Upper bound of the bucket where the cumulative count reaches `q` of the total. */
function percentileBound(hist: number[], q: number): number | null {
  const total = hist.reduce((s, n) => s + n, 0);
  if (total === 0) return null;
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i]!;
    if (seen >= q * total) return LATENCY_BOUNDS_MS[i] ?? null;
  }
  return null;
}
