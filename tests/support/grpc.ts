// gRPC helpers for black-box tests: a dtmgimp.Dtm client (what dtmgrpc sends underneath), and a
// gRPC branch service that accepts any message on the methods it is given, records each call
// (method, metadata, raw request bytes) and answers with the status code a test chooses.
import * as grpc from '@grpc/grpc-js';
import { loadDtmProto } from '@dtx/coordinator';

export interface GrpcReply {
  code?: grpc.status;
  details?: string;
  delayMs?: number;
  /** The reply message of an OK answer (default: empty). */
  message?: Buffer;
}

export interface GrpcBranchCall {
  method: string;
  metadata: Record<string, string>;
  body: Buffer;
  at: number;
}

export type GrpcHandler = (call: GrpcBranchCall) => GrpcReply | Promise<GrpcReply>;

const identity = (b: Buffer) => b;

export class GrpcBranchServer {
  readonly calls: GrpcBranchCall[] = [];
  private readonly handlers = new Map<string, GrpcHandler>();
  private readonly server = new grpc.Server();
  port = 0;

  /** `methods` are full names like `/busi.Busi/TransIn`; each answers OK unless `on` says otherwise. */
  constructor(methods: string[]) {
    const byService = new Map<string, string[]>();
    for (const m of methods) {
      const [, service, method] = m.split('/');
      if (service === undefined || method === undefined) throw new Error(`'${m}' is not a /service/Method name`);
      byService.set(service, [...(byService.get(service) ?? []), method]);
    }
    for (const [service, names] of byService) {
      const def: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
      const impl: grpc.UntypedServiceImplementation = {};
      for (const name of names) {
        const path = `/${service}/${name}`;
        def[name] = {
          path,
          requestStream: false,
          responseStream: false,
          requestSerialize: identity,
          requestDeserialize: identity,
          responseSerialize: identity,
          responseDeserialize: identity,
        };
        impl[name] = (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => void this.handle(path, call, cb);
      }
      this.server.addService(def, impl);
    }
  }

  on(method: string, handler: GrpcHandler | GrpcReply): this {
    this.handlers.set(method, typeof handler === 'function' ? handler : () => handler);
    return this;
  }

  /** A branch URL of the default driver: `127.0.0.1:port/service/Method`. */
  url(method: string): string {
    return `127.0.0.1:${this.port}${method}`;
  }

  callsTo(method: string): GrpcBranchCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  private async handle(path: string, call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(call.metadata.getMap())) metadata[k] = String(v);
    const c: GrpcBranchCall = { method: path, metadata, body: Buffer.from(call.request), at: Date.now() };
    this.calls.push(c);
    const handler: GrpcHandler = this.handlers.get(path) ?? (() => ({}));
    const r = await handler(c);
    if (r.delayMs) await new Promise((res) => setTimeout(res, r.delayMs));
    if (!r.code) return cb(null, r.message ?? Buffer.alloc(0));
    cb({ code: r.code, details: r.details ?? '', metadata: new grpc.Metadata() });
  }

  async start(port = 0): Promise<this> {
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    return this;
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

export interface GrpcError {
  code: grpc.status;
  details: string;
  /** The status's metadata (trailers), text values. */
  metadata: Record<string, string>;
}

function textMetadata(m: grpc.Metadata | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m?.getMap() ?? {})) out[k] = String(v);
  return out;
}

/** A unary method of a generated client (grpc-js types them all as `Function`). */
type UnaryMethod = (
  req: Record<string, unknown>,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, reply: unknown) => void,
) => grpc.ClientUnaryCall;

/** A client of the coordinator's dtmgimp.Dtm service; calls resolve to the reply or the status. */
export class DtmGrpc {
  private readonly client: grpc.Client & Record<string, UnaryMethod | undefined>;

  constructor(readonly target: string) {
    const proto = grpc.loadPackageDefinition(loadDtmProto()) as unknown as { dtmgimp: { Dtm: grpc.ServiceClientConstructor } };
    this.client = new proto.dtmgimp.Dtm(target, grpc.credentials.createInsecure()) as grpc.Client & Record<string, UnaryMethod | undefined>;
  }

  call<T = Record<string, unknown>>(
    method: string,
    req: Record<string, unknown>,
    metadata: grpc.Metadata = new grpc.Metadata(),
    timeoutMs = 30_000,
  ): Promise<{ ok: true; reply: T } | ({ ok: false } & GrpcError)> {
    return new Promise((resolve, reject) => {
      const unary = this.client[method];
      if (!unary) return reject(new Error(`dtmgimp.Dtm has no method ${method}`));
      unary.call(this.client, req, metadata, { deadline: Date.now() + timeoutMs }, (err, reply) =>
        // the reply is the method's decoded protobuf message; `T` names the fields a test reads
        resolve(err ? { ok: false, code: err.code, details: err.details, metadata: textMetadata(err.metadata) } : { ok: true, reply: reply as T }),
      );
    });
  }

  /** Calls a method by name with raw request bytes (for malformed messages and unknown methods). */
  raw(path: string, body: Buffer): Promise<{ code: grpc.status; details: string }> {
    return new Promise((resolve) => {
      this.client.makeUnaryRequest(path, identity, identity, body, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (err) =>
        resolve({ code: err ? err.code : grpc.status.OK, details: err ? err.details : '' }),
      );
    });
  }

  close(): void {
    this.client.close();
  }
}

export { grpc };
