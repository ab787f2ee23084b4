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

/** `text` `n` times, comma separated. */
export function repeated(text: string, n: number): string {
  return new Array<string>(n).fill(text).join(', ');
}

/** A parenthesized list of `n` placeholders: one row's VALUES, or a call's arguments. */
export function placeholders(n: number): string {
  return `(${repeated('?', n)})`;
}

/** `n` rows of `width` placeholders each, comma separated. */
export function rowPlaceholders(width: number, n: number): string {
  return repeated(placeholders(width), n);
}

// Statement texts built once. The drivers' statement caches are maps keyed by the text, and a
// text assembled anew at every call (a template, a join) is a new string that the lookup flattens
// and hashes anew, some hundreds of characters each time; a string kept and handed out again has
// its hash already (docs/benchmarks.md, "Statement texts built once").

/** Row counts whose texts are kept; a statement with more rows (a saga of hundreds of branches) builds its own. */
export const KEPT_ROW_COUNTS = 100;

/** A statement's text by its number of rows, built once per count up to KEPT_ROW_COUNTS. */
export function byRowCount(build: (n: number) => string): (n: number) => string {
  const texts: string[] = [];
  return (n) => (n > KEPT_ROW_COUNTS ? build(n) : (texts[n] ??= build(n)));
}

/** Texts by the sequence of fragments they are assembled from (see assembled). */
export interface TextCache {
  next: Map<string, TextCache>;
  text?: string;
}

export function newTextCache(): TextCache {
  return { next: new Map() };
}

/**
 * The text that `build` assembles from `parts`, built once per distinct sequence of parts. The
 * parts must be the constants the text is made of (string literals, texts built once): looking
 * them up costs a map probe each, with their hashes known, instead of hashing the whole text.
 */
export function assembled(cache: TextCache, parts: readonly string[], build: () => string): string {
  let node = cache;
  for (const part of parts) {
    let child = node.next.get(part);
    if (!child) node.next.set(part, (child = newTextCache()));
    node = child;
  }
  return (node.text ??= build());
}
