// The branch side of dtm's protocol (docs/client/branches.md): what a branch request carries
// (docs/protocol/branch-calls.md §3, §9) and how a handler's outcome becomes dtm's answer
// (docs/protocol/http-api.md §2: 200 SUCCESS, 409 FAILURE, 425 ONGOING, 500 otherwise).
import { BranchBarrier } from '../barrier/core.js';
import { Failure, Ongoing } from '../errors.js';

/** The identity of a branch call, read from the request's query. */
export interface BranchContext {
  gid: string;
  transType: string;
  branchId: string;
  /** `action`, `compensate`, `try`, `confirm`, `cancel`, `msg`, `commit`, `rollback`, ... */
  op: string;
  /** The coordinator's URL when the caller is an SDK (TCC try, XA, msg check); '' when it is the coordinator. */
  dtm: string;
  /** XA phase 1: the URL of phase 2. */
  phase2Url: string;
}

/** A request without its branch identity: answered 400 (the coordinator retries it). */
export class InvalidBranchRequest extends Error {
  override readonly name = 'InvalidBranchRequest';
}

export type Query = URLSearchParams | Record<string, unknown> | null | undefined;

function first(q: Query, key: string): string {
  if (!q) return '';
  const v = q instanceof URLSearchParams ? q.get(key) : q[key];
  if (Array.isArray(v)) return typeof v[0] === 'string' ? v[0] : '';
  return typeof v === 'string' ? v : '';
}

/** Reads gid, trans_type, branch_id and op (and dtm, phase2_url) from a parsed query. */
export function branchContext(query: Query): BranchContext {
  const ctx: BranchContext = {
    gid: first(query, 'gid'),
    transType: first(query, 'trans_type'),
    branchId: first(query, 'branch_id'),
    op: first(query, 'op'),
    dtm: first(query, 'dtm'),
    phase2Url: first(query, 'phase2_url'),
  };
  const missing = (['gid', 'trans_type', 'branch_id', 'op'] as const).filter((k) => first(query, k) === '');
  if (missing.length > 0) throw new InvalidBranchRequest(`invalid trans info: missing ${missing.join(', ')} in the query`);
  return ctx;
}

/** What a branch handler gets: the branch identity, the request body, the framework's request. */
export interface BranchRequest<Req> extends BranchContext {
  body: unknown;
  req: Req;
  /** A barrier for this request (each call takes the next barrier id). */
  barrier(): BranchBarrier;
}

export type BranchHandler<Req> = (r: BranchRequest<Req>) => unknown;

/** An HTTP answer: status and JSON body. */
export interface BranchAnswer {
  status: number;
  body: Record<string, unknown> | unknown[];
}

/** A handler's result or thrown error → dtm's answer. */
export function answerOf(outcome: { value: unknown } | { error: unknown }): BranchAnswer {
  if ('value' in outcome) {
    const v = outcome.value;
    if (v === undefined || v === null) return { status: 200, body: { dtm_result: 'SUCCESS' } };
    if (typeof v === 'object') return { status: 200, body: v as Record<string, unknown> };
    return { status: 200, body: { dtm_result: 'SUCCESS', result: v } };
  }
  const e = outcome.error;
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof Failure) return { status: 409, body: { dtm_result: 'FAILURE', message } };
  if (e instanceof Ongoing) return { status: 425, body: { dtm_result: 'ONGOING', message } };
  if (e instanceof InvalidBranchRequest) return { status: 400, body: { message } };
  return { status: 500, body: { message } };
}

/** The branch request of one call (throws InvalidBranchRequest when its identity is incomplete). */
export function branchRequest<Req>(req: Req, query: Query, body: unknown): BranchRequest<Req> {
  return withBarrier(branchContext(query), body, req);
}

/** A branch identity, read from wherever the transport carries it, with its payload and request. */
export function withBarrier<Req>(ctx: BranchContext, body: unknown, req: Req): BranchRequest<Req> {
  let barrier: BranchBarrier | undefined;
  return { ...ctx, body, req, barrier: () => (barrier ??= new BranchBarrier(ctx.transType, ctx.gid, ctx.branchId, ctx.op)) };
}

/** Runs a handler for one request and gives dtm's answer (never throws). */
export async function runBranch<Req>(req: Req, query: Query, body: unknown, handler: BranchHandler<Req>): Promise<BranchAnswer> {
  try {
    const value: unknown = await handler(branchRequest(req, query, body));
    return answerOf({ value });
  } catch (error) {
    return answerOf({ error });
  }
}
