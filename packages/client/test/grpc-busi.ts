// The quick start's branch service over gRPC (busi.Busi, proto/busi.proto, as in dtm's
// examples): busi.ts's steps as grpc-js handlers through dtmGrpc, requests as ReqGrpc, replies
// as BusiReply. Used by the gRPC branch and the XA tests.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as loader from '@grpc/proto-loader';
import { dtmGrpc, type BranchHandler, type GrpcUnaryCallback, type GrpcUnaryCallLike } from '../src/index.ts';
import { IN_STEPS, OUT_STEPS, type Busi, type Transfer } from './busi.ts';

export interface ReqGrpc {
  User: number;
  Amount: number;
  Fail?: boolean;
}

export interface BusiReply {
  Message: string;
}

const def = loader.loadSync('busi.proto', {
  includeDirs: [fileURLToPath(new URL('proto', import.meta.url))],
  keepCase: true,
  longs: Number,
  defaults: true,
});
const methods = def['busi.Busi'] as unknown as Record<string, grpc.MethodDefinition<ReqGrpc, BusiReply>>;
export const BusiService = (grpc.loadPackageDefinition(def) as unknown as { busi: { Busi: grpc.ServiceClientConstructor } }).busi.Busi;

/** The typed message's encoder: the request serializer of busi.Busi's methods (all take ReqGrpc). */
export const encodeReq = (m: ReqGrpc): Uint8Array => methods.TransOut!.requestSerialize(m);
/** The reply's decoder: the response deserializer of busi.Busi's methods (all answer BusiReply). */
export const decodeReply = (b: Buffer): BusiReply => methods.TransOut!.responseDeserialize(b);
export const encodeReply = (m: BusiReply): Buffer => methods.TransOut!.responseSerialize(m);

export type BusiCall = GrpcUnaryCallLike<ReqGrpc> & grpc.ServerUnaryCall<ReqGrpc, unknown>;

export const transferOf = (r: ReqGrpc): Transfer => ({ user: r.User, amount: r.Amount, fail: r.Fail });
export const reqOf = (t: Transfer): ReqGrpc => ({ User: t.user, Amount: t.amount, Fail: t.fail });

/** The x-trace-id branch header, which the coordinator passes as metadata. */
export const traceOf = (call: BusiCall): string => call.metadata.get('x-trace-id')[0]?.toString() ?? '';

/**
 * A busi.Busi method: `fn`'s message as the BusiReply; none, an empty reply (protobufjs would
 * write an explicit `Message: ''` as two bytes).
 */
export function busiMethod(fn: BranchHandler<BusiCall>): (call: BusiCall, callback: GrpcUnaryCallback) => void {
  return dtmGrpc<ReqGrpc, BusiCall>(async (b) => {
    const message: unknown = await fn(b);
    return typeof message === 'string' ? { Message: message } : {};
  });
}

/** busi.ts's steps and its msg check (QueryPrepared, answered from the barrier) as the methods of busi.Busi. */
export function busiHandlers(busi: Busi): Record<string, (call: BusiCall, callback: GrpcUnaryCallback) => void> {
  return {
    ...Object.fromEntries(
      [...OUT_STEPS, ...IN_STEPS].map((step) => [step, busiMethod((b) => busi.serve(step, b, transferOf(b.body as ReqGrpc), traceOf(b.req)))]),
    ),
    QueryPrepared: busiMethod((b) => busi.queryPrepared(b, traceOf(b.req))),
  };
}
