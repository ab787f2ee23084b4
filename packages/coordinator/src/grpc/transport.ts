// gRPC branch calls (docs/protocol/grpc-api.md §6): the stored bytes go out verbatim as the request message of
// `/package.Service/Method` (the coordinator never knows the proto), with dtm's metadata, a
// per-call deadline, and the answer classified by the engine's classifyGrpc. One connection per
// address (client.ts), shared by every transaction; resolved targets (etcd://, discov://,
// direct:///) pick an address round-robin among the live ones.
import type { OutgoingHttpHeaders } from 'node:http2';
import type { BranchCall, BranchTransport, CallResult, Logger } from '@dtx/engine';
import { grpcSchemesOf, type EgressPolicy } from '@dtx/config';
import { classifyGrpc, GrpcCode } from '../calls/classify.ts';
import { dockerRewrite } from '../calls/http.ts';
import type { EtcdResolver } from '../discovery/etcd.ts';
import { GrpcChannel, parseDialAddress } from './client.ts';
import { parseSchemeTarget, splitBranchUrl, TargetError, type Driver } from './target.ts';

const RESPONSE_CHARS = 2000;
/** A connection unused this long is closed (grpc-js idles a channel after 30 min; addresses come and go with etcd). */
const IDLE_MS = 5 * 60_000;

export interface GrpcTransportOptions {
  driver: Driver;
  logger: Logger;
  /** Resolves etcd:// and discov:// targets (the go-zero driver); absent with the default driver. */
  etcd?: EtcdResolver;
  /** dtm's IS_DOCKER: the first localhost / 127.0.0.1 of a target becomes host.docker.internal. */
  dockerHostRewrite?: boolean;
  maxMessageBytes?: number;
  /** BranchCallPolicy: checked on the target, and on every address a channel connects to. */
  policy?: EgressPolicy;
  userAgent?: string;
}

/** Schemes of one address (parseDialAddress), as grpc-js named them. */
const NATIVE_SCHEMES = new Set(['dns', 'ipv4', 'ipv6', 'unix', 'unix-abstract']);

/**
 * Schemes a gRPC branch URL may use with this driver (what `pick` resolves); the engine refuses
 * any other at submit. The default driver dials `host:port/...` only (splitBranchUrl).
 */
export function resolvedSchemes(driver: Driver): string[] {
  return grpcSchemesOf(driver);
}

class Unavailable extends Error {}

/** A call that failed before it was sent. */
function failed(startedAt: Date, message: string, grpcCode?: number): CallResult {
  return { outcome: 'error', message, transport: 'grpc', grpcCode, startedAt, durationMs: Date.now() - startedAt.getTime(), response: '' };
}

export class GrpcTransport implements BranchTransport {
  private readonly channels = new Map<string, GrpcChannel>();
  private readonly rr = new Map<string, number>();
  private readonly idle: NodeJS.Timeout;
  private readonly userAgent: string;
  private closed = false;

  constructor(private readonly opts: GrpcTransportOptions) {
    this.userAgent = opts.userAgent ?? 'dtx';
    this.idle = setInterval(() => this.closeIdle(Date.now() - IDLE_MS), 60_000);
    this.idle.unref();
  }

  async call(call: BranchCall): Promise<CallResult> {
    const startedAt = new Date();
    let channel: GrpcChannel;
    let headers: OutgoingHttpHeaders;
    const refused = this.opts.policy?.refuseUrl(call.url);
    if (refused) return failed(startedAt, `call to ${call.url} refused by ${refused}`);
    if (this.closed) return failed(startedAt, 'rpc error: code = Unavailable desc = Channel has been shut down', GrpcCode.Unavailable);
    try {
      const t = splitBranchUrl(call.url, this.opts.driver);
      headers = branchHeaders(call, t.method, this.userAgent);
      const target = this.opts.dockerHostRewrite ? dockerRewrite(t.target) : t.target;
      // Only resolver targets wait for anything before the call.
      channel = target.includes('://') ? await this.pick(target) : this.channel(target);
    } catch (err) {
      if (err instanceof Unavailable) return failed(startedAt, `rpc error: code = Unavailable desc = ${err.message}`, GrpcCode.Unavailable);
      return failed(startedAt, (err as Error).message);
    }
    return new Promise<CallResult>((resolve) => {
      channel.unary(headers, call.payload, call.timeoutMs, (code, details) => {
        const c = classifyGrpc(code, details);
        // Fields written out: a spread followed by new keys is slow on Node 20 (operations.ts, branchRow).
        resolve({
          outcome: c.outcome,
          message: c.message,
          transport: 'grpc',
          grpcCode: code,
          startedAt,
          durationMs: Date.now() - startedAt.getTime(),
          response: details.slice(0, RESPONSE_CHARS),
        });
      });
    });
  }

  /** The channel to use for a dial target with a scheme. */
  private async pick(target: string): Promise<GrpcChannel> {
    const parsed = parseSchemeTarget(target);
    if (!parsed || NATIVE_SCHEMES.has(parsed.scheme)) return this.channel(target);
    let addresses: string[];
    if (parsed.scheme === 'direct') {
      addresses = parsed.hosts;
    } else if (parsed.scheme === 'etcd' || parsed.scheme === 'discov') {
      if (!this.opts.etcd) throw new TargetError(`no resolver for '${target}'`);
      if (!parsed.key) throw new TargetError(`bad target '${target}': no service key`);
      try {
        addresses = await this.opts.etcd.resolve({ hosts: parsed.hosts, user: parsed.user, password: parsed.password }, parsed.key);
      } catch (err) {
        throw new Unavailable(`cannot resolve '${target}': ${(err as Error).message}`);
      }
    } else {
      throw new TargetError(`unsupported resolver scheme '${parsed.scheme}' in '${target}' (etcd, discov, direct, dns)`);
    }
    if (addresses.length === 0) throw new Unavailable(`no live endpoint for '${target}'`);
    // Round-robin, skipping addresses whose connection is failing while others are not (like
    // grpc-go's round_robin, which only picks READY connections).
    const start = this.rr.get(target) ?? 0;
    this.rr.set(target, start + 1);
    // `addresses` is not empty (checked above), so every index taken modulo its length is valid.
    for (let i = 0; i < addresses.length; i++) {
      const c = this.channel(addresses[(start + i) % addresses.length]!);
      if (!c.failing) return c;
    }
    return this.channel(addresses[start % addresses.length]!);
  }

  private channel(address: string): GrpcChannel {
    let c = this.channels.get(address);
    if (!c) {
      c = new GrpcChannel(parseDialAddress(address), { maxMessageBytes: this.opts.maxMessageBytes ?? 4 * 1024 * 1024, policy: this.opts.policy });
      this.channels.set(address, c);
    }
    return c;
  }

  /** Closes the connections no call used since `before` (ms). */
  private closeIdle(before: number): void {
    for (const [address, c] of this.channels) {
      if (c.inFlight === 0 && c.usedAt < before) {
        c.close();
        this.channels.delete(address);
      }
    }
  }

  /** In-flight calls finish on their connections; calls waiting for a connection fail. */
  close(): Promise<void> {
    this.closed = true;
    clearInterval(this.idle);
    for (const c of this.channels.values()) c.close();
    this.channels.clear();
    return Promise.resolve();
  }
}

/** Keys grpc-js's Metadata accepts; keys starting with ':' are not sent. */
const METADATA_KEY = /^[:0-9a-z_.-]+$/;
/** Printable ASCII: what grpc-js's Metadata accepts as a text value. */
const METADATA_VALUE = /^[ -~]*$/;
/** Headers HTTP/2 forbids (node:http2 refuses them), and the ones this client sets itself. */
const RESERVED = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings']);
const OWN = new Set(['content-type', 'te', 'user-agent', 'grpc-timeout']);

/**
 * The call's HTTP/2 headers: method, content type, then dtm's metadata (docs/protocol/grpc-api.md §6.3):
 * dtm-gid, dtm-trans_type, dtm-branch_id, dtm-op, dtm-dtm (empty), then branch headers (keys lower-case).
 */
export function branchHeaders(call: BranchCall, method: string, userAgent: string): OutgoingHttpHeaders {
  const h: OutgoingHttpHeaders = {
    ':method': 'POST',
    ':path': method,
    'content-type': 'application/grpc',
    te: 'trailers',
    'user-agent': userAgent,
    'dtm-gid': call.gid,
    'dtm-trans_type': call.transType,
    'dtm-branch_id': call.branchId,
    'dtm-op': call.op,
    'dtm-dtm': '',
  };
  for (const k in call.headers) {
    const key = k.toLowerCase();
    const v = call.headers[k] as string;
    // grpc-go fails such a call too (illegal header key); say which header, in grpc-js's words.
    let why = '';
    if (!METADATA_KEY.test(key)) why = `Metadata key "${key}" contains illegal characters`;
    else if (key.endsWith('-bin')) why = "keys that end with '-bin' must have Buffer values";
    else if (!METADATA_VALUE.test(v)) why = `Metadata string value "${v}" contains illegal characters`;
    else if (RESERVED.has(key)) why = 'HTTP/2 does not allow this header';
    if (why) throw new TargetError(`branch header '${k}' cannot be sent as gRPC metadata: ${why}`);
    if (key[0] !== ':' && !OWN.has(key)) h[key] = v;
  }
  return h;
}
