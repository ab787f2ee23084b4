// PostgreSQL statements that carry the writes of many requests at once (group-commit.ts): the
// members' values go as one array per column and `unnest` turns them back into rows, so the
// statement text is the same whatever the batch size, and one statement is one transaction: one
// round trip and one commit for the whole batch.
//
// They are planned at every execution (CUSTOM_PLAN keeps drivers.ts from preparing them by
// name): a prepared statement's generic plan is made once per connection and kept until the
// table is next analyzed, and one made while a new database's tables were still small joined the
// arrays to the table by scanning it, 80-100 ms a batch once the table had grown (seen in the
// benchmark's first minute, before autovacuum's first ANALYZE). Planning one batch costs
// 0.2-0.3 ms of database CPU, shared by its members (EXPLAIN ANALYZE of a three-member status
// batch; docs/benchmarks.md). Named statements with hash and merge joins turned off on the
// connection still got a bad generic plan (2.2-2.6 ms of database CPU per saga).
const CUSTOM_PLAN = '/* planned per batch (pg-batch.ts) */ ';
import type { SqlDriver } from './drivers.ts';
import { BRANCH_INSERT_COLUMNS, branchRowValues, columns, GLOBAL_INSERT_COLUMNS, globalValues } from './values.ts';
import type { GlobalStatus, NewBranch, NewGlobal, StatusChange, StoreWait } from './types.ts';

export interface InsertMember {
  g: NewGlobal;
  branches: NewBranch[];
  now: Date;
}

// Members with a gid that exists already are skipped (ON CONFLICT DO NOTHING), their branches
// too; the gids inserted come back. A batch never holds one gid twice (GroupCommit's key). The
// arrays are the columns of values.ts; lease_expire comes as the lease in ms.
const INSERT_MANY =
  CUSTOM_PLAN +
  'WITH v AS (SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::timestamptz[], ?::timestamptz[], ' +
  '?::text[], ?::text[], ?::int[], ?::timestamptz[], ?::text[], ?::text[], ?::text[], ?::text[], ?::int[], ?::int[], ?::text[]) ' +
  `WITH ORDINALITY AS v(${GLOBAL_INSERT_COLUMNS}, ord)), ` +
  `g AS (INSERT INTO trans_global (${GLOBAL_INSERT_COLUMNS}) ` +
  'SELECT gid, trans_type, status, query_prepared, protocol, create_time, update_time, options, custom_data, next_cron_interval, ' +
  "next_cron_time, owner, ext_data, result, rollback_reason, clock_timestamp() + NULLIF(lease_expire, 0) * interval '1 millisecond', " +
  'retry_count, last_error FROM v ORDER BY ord ON CONFLICT (gid) DO NOTHING RETURNING gid), ' +
  `b AS (INSERT INTO trans_branch_op (${BRANCH_INSERT_COLUMNS}) SELECT ${BRANCH_INSERT_COLUMNS} ` +
  'FROM unnest(?::text[], ?::text[], ?::bytea[], ?::text[], ?::text[], ?::text[], ?::timestamptz[], ?::timestamptz[]) WITH ORDINALITY ' +
  `AS x(${BRANCH_INSERT_COLUMNS}, ord) WHERE gid IN (SELECT gid FROM g) ORDER BY ord) ` +
  'SELECT gid FROM g';

/** Inserts the members' globals and branches in one statement; whether each global was new. */
export async function insertMany(driver: SqlDriver, members: InsertMember[], wait: StoreWait | undefined): Promise<boolean[]> {
  const globals = members.map((m) => globalValues(m.g, m.now));
  const branches = members.flatMap((m) => m.branches.map((b) => branchRowValues(b, m.now)));
  const rows = await driver.query(INSERT_MANY, [...columns(globals, 18), ...columns(branches, 8)], wait);
  const inserted = new Set(rows.map((r) => String(r.gid)));
  return members.map((m) => inserted.has(m.g.gid));
}

export interface StatusMember {
  gid: string;
  from: GlobalStatus;
  to: GlobalStatus;
  now: Date;
  change: StatusChange;
}

/**
 * Whether `changeStatus` with this change can go in a batch: the pass's own status changes (a
 * lease owner, branch results, release, errors, the streak); operator and API changes (result,
 * due, leaseFree, noneSucceeded, no owner) go alone, through the plain statement.
 */
export function batchableChange(c: StatusChange): boolean {
  return c.owner !== undefined && c.result === undefined && !c.due && !c.leaseFree && !c.noneSucceeded?.length;
}

// The branch results are written whatever the outcome of the compare-and-set (they are facts),
// as in the plain statement; a NULL in an optional column's array leaves that column as it is.
const STATUS_MANY =
  CUSTOM_PLAN +
  'WITH v AS (SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::timestamptz[], ?::text[], ?::text[], ?::bool[], ' +
  '?::int[], ?::text[], ?::bool[], ?::timestamptz[], ?::int[], ?::timestamptz[], ?::text[], ?::text[]) AS v(gid, from_status, ' +
  'to_status, now, rollback_reason, owner, release, errors, last_error, set_streak, fail_since, fail_streak, ongoing_since, ' +
  'fail_endpoint, fail_detail)), ' +
  'b AS (UPDATE trans_branch_op t SET status = x.status, finish_time = x.now, update_time = x.now ' +
  'FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::timestamptz[]) AS x(gid, branch_id, op, status, now) ' +
  "WHERE t.gid = x.gid AND t.branch_id = x.branch_id AND t.op = x.op AND t.status = 'prepared' RETURNING 1) " +
  'UPDATE trans_global t SET status = v.to_status, update_time = v.now, ' +
  "finish_time = CASE WHEN v.to_status = 'succeed' THEN v.now ELSE t.finish_time END, " +
  "rollback_time = CASE WHEN v.to_status = 'failed' THEN v.now ELSE t.rollback_time END, " +
  'rollback_reason = COALESCE(v.rollback_reason, t.rollback_reason), ' +
  "owner = CASE WHEN v.release THEN '' ELSE t.owner END, lease_expire = CASE WHEN v.release THEN NULL ELSE t.lease_expire END, " +
  'retry_count = t.retry_count + v.errors, last_error = COALESCE(v.last_error, t.last_error), ' +
  'fail_since = CASE WHEN v.set_streak THEN v.fail_since ELSE t.fail_since END, ' +
  'fail_streak = CASE WHEN v.set_streak THEN v.fail_streak ELSE t.fail_streak END, ' +
  'ongoing_since = CASE WHEN v.set_streak THEN v.ongoing_since ELSE t.ongoing_since END, ' +
  'fail_endpoint = CASE WHEN v.set_streak THEN v.fail_endpoint ELSE t.fail_endpoint END, ' +
  'fail_detail = CASE WHEN v.set_streak THEN v.fail_detail ELSE t.fail_detail END ' +
  'FROM v WHERE t.gid = v.gid AND t.status = v.from_status AND t.owner = v.owner RETURNING t.gid';

/** Status changes of several transactions (batchableChange) in one statement; whether each matched. */
export async function changeStatusMany(driver: SqlDriver, members: StatusMember[], wait: StoreWait | undefined): Promise<boolean[]> {
  const globals: unknown[][] = [];
  const branches: unknown[][] = [];
  for (const { gid, from, to, now, change: c } of members) {
    const s = c.streak;
    globals.push([
      gid,
      from,
      to,
      now,
      c.rollbackReason || null,
      c.owner,
      c.release === true,
      c.errors ?? 0,
      c.lastError || null,
      s !== undefined,
      s?.failSince ?? null,
      s?.failStreak ?? 0,
      s?.ongoingSince ?? null,
      s ? s.failEndpoint.slice(0, 255) : '',
      s ? s.failDetail.slice(0, 1024) : '',
    ]);
    for (const b of c.branches ?? []) branches.push([gid, b.branchId, b.op, b.status, now]);
  }
  const rows = await driver.query(STATUS_MANY, [...columns(globals, 15), ...columns(branches, 5)], wait);
  const matched = new Set(rows.map((r) => String(r.gid)));
  return members.map((m) => matched.has(m.gid));
}
