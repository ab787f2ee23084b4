// dtm's gRPC API (docs/protocol/grpc-api.md): service dtmgimp.Dtm plus server reflection, over the same engine
// calls as the HTTP API. Handlers only decode, call the engine and encode; engine errors become
// gRPC statuses in one place (grpcStatusOf). Each method is served by fast-unary.ts's lean path
// and, for the calls that path leaves to grpc-js (compressed ones, say), by grpc-js; both run the
// same function.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { DtmError, StoreUnavailableError, type Engine, type Logger, type StoreWait, type Topics } from '@dtx/engine';
import { isRefusal, type Admission, type AdmittedOp } from '../admission.ts';
import type { Access, ApiAuth, OperatorAudit } from '../auth.ts';
import type { Metrics } from '../metrics.ts';
import { GrpcFailure, grpcJsUnary, installFastUnary, type CallContext, type FastRoute } from './fast-unary.ts';
import { registrationFromGrpc, transRequestFromGrpc, type DtmBranchRequestMsg, type DtmRequestMsg } from './decode.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
/** packages/coordinator/proto; in the release bundle (packages/release/build.mjs) `proto/` beside the bundled code. */
const PROTO_DIR = existsSync(join(HERE, 'proto', 'dtmgimp.proto')) ? join(HERE, 'proto') : join(HERE, '..', '..', 'proto');

/** dtm's proto, decoded with its own field names (PascalCase) and int64 as numbers. */
export function loadDtmProto(): protoLoader.PackageDefinition {
  return protoLoader.loadSync('dtmgimp.proto', {
    includeDirs: [PROTO_DIR],
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
}

/**
 * docs/protocol/grpc-api.md §4: FAILURE → Aborted, ONGOING → FailedPrecondition, what dtm raises by panicking
 * → Internal, other errors → Unknown. Requests dtm would only have crashed on (ours) →
 * InvalidArgument; over-size → ResourceExhausted.
 */
export function grpcStatusOf(err: unknown): { code: grpc.status; details: string } {
  const details = err instanceof Error ? err.message : String(err);
  if (!(err instanceof DtmError)) return { code: grpc.status.UNKNOWN, details };
  switch (err.kind) {
    case 'failure':
      return { code: grpc.status.ABORTED, details };
    case 'ongoing':
      return { code: grpc.status.FAILED_PRECONDITION, details };
    case 'bad-request':
      return { code: grpc.status.INVALID_ARGUMENT, details };
    case 'too-large':
      return { code: grpc.status.RESOURCE_EXHAUSTED, details };
    case 'unavailable':
      return { code: grpc.status.UNAVAILABLE, details };
    default:
      return { code: err.panic ? grpc.status.INTERNAL : grpc.status.UNKNOWN, details };
  }
}

export interface GrpcServerOptions {
  engine: Engine;
  topics: Topics;
  logger: Logger;
  maxBodyBytes: number;
  metrics?: Metrics;
  /** Admission control of the transaction API (absent: no bound). */
  admission?: Admission;
  /** ApiAuth.*: the `authorization` metadata (absent or not enabled: open, as dtm's). */
  auth?: ApiAuth;
  /** Where operator methods (topics) are recorded (absent: not recorded). */
  audit?: OperatorAudit;
}

interface DtmTopicRequestMsg {
  Topic?: string;
  URL?: string;
  Remark?: string;
}

const EMPTY = {};

export function buildGrpcServer(opts: GrpcServerOptions): grpc.Server {
  const { engine, topics, logger: log, metrics, admission } = opts;
  const auth = opts.auth?.enabled ? opts.auth : undefined;
  const pkg = loadDtmProto();
  const proto = grpc.loadPackageDefinition(pkg) as unknown as {
    dtmgimp: { Dtm: grpc.ServiceClientConstructor };
  };
  const server = new grpc.Server({
    'grpc.max_receive_message_length': opts.maxBodyBytes,
    // channelz (grpc-js's introspection, which we do not serve) counts and traces every call.
    'grpc.enable_channelz': 0,
  });

  /**
   * One method of dtmgimp.Dtm: bearer-token check, admission, the call, metrics and the log line.
   * Resolves with the reply; rejects with the status to send (a GrpcFailure). Served by the fast
   * path (fast-unary.ts) and, for what it leaves to grpc-js, through grpcJsUnary.
   */
  const unary =
    <Req, Res>(
      method: string,
      fn: (req: Req, ctx: CallContext, wait?: StoreWait) => Promise<Res> | Res,
      admitted?: AdmittedOp,
      access: Access = 'service',
    ) =>
    (request: unknown, ctx: CallContext): Promise<Res> => {
      const started = Date.now();
      const req = request as Req;
      // Bearer tokens (auth.ts): UNAUTHENTICATED, or PERMISSION_DENIED for the service token on an operator method.
      const v = auth?.check(ctx.authorization, access);
      if (v && !v.ok) {
        metrics?.request('grpc', method.toLowerCase(), false, (Date.now() - started) / 1000);
        return Promise.reject<Res>(new GrpcFailure(v.status === 403 ? grpc.status.PERMISSION_DENIED : grpc.status.UNAUTHENTICATED, v.message));
      }
      // Admission (admission.ts). UNAVAILABLE, not ABORTED (the transaction failed) nor
      // RESOURCE_EXHAUSTED (our answer to an over-size message, which a retry cannot fix):
      // UNAVAILABLE is the code gRPC documents as transient and retry policies retry
      // (docs/compatibility.md, "Overload").
      const slot = admitted && admission ? admission.enter(admitted) : null;
      if (slot && isRefusal(slot)) {
        metrics?.request('grpc', method.toLowerCase(), false, (Date.now() - started) / 1000);
        return Promise.reject<Res>(new GrpcFailure(grpc.status.UNAVAILABLE, slot.message, { 'dtx-refused': slot.reason }));
      }
      return Promise.resolve()
        .then(() => (slot ? slot.run(async (wait) => fn(req, ctx, wait), ctx.deadline) : fn(req, ctx)))
        .finally(() => slot?.release())
        .then(
          (res) => {
            log.debug({ method, ms: Date.now() - started }, 'grpc request');
            metrics?.request('grpc', method.toLowerCase(), true, (Date.now() - started) / 1000);
            return res;
          },
          (err: unknown) => {
            metrics?.request('grpc', method.toLowerCase(), false, (Date.now() - started) / 1000);
            const { code, details } = grpcStatusOf(err);
            const level = code === grpc.status.UNKNOWN || code === grpc.status.INTERNAL ? 'warn' : 'debug';
            log[level]({ method, code: grpc.status[code], err: details, ms: Date.now() - started }, 'grpc request failed');
            // Nothing stored: the admission refusal (docs/operations.md, "Database outages").
            const refused = err instanceof StoreUnavailableError && !err.stored;
            throw new GrpcFailure(code, details, refused ? { 'dtx-refused': 'store_unavailable' } : undefined);
          },
        );
    };

  /** A transaction-API method under admission that answers an empty message. */
  const admitted = <Req>(method: string, op: AdmittedOp, fn: (req: Req, wait?: StoreWait) => Promise<void>) =>
    unary(
      method,
      async (m: Req, _ctx, wait) => {
        await fn(m, wait);
        return EMPTY;
      },
      op,
    );

  /** A topic method: an operator method, recorded in the audit log with the caller's address. */
  const topicMethod = (method: string, action: string, fn: (m: DtmTopicRequestMsg) => Promise<void>, withUrl = false) =>
    unary(
      method,
      async (m: DtmTopicRequestMsg, ctx) => {
        const run = () => fn(m);
        const details = withUrl ? { url: m.URL ?? '', remark: m.Remark ?? '' } : undefined;
        const entry = { action, target: m.Topic ?? '', remote: ctx.peer(), via: 'grpc' as const, details };
        await (opts.audit ? opts.audit.run(entry, run) : run());
        return EMPTY;
      },
      undefined,
      'operator',
    );

  const methods: Record<string, (request: unknown, ctx: CallContext) => Promise<unknown>> = {
    NewGid: unary('NewGid', () => ({ Gid: engine.newGid() })),
    Submit: admitted('Submit', 'submit', (m: DtmRequestMsg, wait) => engine.submit(transRequestFromGrpc(m), wait)),
    Prepare: admitted('Prepare', 'prepare', (m: DtmRequestMsg, wait) => engine.prepare(transRequestFromGrpc(m), wait)),
    Abort: admitted('Abort', 'abort', (m: DtmRequestMsg, wait) => engine.abort(transRequestFromGrpc(m), wait)),
    RegisterBranch: admitted('RegisterBranch', 'registerBranch', (m: DtmBranchRequestMsg, wait) =>
      engine.registerBranch(registrationFromGrpc(m), wait),
    ),
    PrepareWorkflow: unary(
      'PrepareWorkflow',
      async (m: DtmRequestMsg, _ctx, wait) => {
        const r = await engine.prepareWorkflow(transRequestFromGrpc(m), wait);
        return {
          // dtm leaves Result empty over gRPC (docs/protocol/grpc-api.md §3); we do the same.
          Transaction: { Gid: r.global.gid, Status: r.global.status, RollbackReason: r.global.rollbackReason, Result: '' },
          Progresses: r.branches.map((b) => ({
            Status: b.status,
            BinData: b.binData ?? Buffer.alloc(0),
            BranchID: b.branchId,
            Op: b.op,
          })),
        };
      },
      'prepareWorkflow',
    ),
    Subscribe: topicMethod('Subscribe', 'topic-subscribe', (m) => topics.subscribe(m.Topic ?? '', m.URL ?? '', m.Remark ?? ''), true),
    Unsubscribe: topicMethod('Unsubscribe', 'topic-unsubscribe', (m) => topics.unsubscribe(m.Topic ?? '', m.URL ?? ''), true),
    DeleteTopic: topicMethod('DeleteTopic', 'topic-delete', (m) => topics.deleteTopic(m.Topic ?? '')),
  };

  const service = proto.dtmgimp.Dtm.service;
  const handlers: grpc.UntypedServiceImplementation = {};
  const routes = new Map<string, FastRoute>();
  for (const [name, run] of Object.entries(methods)) {
    const def = service[name];
    if (!def) throw new Error(`dtmgimp.proto has no method ${name}`);
    handlers[name] = grpcJsUnary(run);
    routes.set(def.path, { deserialize: def.requestDeserialize, serialize: def.responseSerialize, run });
  }
  installFastUnary(server, routes, opts.maxBodyBytes);
  server.addService(service, handlers);
  new ReflectionService(pkg).addToServer(server);
  return server;
}

/** Binds the server; resolves with the port actually bound (port 0 picks a free one). */
export function listenGrpc(server: grpc.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
      if (err) reject(err);
      else resolve(bound);
    });
  });
}

/** Graceful shutdown: in-flight calls finish (up to graceMs), then connections are cut. */
export function closeGrpc(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(t);
      resolve();
    });
  });
}
