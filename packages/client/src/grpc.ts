// The coordinator over gRPC (dtm's dtmgimp.Dtm service, proto/dtmgimp.proto; docs/protocol/grpc-api.md
// §4): the same operations as over HTTP, the JSON bodies mapped onto DtmRequest /
// DtmBranchRequest, payloads as bytes (BinPayloads, BusiPayload). A branch the SDK calls itself
// (TCC try, XA phase 1, the msg check) is called over gRPC when its URL is
// `host:port/pkg.Service/Method` (§6), over HTTP when it is http(s)://. @grpc/grpc-js and
// @grpc/proto-loader are optional peer dependencies, loaded on first use.
import { fileURLToPath } from 'node:url';
import { DtmError, Failure, Ongoing } from './errors.js';
import { HttpTransport, isHttpUrl, type ClientOptions } from './http.js';
import { payloadBytes, type EncodedPayload } from './payload.js';

type Json = Record<string, unknown>;
type Unary = (req: unknown, md: unknown, opts: unknown, cb: (err: GrpcError | null, reply: unknown) => void) => void;
type Grpc = typeof import('@grpc/grpc-js');
interface GrpcError extends Error {
  code?: number;
  details?: string;
}

const PROTO_DIR = fileURLToPath(new URL('../proto', import.meta.url));
const ABORTED = 10;
const FAILED_PRECONDITION = 9;

/** `host:port/pkg.Service/Method` → dial target and method path (docs/protocol/grpc-api.md §6.1, the default driver). */
export function splitGrpcBranchUrl(url: string): { target: string; method: string } {
  const i = url.indexOf('/');
  if (i <= 0 || url.includes('://')) throw new TypeError(`a gRPC branch URL must be host:port/package.Service/Method, got '${url}'`);
  return { target: url.slice(0, i), method: url.slice(i) };
}

/** `grpc://host:port` → `host:port`. */
export function grpcTarget(url: string): string {
  const m = /^grpc:\/\/([^/]+)\/?$/.exec(url);
  if (!m?.[1]) throw new TypeError(`gRPC coordinator URL must be grpc://host:port, got ${url}`);
  return m[1];
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** A body field that is text (HTTP's form) or bytes (what GrpcTransport.payload gives) as bytes. */
function bytes(v: unknown): Buffer {
  if (v instanceof Uint8Array) return payloadBytes(v);
  return Buffer.from(str(v), 'utf8');
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}

/** The TransGlobal JSON body (http-api.md §3) as a DtmRequest. */
export function dtmRequest(b: Json): Json {
  return {
    Gid: str(b.gid),
    TransType: str(b.trans_type),
    TransOptions: {
      WaitResult: b.wait_result === true,
      TimeoutToFail: num(b.timeout_to_fail),
      RetryInterval: num(b.retry_interval),
      BranchHeaders: (b.branch_headers as Record<string, string> | undefined) ?? {},
      RequestTimeout: num(b.request_timeout),
      RetryLimit: num(b.retry_limit),
    },
    CustomedData: str(b.custom_data),
    BinPayloads: ((b.payloads as unknown[] | undefined) ?? []).map(bytes),
    QueryPrepared: str(b.query_prepared),
    Steps: b.steps === undefined ? '' : JSON.stringify(b.steps),
    ReqExtra: b.req_extra ?? {},
    RollbackReason: str(b.rollback_reason),
  };
}

/** The registerBranch JSON body as a DtmBranchRequest: `data` becomes BusiPayload, the other strings the Data map. */
export function dtmBranchRequest(b: Json): Json {
  const { gid, trans_type, branch_id, data, ...rest } = b;
  return {
    Gid: str(gid),
    TransType: str(trans_type),
    BranchID: str(branch_id),
    Op: str(rest.op),
    Data: Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, str(v)])),
    BusiPayload: bytes(data),
  };
}

export class GrpcTransport extends HttpTransport {
  private client: Promise<Record<string, Unary>> | undefined;
  private readonly branchClients = new Map<string, Promise<InstanceType<Grpc['Client']>>>();
  private readonly target: string;
  private readonly metadata: Record<string, string>;
  private readonly deadlineMs: number;

  constructor(url: string, opts: ClientOptions = {}) {
    const target = grpcTarget(url);
    super('http://unused', opts, target);
    this.target = target;
    this.metadata = { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers };
    this.deadlineMs = opts.timeoutMs ?? 10_000;
  }

  private connect(): Promise<Record<string, Unary>> {
    this.client ??= (async () => {
      const [grpc, loader] = await Promise.all([import('@grpc/grpc-js'), import('@grpc/proto-loader')]);
      const def = await loader.load('dtmgimp.proto', { includeDirs: [PROTO_DIR], keepCase: true, longs: Number, defaults: true });
      const pkg = grpc.loadPackageDefinition(def) as unknown as {
        dtmgimp: { Dtm: new (target: string, creds: unknown) => Record<string, Unary> };
      };
      return new pkg.dtmgimp.Dtm(this.target, grpc.credentials.createInsecure());
    })();
    return this.client;
  }

  private async call(method: string, req: unknown): Promise<unknown> {
    const [client, grpc] = await Promise.all([this.connect(), import('@grpc/grpc-js')]);
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(this.metadata)) md.set(k, v);
    const fn = client[method];
    if (!fn) throw new TypeError(`dtmgimp.Dtm has no method ${method}`);
    return new Promise((resolve, reject) => {
      fn.call(client, req, md, { deadline: Date.now() + this.deadlineMs }, (err, reply) => {
        if (!err) return resolve(reply);
        const text = err.details ?? err.message;
        if (err.code === ABORTED) reject(new Failure(text));
        else if (err.code === FAILED_PRECONDITION) reject(new Ongoing(text));
        else reject(new DtmError(`${method}: gRPC ${err.code ?? '?'} ${text}`, 0, text, { cause: err }));
      });
    });
  }

  /** Payloads travel as bytes over gRPC. */
  override payload(p: EncodedPayload): unknown {
    return payloadBytes(p);
  }

  /**
   * A branch the SDK calls itself: over HTTP for an http(s):// URL; otherwise over gRPC, the
   * payload as the request message, the branch identity as dtm-* metadata (grpc-api.md §6.3;
   * `phase2_url` for XA becomes `dtm-phase2_url`, as dtmgrpc sends it), the status read as dtm
   * reads it (§6.4). Resolves to the serialized reply message on OK.
   */
  override async callBranch(
    method: 'GET' | 'POST',
    url: string,
    query: Record<string, string>,
    payload: EncodedPayload | undefined,
    headers: Record<string, string> = {},
  ): Promise<Buffer> {
    if (isHttpUrl(url)) return super.callBranch(method, url, query, payload, headers);
    const { target, method: path } = splitGrpcBranchUrl(url);
    const grpc = await import('@grpc/grpc-js');
    let client = this.branchClients.get(target);
    if (!client) {
      client = Promise.resolve(new grpc.Client(target, grpc.credentials.createInsecure()));
      this.branchClients.set(target, client);
    }
    const c = await client;
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(query)) md.set(`dtm-${k}`, v);
    for (const [k, v] of Object.entries(headers)) md.set(k.toLowerCase(), v);
    const identity = (b: Buffer) => b;
    return new Promise((resolve, reject) => {
      c.makeUnaryRequest<Buffer, Buffer>(
        path,
        identity,
        identity,
        payloadBytes(payload ?? ''),
        md,
        { deadline: Date.now() + this.deadlineMs },
        (err, reply) => {
          if (!err) return resolve(reply ?? Buffer.alloc(0));
          const text = err.details || err.message;
          const code: number = err.code;
          if (code === FAILED_PRECONDITION || (code === ABORTED && text === 'ONGOING')) reject(new Ongoing(text));
          else if (code === ABORTED) reject(new Failure(text));
          else reject(new DtmError(`${url}: gRPC ${code} ${text}`, 0, text, { cause: err }));
        },
      );
    });
  }

  /** Closes the connections to the coordinator and to gRPC branches. */
  override async close(): Promise<void> {
    const all = [...this.branchClients.values(), ...(this.client ? [this.client] : [])];
    this.branchClients.clear();
    this.client = undefined;
    for (const c of await Promise.all(all)) (c as { close?: () => void }).close?.();
  }

  override async api(_method: 'GET' | 'POST', route: string, body?: unknown): Promise<unknown> {
    const b = (body ?? {}) as Json;
    switch (route) {
      case 'newGid': {
        const r = (await this.call('NewGid', {})) as { Gid?: string };
        return { gid: r.Gid ?? '', dtm_result: 'SUCCESS' };
      }
      case 'prepare':
      case 'submit':
      case 'abort':
        await this.call(route[0]!.toUpperCase() + route.slice(1), dtmRequest(b));
        return { dtm_result: 'SUCCESS' };
      case 'registerBranch':
        await this.call('RegisterBranch', dtmBranchRequest(b));
        return { dtm_result: 'SUCCESS' };
      case 'prepareWorkflow': {
        const r = (await this.call('PrepareWorkflow', dtmRequest(b))) as {
          Transaction?: { Gid: string; Status: string; RollbackReason: string; Result: string };
          Progresses?: { Status: string; BinData: Buffer; BranchID: string; Op: string }[];
        };
        const t = r.Transaction;
        return {
          transaction: t && { gid: t.Gid, status: t.Status, rollback_reason: t.RollbackReason, result: t.Result },
          progresses: (r.Progresses ?? []).map((p) => ({
            status: p.Status,
            bin_data: Buffer.from(p.BinData).toString('base64'),
            branch_id: p.BranchID,
            op: p.Op,
          })),
        };
      }
      default:
        throw new TypeError(`${route} is not available over gRPC (dtm's gRPC API has no ${route}): use an http:// coordinator URL`);
    }
  }
}
