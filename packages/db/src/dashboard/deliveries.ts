// Topics page: for each subscriber URL, the calls the coordinator made to it since a time (a msg
// step topic://NAME becomes one branch per subscriber, whose URL the attempt log records as it
// was subscribed): how many succeeded, failed or answered "ongoing", and the newest failed one.
// Read through the (URL, started_at) index of migration 0024, whose URL key is a prefix on MySQL
// (by itself) and on PostgreSQL (an expression the query repeats). Hand-written SQL for the reason
// given in docs/development.md ("Which reads go through Prisma and which through SQL").
import type { SqlDriver } from '../drivers.ts';
import { placeholders, repeated } from '../values.ts';
import { attemptErrors, type AttemptError } from './attempt-errors.ts';

export interface UrlDeliveries {
  url: string;
  succeeded: number;
  /** answered with an error or FAILURE */
  failed: number;
  ongoing: number;
  /** the newest failed call since the time asked */
  lastError: AttemptError | null;
}

/** URLs per statement: keeps the parameter list far below every driver's limit. */
const CHUNK = 200;

/** Per URL (each once, in the order given), its calls started at or after `since`. */
export async function deliveriesByUrl(driver: SqlDriver, urls: string[], since: Date): Promise<UrlDeliveries[]> {
  const unique = [...new Set(urls)];
  const by = new Map<string, UrlDeliveries & { lastFailedId: number }>(
    unique.map((url) => [url, { url, succeeded: 0, failed: 0, ongoing: 0, lastError: null, lastFailedId: 0 }]),
  );
  for (let i = 0; i < unique.length; i += CHUNK) {
    const chunk = unique.slice(i, i + CHUNK);
    const marks = placeholders(chunk.length);
    const [where, params] =
      driver.dialect === 'postgres'
        ? [`left(url, 200) IN (${repeated('left(?, 200)', chunk.length)}) AND url IN ${marks}`, [...chunk, ...chunk]]
        : [`url IN ${marks}`, chunk];
    const rows = await driver.query(
      `SELECT url, outcome, COUNT(*) AS n, MAX(id) AS last_id FROM branch_attempt WHERE ${where} AND started_at >= ? GROUP BY url, outcome`,
      [...params, since],
    );
    for (const r of rows) {
      const d = by.get(String(r.url));
      if (!d) continue;
      const n = Number(r.n);
      const outcome = String(r.outcome);
      if (outcome === 'success') d.succeeded += n;
      else if (outcome === 'ongoing') d.ongoing += n;
      else {
        d.failed += n;
        d.lastFailedId = Math.max(d.lastFailedId, Number(r.last_id));
      }
    }
  }
  const errors = await attemptErrors(
    driver,
    [...by.values()].map((d) => d.lastFailedId),
  );
  return [...by.values()].map(({ lastFailedId, ...d }) => ({ ...d, lastError: errors.get(lastFailedId) ?? null }));
}
