// The branch side of dtm's protocol over gRPC (docs/client/branches.md "gRPC"): the coordinator
// calls `/pkg.Service/Method` with the branch's payload as the request message and the branch
// identity as metadata (docs/protocol/grpc-api.md §6.3: dtm-gid, dtm-trans_type, dtm-branch_id,
// dtm-op, dtm-dtm), and reads the status (§6.4): OK success, Aborted FAILURE, FailedPrecondition
// ONGOING, anything else an error it retries. Typed structurally: this module loads no gRPC library.
import { Failure, Ongoing } from '../errors.js';
import { InvalidBranchRequest, withBarrier, type BranchContext, type BranchHandler } from './context.js';

/** gRPC status codes used here (grpc-js `status`). */
export const GrpcStatus = { OK: 0, UNKNOWN: 2, INVALID_ARGUMENT: 3, FAILED_PRECONDITION: 9, ABORTED: 10 } as const;

/** What is used of grpc-js's `Metadata`. */
export interface GrpcMetadataLike {
  get(key: string): (string | Buffer)[];
}

/** What is used of grpc-js's `ServerUnaryCall`: the decoded request and the metadata. */
export interface GrpcUnaryCallLike<Req = unknown> {
  request: Req;
  metadata: GrpcMetadataLike;
}

/** A gRPC error as grpc-js's unary callback takes it. */
export interface GrpcStatusError extends Error {
  code: number;
  details: string;
}

export type GrpcUnaryCallback = (err: GrpcStatusError | null, reply?: unknown) => void;

function md(m: GrpcMetadataLike, key: string): string {
  const v = m.get(key)[0];
  return v === undefined ? '' : v.toString();
}

/** The branch identity of a gRPC branch call, read from its metadata. */
export function grpcBranchContext(metadata: GrpcMetadataLike): BranchContext {
  const ctx: BranchContext = {
    gid: md(metadata, 'dtm-gid'),
    transType: md(metadata, 'dtm-trans_type'),
    branchId: md(metadata, 'dtm-branch_id'),
    op: md(metadata, 'dtm-op'),
    dtm: md(metadata, 'dtm-dtm'),
    phase2Url: md(metadata, 'dtm-phase2_url'),
  };
  const missing = (['gid', 'trans_type', 'branch_id', 'op'] as const).filter((k) => md(metadata, `dtm-${k}`) === '');
  if (missing.length > 0) throw new InvalidBranchRequest(`invalid trans info: missing ${missing.map((k) => `dtm-${k}`).join(', ')} in the metadata`);
  return ctx;
}

/**
 * A handler's thrown error → the gRPC status dtm reads: Failure → Aborted, Ongoing →
 * FailedPrecondition, an incomplete identity → InvalidArgument, anything else → Unknown (as
 * dtm's Go SDK, which the coordinator retries).
 */
export function grpcStatusOf(error: unknown): GrpcStatusError {
  const details = error instanceof Error ? error.message : String(error);
  const code =
    error instanceof Failure
      ? GrpcStatus.ABORTED
      : error instanceof Ongoing
        ? GrpcStatus.FAILED_PRECONDITION
        : error instanceof InvalidBranchRequest
          ? GrpcStatus.INVALID_ARGUMENT
          : GrpcStatus.UNKNOWN;
  return Object.assign(new Error(details), { code, details });
}

/**
 * A grpc-js unary handler answering dtm's protocol: `server.addService(Busi.service, { TransIn:
 * dtmGrpc(async (b) => ...) })`. `b.body` is the decoded request message, `b.req` the call; return
 * nothing (an empty reply) or the reply message; throw Failure to roll back, Ongoing to be asked later.
 */
export function dtmGrpc<Req = unknown, Call extends GrpcUnaryCallLike<Req> = GrpcUnaryCallLike<Req>>(
  handler: BranchHandler<Call>,
): (call: Call, callback: GrpcUnaryCallback) => void {
  return (call, callback) => {
    void (async () => {
      try {
        const value: unknown = await handler(withBarrier(grpcBranchContext(call.metadata), call.request, call));
        callback(null, value !== null && typeof value === 'object' ? value : {});
      } catch (error) {
        callback(grpcStatusOf(error));
      }
    })();
  };
}

/** The `Data` field of a serialized `WorkflowData { bytes Data = 1; }` (grpc-api.md §5; other fields skipped). */
export function decodeWorkflowData(buf: Buffer): Buffer {
  let i = 0;
  let data: Buffer = Buffer.alloc(0);
  const varint = (): number => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const b = buf[i++];
      if (b === undefined || shift > 35) throw new InvalidBranchRequest('malformed WorkflowData: bad varint');
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
  };
  while (i < buf.length) {
    const tag = varint();
    const wire = tag & 7;
    if (wire === 0) varint();
    else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else if (wire === 2) {
      const n = varint();
      if (i + n > buf.length) throw new InvalidBranchRequest('malformed WorkflowData: truncated field');
      if (tag >>> 3 === 1) data = buf.subarray(i, i + n);
      i += n;
    } else throw new InvalidBranchRequest(`malformed WorkflowData: wire type ${wire}`);
  }
  return data;
}

/** What is used of a grpc-js `Server`. */
export interface GrpcServerLike {
  addService(service: Record<string, unknown>, implementation: Record<string, unknown>): void;
}

/** What is used of Workflows here (kept structural so this module does not load workflow.ts). */
export interface WorkflowRunner {
  execute(name: string, gid: string, input: string): Promise<string>;
}

/**
 * Serves dtm's `/workflow.Workflow/Execute` on a grpc-js server: the coordinator's resume call
 * of a workflow submitted over gRPC (grpc-api.md §5; the workflow's name is `dtm-op`, its input
 * `Data`). Pass `<host:port of this server>/workflow.Workflow/Execute` as the Workflows' callbackUrl.
 */
export function addWorkflowService(server: GrpcServerLike, workflows: WorkflowRunner): void {
  const identity = (b: Buffer) => b;
  const service = {
    Execute: {
      path: '/workflow.Workflow/Execute',
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: () => Buffer.alloc(0),
      responseDeserialize: identity,
    },
  };
  const execute = (call: GrpcUnaryCallLike<Buffer>, callback: GrpcUnaryCallback) => {
    void (async () => {
      try {
        const ctx = grpcBranchContext(call.metadata);
        await workflows.execute(ctx.op, ctx.gid, decodeWorkflowData(call.request).toString('utf8'));
        callback(null, {});
      } catch (error) {
        callback(grpcStatusOf(error));
      }
    })();
  };
  server.addService(service, { Execute: execute });
}
