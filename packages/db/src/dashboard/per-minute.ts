// Dashboard overview: transactions per minute, grouped in SQL (one row per minute, via the
// create/finish/rollback time indexes). Prisma cannot group by an expression, so this read is
// hand-written SQL with one minute expression per dialect; everything else the dashboard reads
// goes through Prisma (docs/development.md, "Which reads go through Prisma and which through SQL").
import type { SqlDriver } from '../drivers.ts';

/** The trans_global time columns the overview counts by (each has an index of its own). */
export type PerMinuteColumn = 'create_time' | 'finish_time' | 'rollback_time';

const COLUMNS: readonly PerMinuteColumn[] = ['create_time', 'finish_time', 'rollback_time'];

function minuteExpr(driver: SqlDriver, column: PerMinuteColumn): string {
  switch (driver.dialect) {
    case 'sqlite':
      return `(${column} / 60000)`; // stored as epoch milliseconds
    case 'postgres':
      return `floor(extract(epoch from ${column}) / 60)::bigint`;
    case 'mysql':
      return `floor(unix_timestamp(${column}) / 60)`;
  }
}

/**
 * How many trans_global rows have `column` at or after `since`, per minute: a map from the minute
 * (epoch ms / 60000) to the count. finish_time is set only when a transaction succeeds and
 * rollback_time only when it fails, so the time column alone says the outcome: no status
 * condition that could lure a planner onto the (status, id) index and a scan of every succeeded row.
 */
export async function countPerMinute(driver: SqlDriver, column: PerMinuteColumn, since: Date): Promise<Map<number, number>> {
  // The column name is spliced into the SQL text: only the known ones.
  if (!COLUMNS.includes(column)) throw new Error(`countPerMinute: not a time column of trans_global: ${column}`);
  const m = minuteExpr(driver, column);
  const rows = await driver.query(`SELECT ${m} AS minute, COUNT(*) AS n FROM trans_global WHERE ${column} >= ? GROUP BY ${m}`, [since]);
  return new Map(rows.map((r) => [Number(r.minute), Number(r.n)]));
}
