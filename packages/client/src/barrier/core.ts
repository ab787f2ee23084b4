// The sub-transaction barrier (docs/client/barrier.md): dtm's table, rows and algorithm, so that
// branches written with this package and with dtm's Go SDK share one barrier table.
import { Duplicated, Failure } from '../errors.js';

export type BarrierDialect = 'postgres' | 'mysql';

/** Statements of one connection (inside a local transaction, or autocommit). `?` placeholders. */
export interface SqlRunner {
  /** Runs a statement, resolves to the number of rows it affected. */
  exec(sql: string, params: unknown[]): Promise<number>;
  /** Runs a query, resolves to its rows. */
  rows(sql: string, params: unknown[]): Promise<Record<string, unknown>[]>;
}

/** A database the barrier can use: how to run a local transaction and autocommit statements. */
export interface BarrierDb<Tx> {
  readonly dialect: BarrierDialect;
  /** The barrier table in this database (default: setBarrierTableName's, `dtm_barrier.barrier`). */
  readonly table?: string;
  /** Runs `fn` in a local transaction: commit when it resolves, roll back when it throws. */
  transaction<T>(fn: (runner: SqlRunner, tx: Tx) => Promise<T>): Promise<T>;
  /** Runs `fn` with autocommit statements. */
  autocommit<T>(fn: (runner: SqlRunner) => Promise<T>): Promise<T>;
}

let defaultTable = 'dtm_barrier.barrier';

/** The table every barrier uses unless given another (dtm's `SetBarrierTableName`). */
export function setBarrierTableName(name: string): void {
  defaultTable = checkedTable(name);
}

export function barrierTableName(): string {
  return defaultTable;
}

export function checkedTable(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/.test(name)) {
    throw new TypeError(`barrier table name must be [schema.]table of letters, digits and _, got ${JSON.stringify(name)}`);
  }
  return name;
}

/** `?` → `$1, $2, ...` for PostgreSQL. */
export function placeholders(dialect: BarrierDialect, sql: string): string {
  if (dialect === 'mysql') return sql;
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** The op whose row a compensation writes first (docs/client/barrier.md "Algorithm"). */
const originOp: Record<string, string> = { cancel: 'try', compensate: 'action', rollback: 'action' };

/** Insert-ignore of one barrier row: 1 if inserted, 0 if the (gid, branch_id, op, barrier_id) row existed. */
export function insertBarrier(
  db: { dialect: BarrierDialect },
  r: SqlRunner,
  table: string,
  row: { transType: string; gid: string; branchId: string; op: string; barrierId: string; reason: string },
): Promise<number> {
  const cols = 'trans_type, gid, branch_id, op, barrier_id, reason';
  const sql =
    db.dialect === 'mysql'
      ? `insert ignore into ${table}(${cols}) values(?,?,?,?,?,?)`
      : `insert into ${table}(${cols}) values(?,?,?,?,?,?) on conflict on constraint uniq_barrier do nothing`;
  return r.exec(placeholders(db.dialect, sql), [row.transType, row.gid, row.branchId, row.op, row.barrierId, row.reason]);
}

export interface BarrierInfo {
  transType: string;
  gid: string;
  branchId: string;
  op: string;
}

/**
 * One barrier per incoming branch request. Each call through it takes the next barrier id
 * (`01`, `02`, ...), so one handler may protect several local transactions.
 */
export class BranchBarrier implements BarrierInfo {
  private barrierId = 0;
  /** The table this barrier writes; default: the database's, else `dtm_barrier.barrier` (setBarrierTableName). */
  readonly table: string | undefined;

  constructor(
    readonly transType: string,
    readonly gid: string,
    readonly branchId: string,
    readonly op: string,
    table?: string,
  ) {
    if (!transType || !gid || !branchId || !op) {
      throw new Failure(`invalid trans info: trans_type=${transType} gid=${gid} branch_id=${branchId} op=${op}`);
    }
    this.table = table === undefined ? undefined : checkedTable(table);
  }

  /** From a request's query (`gid`, `trans_type`, `branch_id`, `op`), as the coordinator sends them. */
  static fromQuery(query: URLSearchParams | Record<string, unknown>, table?: string): BranchBarrier {
    const get = (k: string): string => {
      const v = query instanceof URLSearchParams ? query.get(k) : query[k];
      return typeof v === 'string' ? v : '';
    };
    return new BranchBarrier(get('trans_type'), get('gid'), get('branch_id'), get('op'), table);
  }

  /**
   * Runs `busi` in a local transaction of `db`, protected by the barrier: a repeated request, a
   * null compensation and an action arriving after its compensation commit the barrier rows and
   * skip `busi` (resolving to undefined); otherwise `busi` runs and the transaction commits with
   * it, or rolls back (rows included) when it throws. For op `msg`, a row already present throws Duplicated.
   */
  call<Tx, T>(db: BarrierDb<Tx>, busi: (tx: Tx) => Promise<T>): Promise<T | undefined> {
    const table = this.tableIn(db);
    const bid = String(++this.barrierId).padStart(2, '0');
    return db.transaction(async (r, tx) => {
      const row = { transType: this.transType, gid: this.gid, branchId: this.branchId, barrierId: bid, reason: this.op };
      const origin = originOp[this.op];
      const originAffected = origin ? await insertBarrier(db, r, table, { ...row, op: origin }) : 0;
      const currentAffected = await insertBarrier(db, r, table, { ...row, op: this.op });
      if (this.op === 'msg' && currentAffected === 0) throw new Duplicated();
      // Null compensation (the action never ran) or repeated / late request: commit the rows, skip busi.
      if ((origin && originAffected > 0) || currentAffected === 0) return undefined;
      return busi(tx);
    });
  }

  private tableIn(db: { table?: string }): string {
    return this.table ?? (db.table === undefined ? defaultTable : checkedTable(db.table));
  }

  /**
   * The msg query-prepared check (docs/client/barrier.md "QueryPrepared"): seals the msg's
   * local transaction if it has not committed, then answers from the row's reason. Resolves when
   * the local transaction committed; throws Failure when it did not and now never will.
   */
  async queryPrepared<Tx>(db: BarrierDb<Tx>): Promise<void> {
    const table = this.tableIn(db);
    const reason = await db.autocommit(async (r) => {
      await insertBarrier(db, r, table, {
        transType: this.transType,
        gid: this.gid,
        branchId: '00',
        op: 'msg',
        barrierId: '01',
        reason: 'rollback',
      });
      const rows = await r.rows(placeholders(db.dialect, `select reason from ${table} where gid=? and branch_id=? and op=? and barrier_id=?`), [
        this.gid,
        '00',
        'msg',
        '01',
      ]);
      return rows[0]?.reason;
    });
    if (reason === 'rollback') throw new Failure('the local transaction of this msg did not commit FAILURE');
    if (reason === undefined) throw new Error(`barrier row of msg ${this.gid} not found in ${table}`);
  }
}

export interface CleanupOptions {
  /** Delete rows created more than this many days ago (must exceed your longest transaction). */
  olderThanDays: number;
  /** Rows deleted per statement (default 1000); the helper loops until none is left. */
  batchSize?: number;
  table?: string;
}

/**
 * Deletes barrier rows older than N days, in batches; resolves to the number deleted. Rows
 * without a create_time (dtm's own PostgreSQL DDL has no default for it) are never deleted.
 */
export async function cleanupBarriers<Tx>(db: BarrierDb<Tx>, o: CleanupOptions): Promise<number> {
  if (!(o.olderThanDays > 0)) throw new RangeError(`olderThanDays must be > 0, got ${o.olderThanDays}`);
  const batch = o.batchSize ?? 1000;
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batchSize must be a whole number >= 1, got ${batch}`);
  const table = checkedTable(o.table ?? db.table ?? defaultTable);
  // The database's clock decides the age: it wrote create_time (DEFAULT now()).
  const sql =
    db.dialect === 'mysql'
      ? `delete from ${table} where create_time < date_sub(now(), interval ? day) limit ${batch}`
      : `delete from ${table} where id in (select id from ${table} where create_time < now() - ?::float8 * interval '1 day' limit ${batch})`;
  let total = 0;
  for (;;) {
    const n = await db.autocommit((r) => r.exec(placeholders(db.dialect, sql), [o.olderThanDays]));
    total += n;
    if (n < batch) return total;
  }
}
