// The values of a new global and of its branches in the column order of their INSERTs, shared by
// the plain statements (sql-store.ts) and the batched ones (pg-batch.ts). PostgreSQL's
// dtx_insert_many (migration 0026_batch_functions) takes its arrays in this order too: a change
// here needs a migration that replaces that function.
import type { NewBranch, NewGlobal } from './types.ts';

export const GLOBAL_INSERT_COLUMNS =
  'gid, trans_type, status, query_prepared, protocol, create_time, update_time, options, custom_data, ' +
  'next_cron_interval, next_cron_time, owner, ext_data, result, rollback_reason, lease_expire, retry_count, last_error';

export const BRANCH_INSERT_COLUMNS = 'gid, url, bin_data, branch_id, op, status, create_time, update_time';

/** A new global's values for GLOBAL_INSERT_COLUMNS; lease_expire is the lease in ms (0: none), from now by the database's clock. */
export function globalValues(g: NewGlobal, now: Date): unknown[] {
  return [
    g.gid,
    g.transType,
    g.status,
    g.queryPrepared,
    g.protocol,
    now,
    now,
    g.options,
    g.customData,
    g.nextCronInterval,
    g.nextCronTime,
    g.owner,
    g.extData,
    '',
    g.rollbackReason,
    g.owner ? g.leaseMs : 0,
    0,
    '',
  ];
}

/** One branch's values for BRANCH_INSERT_COLUMNS. */
export function branchRowValues(b: NewBranch, now: Date): unknown[] {
  return [b.gid, b.url, b.binData, b.branchId, b.op, b.status, now, now];
}

/** Rows as one array per column (for `unnest`): `rows` of `width` values each. */
export function columns(rows: unknown[][], width: number): unknown[][] {
  const out: unknown[][] = Array.from({ length: width }, () => []);
  for (const row of rows) for (let i = 0; i < width; i++) (out[i] as unknown[]).push(row[i]);
  return out;
}

/** `items` in consecutive runs of at most `size` (statements bounded in their bound variables). */
export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A parenthesized list of `n` placeholders: one row's VALUES, or a call's arguments. */
export function placeholders(n: number): string {
  return `(${new Array(n).fill('?').join(', ')})`;
}
