// XA (docs/protocol/transactions.md §4.5, docs/client/xa.md): the client prepares the global
// and calls each branch itself; the branch runs its SQL in a local XA transaction (XID
// `<gid>-<branch_id>`), registers itself with the coordinator and prepares; the coordinator then
// calls the same URL with op `commit` or `rollback`.
import { InvalidBranchRequest, type BranchContext } from './branch/context.js';
import { barrierTableName, checkedTable, insertBarrier, type BarrierDialect, type SqlRunner } from './barrier/core.js';
import { mysql2Db, mysql2Runner, pgDb, pgRunner, type Mysql2Connection, type PgQueryable } from './barrier/adapters.js';
import type { HttpTransport } from './http.js';
import { checkedGid, decodeReply, encodePayload, preparedGlobal, transBody, type Decoder, type Encoder, type TransOptions } from './trans.js';

export type XaOptions = TransOptions;

/** The client side of an XA global transaction. */
export class Xa {
  readonly gid: string;
  private subBranch = 0;

  constructor(
    private readonly transport: HttpTransport,
    gid: string,
    readonly options: XaOptions = {},
  ) {
    this.gid = checkedGid(gid);
  }

  /**
   * Calls a branch's phase 1 with the payload: over HTTP a POST to
   * `url?branch_id&dtm&gid&op=action&phase2_url=url&trans_type=xa`; for a gRPC branch
   * (`host:port/pkg.Service/Method`, through a grpc:// client) a call with the same identity as
   * dtm-* metadata and the payload as the request message (JSON, or bytes: a Uint8Array, or
   * `payload` run through `encode`). The branch's URL is also its phase-2 URL. Resolves to the
   * reply's bytes, or what `decode` makes of them; a FAILURE answer throws Failure.
   */
  callBranch<T>(payload: T, url: string, encode?: Encoder<T>): Promise<Buffer>;
  callBranch<T, R>(payload: T, url: string, encode: Encoder<T> | undefined, decode: Decoder<R>): Promise<R>;
  async callBranch<T, R>(payload: T, url: string, encode?: Encoder<T>, decode?: Decoder<R>): Promise<R | Buffer> {
    if (this.subBranch >= 99) throw new RangeError('an XA transaction may have at most 99 branches');
    this.subBranch += 1;
    const branchId = String(this.subBranch).padStart(2, '0');
    const reply = await this.transport.callBranch(
      'POST',
      url,
      { branch_id: branchId, dtm: this.transport.base, gid: this.gid, op: 'action', phase2_url: url, trans_type: 'xa' },
      encodePayload(payload, encode),
      this.options.branchHeaders,
    );
    return decodeReply(reply, url, decode);
  }

  body(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return transBody(this.gid, 'xa', this.options, extra);
  }
}

/** prepare, `fn(xa)`, submit; abort (and rethrow) when `fn` throws. */
export function xaGlobalTransaction<T>(transport: HttpTransport, gid: string, fn: (xa: Xa) => Promise<T>, options: XaOptions = {}): Promise<T> {
  const xa = new Xa(transport, gid, options);
  return preparedGlobal(
    transport,
    (extra) => xa.body(extra),
    () => fn(xa),
  );
}

/** A database that can run XA branches. */
export interface XaDb<Tx> {
  readonly dialect: BarrierDialect;
  readonly table?: string;
  /** Runs `fn` in a local XA transaction and prepares it; rolls it back when `fn` throws. */
  phase1<T>(xid: string, fn: (runner: SqlRunner, tx: Tx) => Promise<T>): Promise<T>;
  /** Commits or rolls back a prepared XA transaction; an unknown XID is not an error (idempotent). */
  phase2(xid: string, op: 'commit' | 'rollback'): Promise<void>;
  autocommit<T>(fn: (runner: SqlRunner) => Promise<T>): Promise<T>;
}

/** XIDs are quoted into the statement (XA statements take no parameters). */
function quoted(xid: string): string {
  return `'${xid.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** XA on MySQL / MariaDB through a mysql2/promise pool. The phase-1 connection is closed after XA PREPARE. */
export function mysql2Xa(
  pool: { getConnection(): Promise<Mysql2Connection & { release(): void; destroy(): void }> },
  o: { table?: string } = {},
): XaDb<Mysql2Connection> {
  return {
    dialect: 'mysql',
    table: o.table,
    async phase1(xid, fn) {
      const conn = await pool.getConnection();
      let prepared = false;
      try {
        await conn.query(`XA START ${quoted(xid)}`);
        try {
          const v = await fn(mysql2Runner(conn), conn);
          await conn.query(`XA END ${quoted(xid)}`);
          await conn.query(`XA PREPARE ${quoted(xid)}`);
          prepared = true;
          return v;
        } catch (e) {
          await conn.query(`XA END ${quoted(xid)}`).catch(() => undefined);
          await conn.query(`XA ROLLBACK ${quoted(xid)}`).catch(() => undefined);
          throw e;
        }
      } finally {
        // A prepared XA transaction outlives its session; the session itself is not reused.
        if (prepared) conn.destroy();
        else conn.release();
      }
    },
    async phase2(xid, op) {
      const conn = await pool.getConnection();
      try {
        await conn.query(`XA ${op === 'commit' ? 'COMMIT' : 'ROLLBACK'} ${quoted(xid)}`);
      } catch (e) {
        if ((e as { errno?: number }).errno !== 1397) throw e; // XAER_NOTA: unknown XID, already done
      } finally {
        conn.release();
      }
    },
    autocommit: (fn) => mysql2Db(pool).autocommit(fn),
  };
}

/** XA on PostgreSQL (PREPARE TRANSACTION; the server needs max_prepared_transactions > 0). */
export function pgXa(
  pool: { connect(): Promise<PgQueryable & { release(err?: Error | boolean): void }> },
  o: { table?: string } = {},
): XaDb<PgQueryable> {
  return {
    dialect: 'postgres',
    table: o.table,
    async phase1(xid, fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        try {
          const v = await fn(pgRunner(client), client);
          await client.query(`PREPARE TRANSACTION ${quoted(xid)}`);
          return v;
        } catch (e) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw e;
        }
      } finally {
        client.release();
      }
    },
    async phase2(xid, op) {
      const client = await pool.connect();
      try {
        await client.query(`${op === 'commit' ? 'COMMIT' : 'ROLLBACK'} PREPARED ${quoted(xid)}`);
      } catch (e) {
        if ((e as { code?: string }).code !== '42704') throw e; // undefined_object: unknown XID, already done
      } finally {
        client.release();
      }
    },
    autocommit: (fn) => pgDb(pool).autocommit(fn),
  };
}

/**
 * The branch side of XA, for one request (over HTTP or gRPC: `ctx` is the branch identity either
 * helper read): phase 1 (`op=action`) runs `busi` in a local XA transaction, writes the barrier
 * row, registers the branch (its phase-2 URL) with the coordinator and prepares; phase 2
 * (`op=commit` / `rollback`) commits or rolls the XA transaction back. Resolves to nothing: what
 * `busi` resolves to (often a driver's query result) is not the branch's answer; a handler that
 * wants to reply with something returns it after awaiting this. Another op, or a phase 1 without
 * its phase-2 URL, throws InvalidBranchRequest (HTTP 400, gRPC InvalidArgument) before any SQL.
 */
export async function xaLocalTransaction<Tx>(
  transport: HttpTransport,
  ctx: BranchContext,
  db: XaDb<Tx>,
  busi: (tx: Tx) => Promise<unknown>,
): Promise<void> {
  const xid = `${ctx.gid}-${ctx.branchId}`;
  const table = checkedTable(db.table ?? barrierTableName());
  const row = { transType: ctx.transType, gid: ctx.gid, branchId: ctx.branchId, op: 'action', barrierId: '01' };
  if (ctx.op === 'commit' || ctx.op === 'rollback') {
    await db.phase2(xid, ctx.op);
    if (ctx.op === 'rollback') {
      await db.autocommit((r) => insertBarrier(db, r, table, { ...row, transType: 'xa', reason: 'rollback' }));
    }
    return;
  }
  const what = `xa ${ctx.gid} branch ${ctx.branchId}`;
  if (ctx.op !== 'action') throw new InvalidBranchRequest(`${what}: unexpected op ${ctx.op} (action, commit or rollback)`);
  if (!ctx.phase2Url) {
    throw new InvalidBranchRequest(`${what}: phase 1 without its phase-2 URL (phase2_url in the query, dtm-phase2_url in gRPC metadata)`);
  }
  await db.phase1(xid, async (r, tx) => {
    await insertBarrier(db, r, table, { ...row, reason: 'action' });
    await busi(tx);
    // A global that left `prepared` refuses the registration (409 / Aborted → Failure): the XA transaction rolls back.
    await transport.api('POST', 'registerBranch', { gid: ctx.gid, trans_type: 'xa', branch_id: ctx.branchId, url: ctx.phase2Url });
  });
}
