// Thin wrappers that give better-sqlite3, pg and mariadb one shape: run a statement written with
// `?` placeholders, get rows (snake_case columns) or a change count, run a function in a database
// transaction. Value conversion (times, ids, bytes) happens here so that the store sees JS types.
import Database from 'better-sqlite3';
import pg from 'pg';
import * as mariadb from 'mariadb';
import { GroupCommit, type GroupStats } from './group-commit.ts';
import { checkpointInBackground, OWN_CHECKPOINT_FRAMES, type CheckpointHandle } from './sqlite-checkpointer.ts';
import { acquireBy, guarded, Liveness, type GuardOptions } from './store-wait.ts';
import type { Dialect, StoreWait } from './types.ts';

export type Row = Record<string, unknown>;

export interface SqlConn {
  query(sql: string, params?: unknown[]): Promise<Row[]>;
  run(sql: string, params?: unknown[]): Promise<number>;
}

export interface TxOptions {
  /** Isolation of this transaction (PostgreSQL, MySQL); the server's default otherwise. */
  isolation?: 'read committed';
}

/**
 * A connection pool (or SQLite's one connection). Each top-level statement, transaction and batch
 * takes the StoreWait of the request it serves, if any (store-wait.ts): how long it may wait for
 * an unreachable database.
 */
export interface SqlDriver extends SqlConn {
  readonly dialect: Dialect;
  query(sql: string, params?: unknown[], wait?: StoreWait): Promise<Row[]>;
  run(sql: string, params?: unknown[], wait?: StoreWait): Promise<number>;
  /**
   * Runs `fn` in a database transaction. A deadlock or lock-wait timeout rolls it back whole and
   * runs `fn` again (a few times): `fn` must do nothing but SQL through `conn`.
   */
  tx<T>(fn: (conn: SqlConn) => Promise<T>, opts?: TxOptions, wait?: StoreWait): Promise<T>;
  /**
   * Runs writes that do not depend on each other's results in one transaction and returns each
   * one's change count; the first that fails rolls back the whole (retried like `tx`). MySQL sends
   * them as a single multi-statement with its BEGIN and COMMIT: one round trip instead of one per
   * statement (docs/benchmarks.md, "MariaDB").
   */
  batch(stmts: Stmt[], wait?: StoreWait): Promise<number[]>;
  /** Group commit so far (group-commit.ts), where the driver does it: batches, members, fallbacks. */
  groupStats?(): GroupStats | undefined;
  /** Whether the database has answered no statement for a while (store-wait.ts, Liveness). */
  stalled?(): boolean;
  close(): Promise<void>;
}

export interface Stmt {
  sql: string;
  params: unknown[];
}

/** `batch` as a transaction of `run`s, for drivers without anything better. */
function batchInTx(d: SqlDriver, stmts: Stmt[], wait: StoreWait | undefined): Promise<number[]> {
  return d.tx(
    async (c) => {
      const out: number[] = [];
      for (const s of stmts) out.push(await c.run(s.sql, s.params));
      return out;
    },
    {},
    wait,
  );
}

/** A driver whose statements all wait as `wait` says (a request's view of the pool; closes nothing). */
export class WaitingDriver implements SqlDriver {
  readonly dialect: Dialect;

  constructor(
    private readonly base: SqlDriver,
    readonly wait: StoreWait,
  ) {
    this.dialect = base.dialect;
  }

  query(sql: string, params?: unknown[]): Promise<Row[]> {
    return this.base.query(sql, params, this.wait);
  }

  run(sql: string, params?: unknown[]): Promise<number> {
    return this.base.run(sql, params, this.wait);
  }

  tx<T>(fn: (conn: SqlConn) => Promise<T>, opts?: TxOptions): Promise<T> {
    return this.base.tx(fn, opts, this.wait);
  }

  batch(stmts: Stmt[]): Promise<number[]> {
    return this.base.batch(stmts, this.wait);
  }

  groupStats(): GroupStats | undefined {
    return this.base.groupStats?.();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export interface ConnectOptions {
  dialect: Dialect;
  /** sqlite: file path; postgres/mysql: connection URL */
  url: string;
  poolSize?: number;
  /** postgres search_path */
  schema?: string;
  /** sqlite: PRAGMA synchronous in WAL mode (default normal) */
  sqliteSync?: 'normal' | 'full';
}

export function connect(opts: ConnectOptions): SqlDriver {
  switch (opts.dialect) {
    case 'sqlite':
      return new SqliteDriver(opts.url, opts.sqliteSync ?? 'normal');
    case 'postgres':
      return new PgDriver(opts.url, opts.poolSize ?? 20, opts.schema);
    case 'mysql':
      return new MysqlDriver(opts.url, opts.poolSize ?? 20);
  }
}

// ---------------------------------------------------------------------------------------------
// SQLite: one synchronous connection, with group commit. Writes (`run`, `tx`) issued during one
// event-loop turn are executed together in one transaction, each inside a savepoint of its own so
// that a failing one is rolled back alone; every caller is answered after the COMMIT, so
// durability is unchanged. The commit is SQLite's largest cost per write (a WAL append), and a
// busy coordinator issues many small writes at once. Reads run at once, but never while a batch
// is open (one connection: they would see, or land inside, its uncommitted writes).

type Work = {
  fn: (conn: SqlConn) => unknown;
  /** performance.now() past which it stops waiting for another process's write lock (guarded's deadline). */
  deadline: number;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
};

class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly cache = new Map<string, Database.Statement>();
  private queue: Work[] = [];
  private scheduled = false;
  /** The batch being executed (reads wait for it). */
  private running: Promise<void> | null = null;
  private readonly conn: SqlConn;
  /** Prepared once: `exec` parses its text at every call, twice per write of a batch. */
  private readonly savepoint: Database.Statement;
  private readonly release: Database.Statement;
  private readonly checkpoints: CheckpointHandle | null = null;
  /** The checkpoint worker asked for no write transaction for now (a WAL restart). */
  private held = false;

  constructor(file: string, sync: 'normal' | 'full') {
    this.db = new Database(file);
    // 1 KiB pages in a new database (an existing one keeps its own: the size is fixed once the
    // file has content). A commit appends every page it changed to the WAL, and a transaction
    // changes a leaf of the table and of each index: 4 KiB pages made the WAL writes of the group
    // commit SQLite's largest cost at 10 clients (docs/operations.md, "The embedded store's page
    // size").
    this.db.pragma('page_size = 1024');
    this.db.pragma('journal_mode = WAL');
    // docs/operations.md, "Durability of the embedded store".
    this.db.pragma(sync === 'full' ? 'synchronous = FULL' : 'synchronous = NORMAL');
    // No busy handler: SQLite's sleeps in this thread, stopping the event loop while another
    // process (a worker of the same group, the dashboard's own connection) holds the write lock.
    // A batch that finds it taken is tried again a moment later instead (drain).
    this.db.pragma('busy_timeout = 0');
    this.db.pragma('foreign_keys = ON');
    // Checkpoints on a worker thread (sqlite-checkpointer.ts), not in the commit that crosses
    // 1000 pages of WAL; back to SQLite's own if the worker stops. Not for an in-memory database.
    if (this.db.pragma('journal_mode', { simple: true }) === 'wal') {
      this.db.pragma(`wal_autocheckpoint = ${OWN_CHECKPOINT_FRAMES}`);
      this.checkpoints = checkpointInBackground(this.db.name, sync, {
        hold: async () => {
          this.held = true;
          while (this.running) await this.running;
        },
        release: () => {
          this.held = false;
          this.schedule();
        },
        failed: () => {
          if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
        },
      });
    }
    this.savepoint = this.db.prepare('SAVEPOINT w');
    this.release = this.db.prepare('RELEASE w');
    this.conn = {
      query: (sql, params = []) => settle(() => this.execQuery(sql, params)),
      run: (sql, params = []) => settle(() => this.execRun(sql, params)),
    };
  }

  private stmt(sql: string): Database.Statement {
    let s = this.cache.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.cache.set(sql, s);
    }
    return s;
  }

  private execQuery(sql: string, params: unknown[]): Row[] {
    const s = this.stmt(sql);
    const p = params.map(sqliteParam);
    if (s.reader) return (s.all(...p) as Row[]).map(sqliteRow);
    s.run(...p);
    return [];
  }

  private execRun(sql: string, params: unknown[]): number {
    return this.stmt(sql).run(...params.map(sqliteParam)).changes;
  }

  // SQLITE_BUSY (another process holds the database's lock past busy_timeout: nothing ran) waits
  // and retries like an unreachable server (store-wait.ts).
  query(sql: string, params: unknown[] = [], wait?: StoreWait): Promise<Row[]> {
    return guarded(readOpts, wait, async () => {
      while (this.running) await this.running;
      return this.execQuery(sql, params);
    });
  }

  run(sql: string, params: unknown[] = [], wait?: StoreWait): Promise<number> {
    return guarded(writeOpts, wait, (d) => this.enqueue((c) => c.run(sql, params), d) as Promise<number>);
  }

  batch(stmts: Stmt[], wait?: StoreWait): Promise<number[]> {
    return batchInTx(this, stmts, wait);
  }

  tx<T>(fn: (conn: SqlConn) => Promise<T>, _opts?: TxOptions, wait?: StoreWait): Promise<T> {
    // One connection, one writer at a time: no deadlocks, and serializable anyway.
    return guarded(writeOpts, wait, (d) => this.enqueue(fn, d) as Promise<T>);
  }

  private enqueue(fn: Work['fn'], deadline: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.queue.push({ fn, deadline, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (!this.scheduled && this.queue.length > 0) {
      this.scheduled = true;
      setImmediate(() => void this.drain());
    }
  }

  private async drain(): Promise<void> {
    while (this.running) await this.running;
    this.scheduled = false;
    // Held: release() schedules the queued writes.
    if (this.queue.length === 0 || this.held) return;
    // Another process writes: the queue waits (and grows) until the lock is free.
    const lock = this.lock();
    if (lock !== 'locked') {
      if (lock === 'busy' && this.queue.length > 0 && !this.scheduled) {
        this.scheduled = true;
        setTimeout(() => void this.drain(), LOCK_RETRY_MS);
      }
      return;
    }
    const batch = this.queue;
    this.queue = [];
    let done!: () => void;
    this.running = new Promise<void>((r) => (done = r));
    const results: { w: Work; ok: boolean; value: unknown }[] = [];
    try {
      for (const w of batch) {
        this.savepoint.run();
        try {
          const value = await w.fn(this.conn);
          this.release.run();
          results.push({ w, ok: true, value });
        } catch (err) {
          this.db.exec('ROLLBACK TO w');
          this.release.run();
          results.push({ w, ok: false, value: err });
        }
      }
      this.db.exec('COMMIT');
      for (const r of results) (r.ok ? r.w.resolve : r.w.reject)(r.value);
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      for (const w of batch) w.reject(err);
    } finally {
      this.running = null;
      done();
      this.schedule();
    }
  }

  /**
   * Takes the write lock (BEGIN IMMEDIATE): 'locked' when this connection now writes, 'busy' when
   * another process holds it; the queued writes past their deadline then fail with SQLITE_BUSY
   * (nothing of them ran: guarded() answers as for an unreachable server). Any other error fails
   * them all ('failed').
   */
  private lock(): 'locked' | 'busy' | 'failed' {
    try {
      this.db.exec('BEGIN IMMEDIATE');
      return 'locked';
    } catch (err) {
      if (isSqliteBusy(err)) {
        const now = performance.now();
        const late = this.queue.filter((w) => w.deadline <= now);
        if (late.length > 0) this.queue = this.queue.filter((w) => w.deadline > now);
        for (const w of late) w.reject(err);
        return 'busy';
      }
      const batch = this.queue;
      this.queue = [];
      for (const w of batch) w.reject(err);
      return 'failed';
    }
  }

  async close(): Promise<void> {
    while (this.running || this.queue.length > 0) {
      if (this.running) await this.running;
      else await new Promise((r) => setImmediate(r));
    }
    await this.checkpoints?.close();
    this.db.close();
  }
}

/** How often queued SQLite writes try again for another process's write lock. */
const LOCK_RETRY_MS = 1;

/** Runs `fn` now and settles with its value; a throw becomes a rejection, as in an async function. */
function settle<T>(fn: () => T): Promise<T> {
  return new Promise((resolve) => resolve(fn()));
}

function sqliteParam(v: unknown): unknown {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v === undefined) return null;
  return v;
}

const SQLITE_TIME_COLUMNS = new Set([
  'create_time',
  'update_time',
  'finish_time',
  'rollback_time',
  'next_cron_time',
  'lease_expire',
  'started_at',
  'heartbeat_at',
  'at',
  'created_at',
  'updated_at',
]);

function sqliteRow(row: Row): Row {
  for (const key of Object.keys(row)) {
    if (SQLITE_TIME_COLUMNS.has(key)) {
      const v = row[key];
      row[key] = v === null || v === undefined ? null : new Date(typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : NaN);
    }
  }
  return row;
}

// ---------------------------------------------------------------------------------------------
// Deadlocks and lock-wait timeouts. A statement run on its own (autocommit), or a transaction,
// that the server picks as a deadlock victim was rolled back whole and had no effect, so running
// it again is safe; so is one whose lock wait timed out (the transaction is rolled back here
// before the retry). On MariaDB this happens under load between the lease heartbeat
// (UPDATE ... WHERE owner IN (...), which locks the owner index first) and a pass's final status
// change (which locks the primary key first), and between inserts and claims. No caller should
// ever see one: guarded() (store-wait.ts) runs them again a few times.

function isDeadlock(err: unknown): boolean {
  const e = err as { errno?: number; code?: string } | null;
  return (
    e?.errno === 1213 ||
    e?.code === 'ER_LOCK_DEADLOCK' || // MySQL deadlock
    e?.errno === 1205 ||
    e?.code === 'ER_LOCK_WAIT_TIMEOUT' || // MySQL lock wait timeout
    e?.code === '40P01' || // PostgreSQL deadlock_detected
    e?.code === '40001' // PostgreSQL serialization_failure
  );
}

/**
 * Errors that mean no connection could be had, so the statement never reached the server: our
 * own acquire deadline (store-wait.ts), the pool's acquire timeout (MariaDB connector: 45028), a
 * refused or unroutable connection, a server still starting up (PostgreSQL 57P03), SQLite's
 * database lock held by another process past busy_timeout (nothing of the batch ran). These wait
 * for the database and then become StoreUnavailableError: a connection lost *during* a statement
 * leaves its outcome unknown and stays an error.
 */
function isUnreachable(err: unknown): boolean {
  const e = err as { errno?: number; code?: string } | null;
  return (
    e?.code === 'DTX_ACQUIRE_TIMEOUT' ||
    e?.errno === 45028 ||
    e?.code === 'ER_GET_CONNECTION_TIMEOUT' ||
    e?.code === 'ECONNREFUSED' ||
    e?.code === 'EHOSTUNREACH' ||
    e?.code === 'ENOTFOUND' ||
    e?.code === '57P03' ||
    isSqliteBusy(err)
  );
}

/**
 * SQLITE_BUSY and its extended codes (SQLITE_BUSY_RECOVERY while another connection rebuilds the
 * WAL index, as the checkpoint thread's may): nothing ran, it can be tried again.
 */
function isSqliteBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

const readOpts = { write: false, unreachable: isUnreachable, deadlock: isDeadlock };
const writeOpts = { write: true, unreachable: isUnreachable, deadlock: isDeadlock };

// ---------------------------------------------------------------------------------------------
// PostgreSQL

// Statements are sent as named prepared statements: PostgreSQL then parses and plans each one
// once per connection instead of at every call (half of its CPU per saga, measured). The engine
// issues a bounded set of statement texts; past MAX_NAMED, new texts go unnamed, and so do texts
// that do not start with the statement's verb (a statement that must be planned at each
// execution can start with a comment).
const MAX_NAMED = 500;
const pgSqlCache = new Map<string, { text: string; name?: string }>();
function pgSql(sql: string): { text: string; name?: string } {
  let out = pgSqlCache.get(sql);
  if (out === undefined) {
    let i = 0;
    const text = sql.replace(/\?/g, () => `$${++i}`);
    const dml = /^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b/i.test(text) && !text.includes(';');
    out = { text, name: dml && pgSqlCache.size < MAX_NAMED ? `dtx_${pgSqlCache.size + 1}` : undefined };
    pgSqlCache.set(sql, out);
  }
  return out;
}

/** node-postgres' query config for a statement (fields written out: a spread plus `values` is slow on Node 20). */
function pgQuery(sql: string, values: unknown[]): pg.QueryConfig {
  const s = pgSql(sql);
  return { text: s.text, name: s.name, values };
}

/** The server reported an SQL error (a five-character SQLSTATE): the connection is still fine. */
function isSqlState(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}

// int8 (ids, version) as JS numbers: ids stay far below 2^53.
pg.types.setTypeParser(20, (v: string) => Number(v));

class PgDriver implements SqlDriver {
  readonly dialect = 'postgres' as const;
  readonly pool: pg.Pool;

  constructor(url: string, poolSize: number, schema?: string) {
    this.pool = new pg.Pool({
      connectionString: url,
      max: poolSize,
      options: schema && schema !== 'public' ? `-c search_path=${schema}` : undefined,
    });
    // An idle client losing its connection must not crash the process.
    this.pool.on('error', () => undefined);
  }

  private readonly live = new Liveness(() => this.pool.query('SELECT 1'));
  private readonly readOpts: GuardOptions = { ...readOpts, live: this.live };
  private readonly writeOpts: GuardOptions = { ...writeOpts, live: this.live };

  stalled(): boolean {
    return this.live.stalled();
  }

  /** A pooled client, waiting for one at most until `deadline`. */
  private client(deadline: number): Promise<pg.PoolClient> {
    return acquireBy(this.pool.connect(), deadline, (c) => c.release());
  }

  /** One statement on a pooled client (what pool.query does, with our acquire deadline). */
  private async once(deadline: number, sql: string, params: unknown[]): Promise<pg.QueryResult<Row>> {
    const client = await this.client(deadline);
    try {
      const r = await client.query<Row>(pgQuery(sql, params));
      client.release();
      return r;
    } catch (err) {
      // An SQL error (SQLSTATE code) leaves the connection usable; anything else discards it.
      client.release(isSqlState(err) ? undefined : (err as Error));
      throw err;
    }
  }

  async query(sql: string, params: unknown[] = [], wait?: StoreWait): Promise<Row[]> {
    return guarded(this.readOpts, wait, async (d) => (await this.once(d, sql, params)).rows);
  }

  async run(sql: string, params: unknown[] = [], wait?: StoreWait): Promise<number> {
    return guarded(this.writeOpts, wait, async (d) => (await this.once(d, sql, params)).rowCount ?? 0);
  }

  batch(stmts: Stmt[], wait?: StoreWait): Promise<number[]> {
    return batchInTx(this, stmts, wait);
  }

  tx<T>(fn: (conn: SqlConn) => Promise<T>, opts: TxOptions = {}, wait?: StoreWait): Promise<T> {
    return guarded(this.writeOpts, wait, (d) => this.txOnce(d, fn, opts));
  }

  private async txOnce<T>(deadline: number, fn: (conn: SqlConn) => Promise<T>, opts: TxOptions): Promise<T> {
    const client = await this.client(deadline);
    const conn: SqlConn = {
      query: async (sql, params = []) => (await client.query<Row>(pgQuery(sql, params))).rows,
      run: async (sql, params = []) => (await client.query(pgQuery(sql, params))).rowCount ?? 0,
    };
    try {
      await client.query(opts.isolation ? `BEGIN ISOLATION LEVEL ${opts.isolation.toUpperCase()}` : 'BEGIN');
      const result = await fn(conn);
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release(isSqlState(err) ? undefined : (err as Error));
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

// ---------------------------------------------------------------------------------------------
// MySQL / MariaDB (mariadb connector). Times are stored as UTC DATETIME(3).

class MysqlDriver implements SqlDriver {
  readonly dialect = 'mysql' as const;
  readonly pool: mariadb.Pool;

  constructor(url: string, poolSize: number) {
    const u = new URL(url);
    this.pool = mariadb.createPool({
      host: u.hostname,
      port: Number(u.port || 3306),
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
      database: u.pathname.replace(/^\//, '') || undefined,
      connectionLimit: poolSize,
      // Open connections on demand (the connector's default opens the whole pool at start,
      // which exhausts a default MySQL max_connections with a couple of instances).
      minimumIdle: Math.min(4, poolSize),
      idleTimeout: 60,
      timezone: '+00:00',
      bigIntAsNumber: true,
      insertIdAsNumber: true,
      decimalAsNumber: true,
      checkDuplicate: false,
      acquireTimeout: 20000,
      multipleStatements: true,
    });
  }

  private readonly live = new Liveness(() => this.pool.query('SELECT 1'));
  private readonly readOpts: GuardOptions = { ...readOpts, live: this.live };
  private readonly writeOpts: GuardOptions = { ...writeOpts, live: this.live };

  /** A pooled connection, waiting for one at most until `deadline`. */
  private conn(deadline: number): Promise<mariadb.PoolConnection> {
    return acquireBy(this.pool.getConnection(), deadline, (c) => void c.release());
  }

  /** One statement on a pooled connection (what pool.query does, with our acquire deadline). */
  private async once(deadline: number, sql: string, params: unknown[]): Promise<unknown> {
    const c = await this.conn(deadline);
    try {
      return await c.query(sql, params);
    } finally {
      await c.release();
    }
  }

  async query(sql: string, params: unknown[] = [], wait?: StoreWait): Promise<Row[]> {
    return guarded(this.readOpts, wait, async (d) => mysqlRows(await this.once(d, sql, params)));
  }

  async run(sql: string, params: unknown[] = [], wait?: StoreWait): Promise<number> {
    return guarded(this.writeOpts, wait, async (d) => mysqlAffected(await this.once(d, sql, params)));
  }

  // Group commit (group-commit.ts): batches sent while others are in flight go out together, as
  // one multi-statement transaction, each member's change counts split back out of it.
  private readonly group = new GroupCommit<Stmt[], number[]>({
    lanes: 4,
    max: 64,
    // MariaDB runs a multi-statement on one thread: the statements of ten sagas that arrive at
    // once (gRPC clients sharing a connection) kept one server core busy while the other idled.
    // Two halves side by side: 9-17% more sagas/s there (docs/benchmarks.md, "MariaDB: an idle
    // server gets a long batch in two halves"); PostgreSQL's batch functions did not gain.
    split: 8,
    together: async (lists, wait) => {
      const counts = await guarded(this.writeOpts, wait, (d) => this.batchOnce(d, lists.flat()));
      let at = 0;
      return lists.map((l) => counts.slice(at, (at += l.length)));
    },
    alone: (stmts, wait) => guarded(this.writeOpts, wait, (d) => this.batchOnce(d, stmts)),
    key: () => String(++this.batches),
    stalled: () => this.live.stalled(),
  });
  private batches = 0;

  batch(stmts: Stmt[], wait?: StoreWait): Promise<number[]> {
    return this.group.add(stmts, wait);
  }

  groupStats(): GroupStats {
    return { ...this.group.stats };
  }

  // One multi-statement (multipleStatements is on): the server stops at the first statement that
  // fails, so COMMIT runs only when all the writes did; the ROLLBACK then ends the transaction.
  private async batchOnce(deadline: number, stmts: Stmt[]): Promise<number[]> {
    if (stmts.length === 0) return [];
    const c = await this.conn(deadline);
    try {
      const sql = ['START TRANSACTION', ...stmts.map((s) => s.sql), 'COMMIT'].join(';\n');
      // A loop, not flatMap: Node 20's flatMap costs some 15x a loop of pushes.
      const params: unknown[] = [];
      for (const s of stmts) for (const p of s.params) params.push(p);
      const results = await c.query<unknown[]>(sql, params);
      return results.slice(1, 1 + stmts.length).map(mysqlAffected);
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      await c.release();
    }
  }

  tx<T>(fn: (conn: SqlConn) => Promise<T>, opts: TxOptions = {}, wait?: StoreWait): Promise<T> {
    return guarded(this.writeOpts, wait, (d) => this.txOnce(d, fn, opts));
  }

  private async txOnce<T>(deadline: number, fn: (conn: SqlConn) => Promise<T>, opts: TxOptions): Promise<T> {
    const c = await this.conn(deadline);
    const conn: SqlConn = {
      query: async (sql, params = []) => mysqlRows(await c.query(sql, params)),
      run: async (sql, params = []) => mysqlAffected(await c.query(sql, params)),
    };
    try {
      // SET TRANSACTION applies to the next transaction of this connection only.
      if (opts.isolation) await c.query(`SET TRANSACTION ISOLATION LEVEL ${opts.isolation.toUpperCase()}`);
      await c.beginTransaction();
      const result = await fn(conn);
      await c.commit();
      return result;
    } catch (err) {
      await c.rollback().catch(() => undefined);
      throw err;
    } finally {
      await c.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

function mysqlRows(result: unknown): Row[] {
  if (!Array.isArray(result)) return [];
  // The connector attaches column metadata as a non-enumerable `meta`; plain rows remain.
  return result as Row[];
}

/** The changed-row count of a write's reply (mariadb's UpsertResult); 0 when it has none. */
function mysqlAffected(result: unknown): number {
  const n: unknown = typeof result === 'object' && result !== null ? (result as { affectedRows?: unknown }).affectedRows : undefined;
  return typeof n === 'number' ? n : 0;
}
