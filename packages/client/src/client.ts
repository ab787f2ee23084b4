// The entry point: one coordinator, reached over HTTP (docs/client/README.md).
import { BranchBarrier } from './barrier/core.js';
import { GrpcTransport } from './grpc.js';
import { HttpTransport, type ClientOptions } from './http.js';
import { Msg, type MsgOptions } from './msg.js';
import { Saga, type SagaOptions } from './saga.js';
import { Tcc, tccGlobalTransaction, type TccOptions } from './tcc.js';
import { Workflows, type WorkflowOptions } from './workflow.js';
import { Xa, xaGlobalTransaction, xaLocalTransaction, type XaDb, type XaOptions } from './xa.js';
import { checkedGid, type QueryResult } from './trans.js';
import type { BranchContext } from './branch/context.js';
import { DtmError } from './errors.js';

export class DtmClient {
  readonly transport: HttpTransport;

  /**
   * `url`: the coordinator: `http://host:36789` or dtm's form `http://host:36789/api/dtmsvr`
   * (HTTP), or `grpc://host:36790` (dtm's gRPC API; `query` is not available there).
   */
  constructor(url: string, options: ClientOptions = {}) {
    this.transport = url.startsWith('grpc://') ? new GrpcTransport(url, options) : new HttpTransport(url, options);
  }

  /** The `/api/dtmsvr` URL calls go to (what branches get as `dtm`). */
  get url(): string {
    return this.transport.base;
  }

  /** A new global transaction id from the coordinator. */
  async newGid(): Promise<string> {
    const r = (await this.transport.api('GET', 'newGid')) as { gid?: unknown };
    if (typeof r.gid !== 'string' || r.gid === '') throw new DtmError('newGid: no gid in the answer', 200, JSON.stringify(r));
    return r.gid;
  }

  /** A global transaction and its branches (`transaction` is null for an unknown gid). */
  async query(gid: string): Promise<QueryResult> {
    const r = (await this.transport.api('GET', `query?gid=${encodeURIComponent(checkedGid(gid))}`)) as Partial<QueryResult>;
    return { transaction: r.transaction ?? null, branches: r.branches ?? [] };
  }

  saga(gid: string, options?: SagaOptions): Saga {
    return new Saga(this.transport, gid, options);
  }

  msg(gid: string, options?: MsgOptions): Msg {
    return new Msg(this.transport, gid, options);
  }

  /** See tccGlobalTransaction: prepare, run `fn`, submit (or abort when it throws). */
  tccGlobalTransaction<T>(gid: string, fn: (tcc: Tcc) => Promise<T>, options?: TccOptions): Promise<T> {
    return tccGlobalTransaction(this.transport, gid, fn, options);
  }

  /** A TCC inside a try handler, for nested branches: their ids are prefixed by this branch's id. */
  tccFromBranch(ctx: BranchContext, options?: TccOptions): Tcc {
    return new Tcc(this.transport, ctx.gid, options, ctx.branchId);
  }

  /** See xaGlobalTransaction: prepare, run `fn` (which calls `xa.callBranch`), submit (or abort when it throws). */
  xaGlobalTransaction<T>(gid: string, fn: (xa: Xa) => Promise<T>, options?: XaOptions): Promise<T> {
    return xaGlobalTransaction(this.transport, gid, fn, options);
  }

  /**
   * The branch side of XA for one request, over HTTP or gRPC (phase 1 or phase 2, by `ctx.op`);
   * registers the branch with this client's coordinator, over this client's protocol.
   */
  xaLocalTransaction<Tx>(ctx: BranchContext, db: XaDb<Tx>, busi: (tx: Tx) => Promise<unknown>): Promise<void> {
    return xaLocalTransaction(this.transport, ctx, db, busi);
  }

  /** Workflows of this service, resumed through `options.callbackUrl` (see Workflows). */
  workflows(options: WorkflowOptions): Workflows {
    return new Workflows(this.transport, options);
  }

  /** Closes the client's connections (gRPC: to the coordinator and to gRPC branches). */
  close(): Promise<void> {
    return this.transport.close();
  }

  /** A barrier for a branch request handled outside the Express / Fastify helpers. */
  barrier(ctx: BranchContext): BranchBarrier {
    return new BranchBarrier(ctx.transType, ctx.gid, ctx.branchId, ctx.op);
  }
}
