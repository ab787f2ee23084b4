// PostgreSQL statements that carry the writes of many requests at once (group-commit.ts): the
// members' values go as one array per column and `unnest` turns them back into rows, so the
// statement is the same whatever the batch size, and one statement is one transaction: one round
// trip and one commit for the whole batch.
//
// The statements themselves are the functions dtx_insert_many and dtx_status_many (migration
// 0026_batch_functions, PostgreSQL). Sent as plain statements they were parsed and planned at every
// execution (0.4-0.5 ms of the database's time a batch, more than running them; docs/benchmarks.md):
// a prepared statement's generic plan, made once per connection, could not be trusted, because
// one made while a new database's tables were still small joined the arrays to the table by
// scanning it, 80-100 ms a batch once the table had grown. PL/pgSQL keeps a function's plan for
// the session, and the functions' SET clauses price sequential scans and hash and merge joins out
// whenever that plan is made, so it is the index lookups at any table size.
import type { SqlDriver } from './drivers.ts';
import { branchRowValues, columns, globalValues, placeholders } from './values.ts';
import type { GlobalStatus, NewBranch, NewGlobal, StatusChange, StoreWait } from './types.ts';

export interface InsertMember {
  g: NewGlobal;
  branches: NewBranch[];
  now: Date;
}

// Members with a gid that exists already are skipped (ON CONFLICT DO NOTHING), their branches
// too; the gids inserted come back. A batch never holds one gid twice (GroupCommit's key). The
// arrays are the columns of values.ts; lease_expire comes as the lease in ms.
const INSERT_MANY = `SELECT * FROM dtx_insert_many${placeholders(26)} AS r(gid)`;

/** Inserts the members' globals and branches in one statement; whether each global was new. */
export async function insertMany(driver: SqlDriver, members: InsertMember[], wait: StoreWait | undefined): Promise<boolean[]> {
  const globals = members.map((m) => globalValues(m.g, m.now));
  // Loops, not flatMap: Node 20's flatMap costs some 15x a loop of pushes (docs/benchmarks.md,
  // "Statement texts built once").
  const branches: unknown[][] = [];
  for (const m of members) for (const b of m.branches) branches.push(branchRowValues(b, m.now));
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
const STATUS_MANY = `SELECT * FROM dtx_status_many${placeholders(20)} AS r(gid)`;

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
