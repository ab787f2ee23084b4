// The store port over SQL. One operation, one method, the SQL in plain view; dialect differences
// (upsert syntax, RETURNING, SKIP LOCKED) are spelled out where they occur rather than hidden in a
// query builder. Every state change is conditional on the state it expects.
import { isStorable } from '@dtx/engine';
import { WaitingDriver, type Row, type SqlConn, type SqlDriver, type Stmt } from './drivers.ts';
import { GroupCommit, type GroupStats } from './group-commit.ts';
import { batchableChange, changeStatusMany, insertMany, type InsertMember, type StatusMember } from './pg-batch.ts';
import {
  assembled,
  BRANCH_INSERT_COLUMNS,
  branchRowValues,
  byRowCount,
  GLOBAL_INSERT_COLUMNS,
  KEPT_ROW_COUNTS,
  newTextCache,
  globalValues,
  chunks,
  placeholders,
  repeated,
  rowPlaceholders,
} from './values.ts';
import { deleteFinished, finishedStats, trimAttempts } from './retention.ts';
import {
  DuplicateBranchError,
  type AttemptRow,
  type BranchStatus,
  type GlobalStatus,
  type RenewedLease,
  type BranchResult,
  type CallStreak,
  type BranchRow,
  type Dialect,
  type GlobalQuery,
  type GlobalRow,
  type KvRow,
  type NewAttempt,
  type NodeRow,
  type NewBranch,
  type NewGlobal,
  type PassEnd,
  type StatusChange,
  type Store,
  type StoreWait,
} from './types.ts';

const UNFINISHED = `('prepared','submitted','aborting')`;
/**
 * The owner index holds leased rows only (migration 0025, a partial index on SQLite and
 * PostgreSQL): a query by owner states the index's condition word for word, so that the planner
 * uses it whatever the token (neither proves it from `owner = ?` with a parameter: SQLite never,
 * PostgreSQL not in a generic plan).
 */
const HELD = `owner <> ''`;

// Explicit column lists rather than `*`: PostgreSQL statements are prepared once per connection,
// and a prepared `SELECT *` breaks when a newer instance's migration adds a column.
const GLOBAL_COLUMNS =
  'id, gid, trans_type, status, query_prepared, protocol, create_time, update_time, finish_time, rollback_time, ' +
  'options, custom_data, next_cron_interval, next_cron_time, owner, ext_data, result, rollback_reason, lease_expire, ' +
  'retry_count, last_error, fail_since, fail_streak, ongoing_since, fail_endpoint, fail_detail';
const BRANCH_COLUMNS = 'id, gid, url, bin_data, branch_id, op, status, finish_time, rollback_time, create_time, update_time';
const KV_COLUMNS = 'id, cat, k, v, version, create_time, update_time';
const ATTEMPT_COLUMNS = 'id, gid, branch_id, op, url, protocol, started_at, duration_ms, http_status, grpc_code, outcome, response, error, owner';

// Lease times are the database's (see the port): lease_expire is set and compared with the
// database's clock, in the form each dialect stores it (SQLite: epoch milliseconds).
const DB_NOW: Record<Dialect, string> = {
  postgres: 'clock_timestamp()',
  mysql: 'UTC_TIMESTAMP(3)',
  sqlite: "CAST(unixepoch('subsec') * 1000 AS INTEGER)",
};

/** lease_expire `?` milliseconds from now by the database's clock; NULL for 0. */
const LEASE_UNTIL: Record<Dialect, string> = {
  postgres: `${DB_NOW.postgres} + NULLIF(?::int, 0) * interval '1 millisecond'`,
  mysql: `${DB_NOW.mysql} + INTERVAL NULLIF(?, 0) * 1000 MICROSECOND`,
  sqlite: `${DB_NOW.sqlite} + NULLIF(?, 0)`,
};

/** The branches' values, row after row (a loop: Node 20's flatMap costs some 15x a loop of pushes). */
function branchValues(branches: NewBranch[], now: Date): unknown[] {
  const out: unknown[] = [];
  for (const b of branches) for (const v of branchRowValues(b, now)) out.push(v);
  return out;
}

/** The server does not know the syntax (e.g. SKIP LOCKED before MariaDB 10.6 / MySQL 8). */
function isSyntaxError(err: unknown): boolean {
  const e = err as { code?: string; errno?: number };
  return e?.errno === 1064 || e?.code === 'ER_PARSE_ERROR';
}

/** MySQL's duplicate-key message when the gid collides (MariaDB names the key, MySQL 8 table.key). */
const DUPLICATE_GID = /for key '(?:trans_global\.)?gid'/;

/**
 * UPDATEs of branch results (SQLite, MySQL): one per status among them (a pass's branches usually
 * all have one), for at most 100 branches each. A branch changes only from `prepared`.
 */
function branchResults(gid: string, branches: BranchResult[], now: Date): Stmt[] {
  const byStatus = new Map<string, BranchResult[]>();
  for (const b of branches) {
    const list = byStatus.get(b.status);
    if (list) list.push(b);
    else byStatus.set(b.status, [b]);
  }
  const out: Stmt[] = [];
  for (const [status, list] of byStatus) {
    for (const chunk of chunks(list, 100)) {
      const params: unknown[] = [status, now, now, gid];
      for (const b of chunk) params.push(b.branchId, b.op);
      out.push({ sql: BRANCH_RESULT_SQL(chunk.length), params });
    }
  }
  return out;
}

/** A statement's text for each dialect, built once (see byRowCount). */
function perDialect(build: (d: Dialect) => string): Record<Dialect, string> {
  return { sqlite: build('sqlite'), postgres: build('postgres'), mysql: build('mysql') };
}

const BRANCH_RESULT_SQL = byRowCount((n) => {
  const which = n === 1 ? 'branch_id = ? AND op = ?' : `(branch_id, op) IN (${rowPlaceholders(2, n)})`;
  return `UPDATE trans_branch_op SET status = ?, finish_time = ?, update_time = ? WHERE gid = ? AND ${which} AND status = 'prepared'`;
});

const BRANCH_INSERT_SQL = byRowCount((n) => `INSERT INTO trans_branch_op (${BRANCH_INSERT_COLUMNS}) VALUES ${rowPlaceholders(8, n)}`);

const INSERT_GLOBAL = perDialect(
  (d) => `INSERT INTO trans_global (${GLOBAL_INSERT_COLUMNS}) VALUES (${[...Array<string>(15).fill('?'), LEASE_UNTIL[d], '?', '?'].join(', ')})`,
);
const INSERT_GLOBAL_IF_NEW = `${INSERT_GLOBAL.sqlite} ON CONFLICT (gid) DO NOTHING`;

const ACQUIRE_LEASE = perDialect(
  (d) =>
    `UPDATE trans_global SET owner = ?, lease_expire = ${LEASE_UNTIL[d]} WHERE gid = ? AND status IN ${UNFINISHED} ` +
    `AND (lease_expire IS NULL OR lease_expire <= ${DB_NOW[d]})`,
);
const ACQUIRE_LEASE_RETURNING = perDialect((d) => `${ACQUIRE_LEASE[d]} RETURNING ${GLOBAL_COLUMNS}`);

const LEASE_FREE = perDialect((d) => ` AND (lease_expire IS NULL OR lease_expire <= ${DB_NOW[d]})`);

// MySQL cannot read the updated table in a subquery; trans_branch_op is another table.
const NONE_SUCCEEDED = byRowCount(
  (n) => ` AND NOT EXISTS (SELECT 1 FROM trans_branch_op b WHERE b.gid = ? AND b.status = 'succeed' AND b.op IN ${placeholders(n)})`,
);

/** UPDATEs of trans_global by their fragments (changeOne, endPass). */
const UPDATE_TEXTS = newTextCache();

/** PostgreSQL: a pass's branch results as a CTE in front of the global's UPDATE (withBranches). */
const PG_BRANCH_RESULTS = byRowCount(
  (n) =>
    'WITH b AS (UPDATE trans_branch_op SET status = v.status, finish_time = ?, update_time = ? ' +
    `FROM (VALUES ${repeated('(?::varchar, ?::varchar, ?::varchar)', n)}) AS v(branch_id, op, status) ` +
    `WHERE trans_branch_op.gid = ? AND trans_branch_op.branch_id = v.branch_id AND trans_branch_op.op = v.op ` +
    `AND trans_branch_op.status = 'prepared' RETURNING 1)`,
);
const PG_WITH_BRANCHES = newTextCache();

const ATTEMPT_INSERT_SQL = byRowCount(
  (n) =>
    'INSERT INTO branch_attempt (gid, branch_id, op, url, protocol, started_at, duration_ms, http_status, grpc_code, ' +
    `outcome, response, error, owner) VALUES ${rowPlaceholders(13, n)}`,
);

/** INSERTs of branch rows; SQLite limits bound variables per statement, 100 rows x 8 stays inside every limit. */
function branchInserts(branches: NewBranch[], now: Date): Stmt[] {
  return chunks(branches, 100).map((chunk) => ({
    sql: BRANCH_INSERT_SQL(chunk.length),
    params: branchValues(chunk, now),
  }));
}

function isDuplicateKey(err: unknown): boolean {
  const e = err as { code?: string; errno?: number; message?: string };
  return (
    e?.code === '23505' || // postgres unique_violation
    e?.errno === 1062 ||
    e?.code === 'ER_DUP_ENTRY' || // mysql
    e?.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}

function time(v: unknown): Date | null {
  if (v === null || v === undefined) return null;
  return v instanceof Date ? v : new Date(v as string);
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : Number(v);
}

/**
 * A text column's value: strings as they are, numbers in decimal, bytes as UTF-8 (what String()
 * gave for every value a driver returns for these columns); anything else as JSON, never
 * "[object Object]".
 */
function str(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString();
  return JSON.stringify(v) ?? '';
}

function buf(v: unknown): Buffer | null {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v);
  return Buffer.from(str(v));
}

export function toGlobal(r: Row): GlobalRow {
  return {
    id: num(r.id),
    gid: str(r.gid),
    transType: str(r.trans_type),
    // The column holds only the port's statuses: every write of it goes through the port.
    status: str(r.status) as GlobalStatus,
    queryPrepared: str(r.query_prepared),
    protocol: str(r.protocol),
    createTime: time(r.create_time),
    updateTime: time(r.update_time),
    finishTime: time(r.finish_time),
    rollbackTime: time(r.rollback_time),
    options: str(r.options),
    customData: str(r.custom_data),
    nextCronInterval: r.next_cron_interval === null ? null : num(r.next_cron_interval),
    nextCronTime: time(r.next_cron_time),
    owner: str(r.owner),
    extData: str(r.ext_data),
    result: str(r.result),
    rollbackReason: str(r.rollback_reason),
    leaseExpire: time(r.lease_expire),
    retryCount: num(r.retry_count ?? 0),
    lastError: str(r.last_error),
    failSince: time(r.fail_since),
    failStreak: num(r.fail_streak ?? 0),
    ongoingSince: time(r.ongoing_since),
    failEndpoint: str(r.fail_endpoint ?? ''),
    failDetail: str(r.fail_detail ?? ''),
  };
}

/** SET clauses recording a run of call answers (the stuck view's columns). */
function streakSets(streak: CallStreak | undefined, sets: string[], params: unknown[]): void {
  if (!streak) return;
  sets.push('fail_since = ?', 'fail_streak = ?', 'ongoing_since = ?', 'fail_endpoint = ?', 'fail_detail = ?');
  params.push(streak.failSince, streak.failStreak, streak.ongoingSince, streak.failEndpoint.slice(0, 255), streak.failDetail.slice(0, 1024));
}

export function toBranch(r: Row): BranchRow {
  return {
    id: num(r.id),
    gid: str(r.gid),
    url: str(r.url),
    binData: buf(r.bin_data),
    branchId: str(r.branch_id),
    op: str(r.op),
    status: str(r.status) as BranchStatus,
    finishTime: time(r.finish_time),
    rollbackTime: time(r.rollback_time),
    createTime: time(r.create_time),
    updateTime: time(r.update_time),
  };
}

function toKv(r: Row): KvRow {
  return {
    id: num(r.id),
    cat: str(r.cat),
    k: str(r.k),
    v: r.v === null || r.v === undefined ? null : str(r.v),
    version: num(r.version),
    createTime: time(r.create_time),
    updateTime: time(r.update_time),
  };
}

function toAttempt(r: Row): AttemptRow {
  return {
    id: num(r.id),
    gid: str(r.gid),
    branchId: str(r.branch_id),
    op: str(r.op),
    url: str(r.url),
    protocol: str(r.protocol),
    startedAt: time(r.started_at) as Date,
    durationMs: num(r.duration_ms),
    httpStatus: r.http_status === null ? null : num(r.http_status),
    grpcCode: r.grpc_code === null ? null : num(r.grpc_code),
    outcome: str(r.outcome),
    response: str(r.response),
    error: str(r.error),
    owner: str(r.owner),
  };
}

/** Group commit (group-commit.ts): batches in flight per kind of write, and members per batch. */
const GROUP_LANES = 4;
const GROUP_MAX = 64;

/** What a store and its request views (waiting()) share. */
interface Shared {
  /** What was learnt about the server (SKIP LOCKED support). */
  skipLocked?: boolean;
  /** PostgreSQL group commit of inserts and of the passes' status changes. */
  inserts?: GroupCommit<InsertMember, boolean>;
  statuses?: GroupCommit<StatusMember, boolean>;
}

export class SqlStore implements Store {
  readonly dialect: Dialect;
  private readonly shared: Shared;

  constructor(
    readonly driver: SqlDriver,
    shared?: Shared,
  ) {
    this.dialect = driver.dialect;
    this.shared = shared ?? this.share();
  }

  private share(): Shared {
    if (this.dialect !== 'postgres') return {};
    const base = this.driver;
    const view = (wait: StoreWait | undefined) => (wait ? this.waiting(wait) : this);
    const stalled = () => base.stalled?.() ?? false;
    return {
      inserts: new GroupCommit<InsertMember, boolean>({
        lanes: GROUP_LANES,
        max: GROUP_MAX,
        together: (items, wait) => insertMany(base, items, wait),
        alone: (m, wait) => view(wait).insertOne(m.g, m.branches, m.now),
        key: (m) => m.g.gid,
        stalled,
      }),
      statuses: new GroupCommit<StatusMember, boolean>({
        lanes: GROUP_LANES,
        max: GROUP_MAX,
        together: (items, wait) => changeStatusMany(base, items, wait),
        alone: (m, wait) => view(wait).changeOne(m.gid, m.from, m.to, m.now, m.change),
        key: (m) => m.gid,
        stalled,
      }),
    };
  }

  /** This store for one request: its statements wait for an unreachable database as `wait` says. */
  waiting(wait: StoreWait): SqlStore {
    return new SqlStore(new WaitingDriver(this.driver, wait), this.shared);
  }

  /** The request's wait of a view (waiting()), undefined for the store itself. */
  private get wait(): StoreWait | undefined {
    return this.driver instanceof WaitingDriver ? this.driver.wait : undefined;
  }

  /** What the group commit carried so far, per kind of write (benchmarks, tests). */
  groupStats(): Record<string, GroupStats> {
    const out: Record<string, GroupStats> = {};
    if (this.shared.inserts) out.inserts = { ...this.shared.inserts.stats };
    if (this.shared.statuses) out.statuses = { ...this.shared.statuses.stats };
    const batch = this.driver.groupStats?.();
    if (batch) out.batch = batch;
    return out;
  }

  insertTrans(g: NewGlobal, branches: NewBranch[], now: Date): Promise<boolean> {
    if (this.shared.inserts) return this.shared.inserts.add({ g, branches, now }, this.wait);
    return this.insertOne(g, branches, now);
  }

  private async insertOne(g: NewGlobal, branches: NewBranch[], now: Date): Promise<boolean> {
    const insertGlobal = INSERT_GLOBAL[this.dialect];
    if (this.dialect === 'postgres') {
      // One round trip: the branches are inserted only if the global was.
      if (branches.length === 0) {
        return (await this.driver.run(`${insertGlobal} ON CONFLICT (gid) DO NOTHING`, globalValues(g, now))) === 1;
      }
      const rows = branches
        .map(() => '(?::varchar, ?::varchar, ?::bytea, ?::varchar, ?::varchar, ?::varchar, ?::timestamptz, ?::timestamptz)')
        .join(', ');
      const sql =
        `WITH g AS (${insertGlobal} ON CONFLICT (gid) DO NOTHING RETURNING id), ` +
        `b AS (INSERT INTO trans_branch_op (${BRANCH_INSERT_COLUMNS}) ` +
        `SELECT v.* FROM (VALUES ${rows}) AS v(${BRANCH_INSERT_COLUMNS}) WHERE EXISTS (SELECT 1 FROM g)) ` +
        `SELECT count(*)::int AS n FROM g`;
      const out = await this.driver.query(sql, [...globalValues(g, now), ...branchValues(branches, now)]);
      return num(out[0]?.n) === 1;
    }
    if (this.dialect === 'mysql') {
      // One round trip (drivers.ts batch); only the global's insert can collide on gid.
      try {
        await this.driver.batch([{ sql: insertGlobal, params: globalValues(g, now) }, ...branchInserts(branches, now)]);
        return true;
      } catch (err) {
        if (isDuplicateKey(err) && DUPLICATE_GID.test((err as Error).message)) return false;
        throw err;
      }
    }
    // SQLite: one transaction of the group commit (drivers.ts).
    return this.driver.tx(async (c) => {
      if ((await c.run(INSERT_GLOBAL_IF_NEW, globalValues(g, now))) === 0) return false;
      await this.insertBranches(c, branches, now);
      return true;
    });
  }

  private async insertBranches(c: SqlConn, branches: NewBranch[], now: Date): Promise<void> {
    for (const st of branchInserts(branches, now)) await c.run(st.sql, st.params);
  }

  // Reads by a key that no store can hold (NUL, an unpaired surrogate: submits refuse them)
  // match nothing; PostgreSQL would fail the statement instead ("invalid byte sequence").
  async findGlobal(gid: string): Promise<GlobalRow | null> {
    if (!isStorable(gid)) return null;
    const rows = await this.driver.query(`SELECT ${GLOBAL_COLUMNS} FROM trans_global WHERE gid = ?`, [gid]);
    return rows[0] ? toGlobal(rows[0]) : null;
  }

  async findBranches(gid: string): Promise<BranchRow[]> {
    if (!isStorable(gid)) return [];
    return (await this.driver.query(`SELECT ${BRANCH_COLUMNS} FROM trans_branch_op WHERE gid = ? ORDER BY id`, [gid])).map(toBranch);
  }

  changeStatus(gid: string, from: GlobalStatus, to: GlobalStatus, now: Date, change: StatusChange = {}): Promise<boolean> {
    if (this.shared.statuses && batchableChange(change)) return this.shared.statuses.add({ gid, from, to, now, change }, this.wait);
    return this.changeOne(gid, from, to, now, change);
  }

  private async changeOne(gid: string, from: string, to: string, now: Date, change: StatusChange): Promise<boolean> {
    const sets = ['status = ?', 'update_time = ?'];
    const params: unknown[] = [to, now];
    if (to === 'succeed') {
      sets.push('finish_time = ?');
      params.push(now);
    }
    if (to === 'failed') {
      sets.push('rollback_time = ?');
      params.push(now);
    }
    if (change.rollbackReason) {
      sets.push('rollback_reason = ?');
      params.push(change.rollbackReason);
    }
    if (change.result !== undefined) {
      sets.push('result = ?');
      params.push(change.result);
    }
    if (change.release) sets.push(`owner = ''`, 'lease_expire = NULL');
    if (change.errors) {
      sets.push('retry_count = retry_count + ?');
      params.push(change.errors);
    }
    if (change.lastError) {
      sets.push('last_error = ?');
      params.push(change.lastError);
    }
    if (change.due) {
      sets.push('next_cron_time = ?');
      params.push(now);
    }
    streakSets(change.streak, sets, params);
    const where = ['gid = ? AND status = ?'];
    params.push(gid, from);
    if (change.owner !== undefined) {
      where.push(' AND owner = ?');
      params.push(change.owner);
    }
    if (change.leaseFree) where.push(LEASE_FREE[this.dialect]);
    if (change.noneSucceeded?.length) {
      where.push(NONE_SUCCEEDED(change.noneSucceeded.length));
      params.push(gid, ...change.noneSucceeded);
    }
    const update = assembled(
      UPDATE_TEXTS,
      [...sets, ' WHERE ', ...where],
      () => `UPDATE trans_global SET ${sets.join(', ')} WHERE ${where.join('')}`,
    );
    return (await this.withBranches(gid, change.branches ?? [], now, update, params)) > 0;
  }

  async recordBranches(gid: string, branches: BranchResult[], now: Date, globalStatus: string, owner: string): Promise<boolean> {
    // A no-op update of the global tells, in the same transaction, whether it is still ours.
    const check = 'UPDATE trans_global SET owner = owner WHERE gid = ? AND status = ? AND owner = ?';
    return (await this.withBranches(gid, branches, now, check, [gid, globalStatus, owner])) > 0;
  }

  /**
   * Writes branch results and then runs `update` (a statement on trans_global), in one database
   * transaction; returns the rows `update` matched. On PostgreSQL this is a single statement
   * (the branch update as a data-modifying CTE): one round trip, one commit.
   */
  private async withBranches(gid: string, branches: BranchResult[], now: Date, update: string, params: unknown[]): Promise<number> {
    if (branches.length === 0) return this.driver.run(update, params);
    if (this.dialect === 'postgres') {
      const results = PG_BRANCH_RESULTS(branches.length);
      const sql =
        branches.length > KEPT_ROW_COUNTS ? `${results} ${update}` : assembled(PG_WITH_BRANCHES, [results, update], () => `${results} ${update}`);
      const bParams: unknown[] = [now, now];
      for (const b of branches) bParams.push(b.branchId, b.op, b.status);
      bParams.push(gid);
      return this.driver.run(sql, [...bParams, ...params]);
    }
    const counts = await this.driver.batch([...branchResults(gid, branches, now), { sql: update, params }]);
    return counts[counts.length - 1] ?? 0;
  }

  async registerBranches(gid: string, branches: NewBranch[], now: Date): Promise<'ok' | 'not-prepared'> {
    const lock = this.dialect === 'sqlite' ? '' : ' FOR UPDATE';
    try {
      return await this.driver.tx(async (c) => {
        const found = await c.query(`SELECT id FROM trans_global WHERE gid = ? AND status = 'prepared'${lock}`, [gid]);
        if (found.length === 0) return 'not-prepared' as const;
        await this.insertBranches(c, branches, now);
        return 'ok' as const;
      });
    } catch (err) {
      if (isDuplicateKey(err)) {
        throw new DuplicateBranchError(gid, (err as Error).message, { cause: err });
      }
      throw err;
    }
  }

  async acquireLease(gid: string, token: string, leaseMs: number): Promise<GlobalRow | null> {
    const sql = ACQUIRE_LEASE[this.dialect];
    const params = [token, leaseMs, gid];
    if (this.dialect === 'mysql') {
      if ((await this.driver.run(sql, params)) === 0) return null;
      const rows = await this.driver.query(`SELECT ${GLOBAL_COLUMNS} FROM trans_global WHERE gid = ? AND owner = ?`, [gid, token]);
      return rows[0] ? toGlobal(rows[0]) : null;
    }
    const rows = await this.driver.query(ACQUIRE_LEASE_RETURNING[this.dialect], params);
    return rows[0] ? toGlobal(rows[0]) : null;
  }

  async renewLeases(tokens: string[], leaseMs: number): Promise<RenewedLease[]> {
    const out: RenewedLease[] = [];
    for (const chunk of chunks(tokens, 200)) {
      const held = `owner IN ${placeholders(chunk.length)} AND ${HELD}`;
      const update = `UPDATE trans_global SET lease_expire = ${LEASE_UNTIL[this.dialect]} WHERE ${held}`;
      const params = [leaseMs, ...chunk];
      let rows: Row[];
      if (this.dialect === 'mysql') {
        // No UPDATE ... RETURNING: the rows the update matched stay locked by it until commit, so
        // a read in the same transaction sees exactly those.
        // READ COMMITTED: record locks only, so the renewal takes no gap locks on the owner index
        // that would hold up inserts of new (leased) rows meanwhile.
        rows = await this.driver.tx(
          async (c) => {
            if ((await c.run(update, params)) === 0) return [];
            return c.query(`SELECT gid, owner FROM trans_global WHERE ${held}`, chunk);
          },
          { isolation: 'read committed' },
        );
      } else {
        rows = await this.driver.query(`${update} RETURNING gid, owner`, params);
      }
      for (const r of rows) out.push({ gid: str(r.gid), owner: str(r.owner) });
    }
    return out;
  }

  async endPass(gid: string, token: string, end: PassEnd, now: Date): Promise<void> {
    const sets = [`owner = ''`, 'lease_expire = NULL', 'update_time = ?'];
    const params: unknown[] = [now];
    if (end.nextCronTime) {
      sets.push(
        'next_cron_time = CASE WHEN status = ? THEN ? ELSE next_cron_time END',
        'next_cron_interval = CASE WHEN status = ? THEN ? ELSE next_cron_interval END',
      );
      params.push(end.status, end.nextCronTime, end.status, end.nextCronInterval);
    }
    if (end.errors > 0) {
      sets.push('retry_count = retry_count + ?');
      params.push(end.errors);
    }
    if (end.lastError) {
      sets.push('last_error = ?');
      params.push(end.lastError);
    }
    streakSets(end.streak, sets, params);
    params.push(gid, token);
    const update = assembled(
      UPDATE_TEXTS,
      [...sets, ' WHERE ', 'gid = ? AND owner = ?'],
      () => `UPDATE trans_global SET ${sets.join(', ')} WHERE gid = ? AND owner = ?`,
    );
    await this.withBranches(gid, end.branches ?? [], now, update, params);
  }

  async claimDue(token: string, now: Date, leaseMs: number, nextCronTime: Date, limit: number): Promise<GlobalRow[]> {
    const set = `SET owner = ?, lease_expire = ${LEASE_UNTIL[this.dialect]}, next_cron_time = ?, update_time = ?`;
    const due = `status IN ${UNFINISHED} AND next_cron_time <= ? AND (lease_expire IS NULL OR lease_expire <= ${DB_NOW[this.dialect]})`;
    const setParams = [token, leaseMs, nextCronTime, now];
    if (this.dialect === 'mysql') return this.claimDueMysql(set, due, setParams, now, limit);
    const skipLocked = this.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
    const rows = await this.driver.query(
      `UPDATE trans_global ${set} WHERE id IN ` +
        `(SELECT id FROM trans_global WHERE ${due} ORDER BY next_cron_time LIMIT ?${skipLocked}) RETURNING ${GLOBAL_COLUMNS}`,
      [...setParams, now, limit],
    );
    return rows.map(toGlobal);
  }

  /**
   * MySQL/MariaDB: an `UPDATE ... ORDER BY ... LIMIT` locks every index record it scans (with the
   * gaps between them, under REPEATABLE READ), which collides with concurrent inserts and with
   * other claimers: the deadlocks seen under two instances. Instead, in one READ COMMITTED
   * transaction: pick the ids with `FOR UPDATE SKIP LOCKED` (rows another claimer is taking are
   * skipped, no gap locks), update exactly those, read them back. Servers without SKIP LOCKED
   * keep the single UPDATE.
   */
  private async claimDueMysql(set: string, due: string, setParams: unknown[], now: Date, limit: number): Promise<GlobalRow[]> {
    const token = setParams[0];
    if (this.shared.skipLocked !== false) {
      try {
        const rows = await this.driver.tx(
          async (c) => {
            const picked = await c.query(`SELECT id FROM trans_global WHERE ${due} ORDER BY next_cron_time LIMIT ? FOR UPDATE SKIP LOCKED`, [
              now,
              limit,
            ]);
            if (picked.length === 0) return [];
            const ids = picked.map((r) => num(r.id));
            const list = placeholders(ids.length);
            await c.run(`UPDATE trans_global ${set} WHERE id IN ${list}`, [...setParams, ...ids]);
            return c.query(`SELECT ${GLOBAL_COLUMNS} FROM trans_global WHERE id IN ${list} AND owner = ?`, [...ids, token]);
          },
          { isolation: 'read committed' },
        );
        this.shared.skipLocked = true;
        return rows.map(toGlobal);
      } catch (err) {
        if (this.shared.skipLocked === true || !isSyntaxError(err)) throw err;
        this.shared.skipLocked = false;
      }
    }
    const n = await this.driver.run(`UPDATE trans_global ${set} WHERE ${due} ORDER BY next_cron_time LIMIT ?`, [...setParams, now, limit]);
    if (n === 0) return [];
    return (await this.driver.query(`SELECT ${GLOBAL_COLUMNS} FROM trans_global WHERE owner = ? AND ${HELD}`, [token])).map(toGlobal);
  }

  async resetCronTime(after: Date, limit: number, now: Date): Promise<number> {
    const cond = `next_cron_time > ? AND status IN ${UNFINISHED}`;
    if (this.dialect === 'mysql') {
      return this.driver.run(`UPDATE trans_global SET update_time = ?, next_cron_time = ? WHERE ${cond} LIMIT ?`, [now, now, after, limit]);
    }
    return this.driver.run(
      `UPDATE trans_global SET update_time = ?, next_cron_time = ? WHERE id IN (SELECT id FROM trans_global WHERE ${cond} LIMIT ?)`,
      [now, now, after, limit],
    );
  }

  async resetNextCronTime(gid: string, now: Date): Promise<boolean> {
    if (!isStorable(gid)) return false;
    return (await this.driver.run('UPDATE trans_global SET update_time = ?, next_cron_time = ? WHERE gid = ?', [now, now, gid])) > 0;
  }

  async makeDue(gid: string, now: Date): Promise<boolean> {
    const n = await this.driver.run(
      `UPDATE trans_global SET update_time = ?, next_cron_time = ? WHERE gid = ? AND status IN ${UNFINISHED} ` +
        `AND (lease_expire IS NULL OR lease_expire <= ${DB_NOW[this.dialect]})`,
      [now, now, gid],
    );
    return n > 0;
  }

  async heartbeat(n: NodeRow): Promise<void> {
    const cols = 'instance_id, address, version, hostname, pid, store, started_at, heartbeat_at, in_flight, worker, workers';
    const values = [
      n.instanceId,
      n.address,
      n.version,
      n.hostname,
      n.pid,
      n.store,
      n.startedAt,
      n.heartbeatAt,
      n.inFlight,
      n.worker ?? null,
      n.workers ?? 1,
    ];
    const update = ['address', 'version', 'hostname', 'pid', 'store', 'heartbeat_at', 'in_flight', 'worker', 'workers'];
    const sql =
      this.dialect === 'mysql'
        ? `INSERT INTO coordinator_node (${cols}) VALUES ${placeholders(11)} ON DUPLICATE KEY UPDATE ` +
          update.map((c) => `${c} = VALUES(${c})`).join(', ')
        : `INSERT INTO coordinator_node (${cols}) VALUES ${placeholders(11)} ON CONFLICT (instance_id) DO UPDATE SET ` +
          update.map((c) => `${c} = excluded.${c}`).join(', ');
    await this.driver.run(sql, values);
  }

  async removeNode(instanceId: string): Promise<void> {
    await this.driver.run('DELETE FROM coordinator_node WHERE instance_id = ?', [instanceId]);
  }

  async scanGlobals(q: GlobalQuery): Promise<GlobalRow[]> {
    if (!isStorable(q.status ?? '') || !isStorable(q.transType ?? '')) return [];
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.position !== undefined) {
      where.push('id < ?');
      params.push(q.position);
    }
    if (q.status) {
      where.push('status = ?');
      params.push(q.status);
    }
    if (q.transType) {
      where.push('trans_type = ?');
      params.push(q.transType);
    }
    if (q.createTimeStart) {
      where.push('create_time >= ?');
      params.push(q.createTimeStart);
    }
    if (q.createTimeEnd) {
      where.push('create_time <= ?');
      params.push(q.createTimeEnd);
    }
    params.push(q.limit);
    const sql = `SELECT ${GLOBAL_COLUMNS} FROM trans_global${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (await this.driver.query(sql, params)).map(toGlobal);
  }

  async kvCreate(cat: string, k: string, v: string, now: Date): Promise<boolean> {
    try {
      await this.driver.run('INSERT INTO kv (cat, k, v, version, create_time, update_time) VALUES (?, ?, ?, 1, ?, ?)', [cat, k, v, now, now]);
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  async kvUpdate(cat: string, k: string, v: string, version: number, now: Date): Promise<boolean> {
    const n = await this.driver.run('UPDATE kv SET v = ?, version = version + 1, update_time = ? WHERE cat = ? AND k = ? AND version = ?', [
      v,
      now,
      cat,
      k,
      version,
    ]);
    return n > 0;
  }

  async kvDelete(cat: string, k: string): Promise<boolean> {
    if (!isStorable(cat) || !isStorable(k)) return false;
    return (await this.driver.run('DELETE FROM kv WHERE cat = ? AND k = ?', [cat, k])) > 0;
  }

  async kvFind(cat: string, k: string): Promise<KvRow[]> {
    if (!isStorable(cat) || !isStorable(k)) return [];
    const where: string[] = [];
    const params: unknown[] = [];
    if (cat) {
      where.push('cat = ?');
      params.push(cat);
    }
    if (k) {
      where.push('k = ?');
      params.push(k);
    }
    const sql = `SELECT ${KV_COLUMNS} FROM kv${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id`;
    return (await this.driver.query(sql, params)).map(toKv);
  }

  async kvScan(cat: string, position: number | undefined, limit: number): Promise<KvRow[]> {
    if (!isStorable(cat)) return [];
    const params: unknown[] = [cat];
    let sql = `SELECT ${KV_COLUMNS} FROM kv WHERE cat = ?`;
    if (position !== undefined) {
      sql += ' AND id < ?';
      params.push(position);
    }
    params.push(limit);
    return (await this.driver.query(`${sql} ORDER BY id DESC LIMIT ?`, params)).map(toKv);
  }

  async insertAttempts(rows: NewAttempt[]): Promise<void> {
    for (const chunk of chunks(rows, 50)) {
      const params: unknown[] = [];
      for (const a of chunk) {
        params.push(
          a.gid,
          a.branchId,
          a.op,
          a.url,
          a.protocol,
          a.startedAt,
          a.durationMs,
          a.httpStatus,
          a.grpcCode,
          a.outcome,
          a.response,
          a.error,
          a.owner,
        );
      }
      await this.driver.run(ATTEMPT_INSERT_SQL(chunk.length), params);
    }
  }

  deleteFinished(before: Date, limit: number): Promise<number> {
    return deleteFinished(this.driver, before, limit);
  }

  trimAttempts(afterId: number, scan: number, keep: number): Promise<{ deleted: number; lastId: number }> {
    return trimAttempts(this.driver, afterId, scan, keep);
  }

  finishedStats(): Promise<{ count: number; oldest: Date | null }> {
    return finishedStats(this.driver);
  }

  async findAttempts(gid: string, limit: number): Promise<AttemptRow[]> {
    if (!isStorable(gid)) return [];
    return (await this.driver.query(`SELECT ${ATTEMPT_COLUMNS} FROM branch_attempt WHERE gid = ? ORDER BY id LIMIT ?`, [gid, limit])).map(toAttempt);
  }

  async ping(): Promise<void> {
    await this.driver.query('SELECT 1 AS ok');
  }

  async close(): Promise<void> {
    await this.driver.close();
  }
}
