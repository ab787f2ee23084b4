// gRPC branch calls (docs/protocol/grpc-api.md §6): the stored bytes go out verbatim as the request message of
// `/package.Service/Method` (the coordinator never knows the proto), with dtm's metadata, a
// per-call deadline, and the answer classified by the engine's classifyGrpc. One channel per
// address, shared by every transaction; resolved targets (etcd://, discov://, direct:///) pick
// an address round-robin among the live ones.
import * as grpc from '@grpc/grpc-js';
import type { BranchCall, BranchTransport, CallResult, Logger } from '@dtx/engine';
import { grpcSchemesOf, type EgressPolicy } from '@dtx/config';
import { classifyGrpc, GrpcCode } from '../calls/classify.ts';
import { dockerRewrite } from '../calls/http.ts';
import type { EtcdResolver } from '../discovery/etcd.ts';
import { egressTargets } from './egress.ts';
import { parseSchemeTarget, splitBranchUrl, TargetError, type Driver } from './target.ts';

const RESPONSE_CHARS = 2000;
const identity = (b: Buffer) => b;

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
}

/** Schemes grpc-js resolves by itself. */
const NATIVE_SCHEMES = new Set(['dns', 'ipv4', 'ipv6', 'unix', 'unix-abstract']);

/**
 * Schemes a gRPC branch URL may use with this driver (what `pick` resolves); the engine refuses
 * any other at submit. The default driver dials `host:port/...` only (splitBranchUrl).
 */
export function resolvedSchemes(driver: Driver): string[] {
  return grpcSchemesOf(driver);
}

class Unavailable extends Error {}

export class GrpcTransport implements BranchTransport {
  private readonly clients = new Map<string, grpc.Client>();
  private readonly rr = new Map<string, number>();
  private readonly egress: ReturnType<typeof egressTargets> | null;

  constructor(private readonly opts: GrpcTransportOptions) {
    this.egress = opts.policy && !opts.policy.open ? egressTargets(opts.policy) : null;
  }

  async call(call: BranchCall): Promise<CallResult> {
    const startedAt = new Date();
    const fail = (message: string, grpcCode?: number): CallResult => ({
      outcome: 'error',
      message,
      transport: 'grpc',
      grpcCode,
      startedAt,
      durationMs: Date.now() - startedAt.getTime(),
      response: '',
    });
    let method: string;
    let client: grpc.Client;
    let metadata: grpc.Metadata;
    const refused = this.opts.policy?.refuseUrl(call.url);
    if (refused) return fail(`call to ${call.url} refused by ${refused}`);
    try {
      const t = splitBranchUrl(call.url, this.opts.driver);
      method = t.method;
      client = await this.pick(this.opts.dockerHostRewrite ? dockerRewrite(t.target) : t.target);
      metadata = branchMetadata(call);
    } catch (err) {
      if (err instanceof Unavailable) return fail(`rpc error: code = Unavailable desc = ${err.message}`, GrpcCode.Unavailable);
      return fail((err as Error).message);
    }
    return new Promise<CallResult>((resolve) => {
      client.makeUnaryRequest(method, identity, identity, call.payload, metadata, { deadline: Date.now() + call.timeoutMs }, (err) => {
        const code = err ? err.code : grpc.status.OK;
        const details = err ? err.details : '';
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

  /** The channel to use for a dial target. */
  private async pick(target: string): Promise<grpc.Client> {
    const parsed = parseSchemeTarget(target);
    if (!parsed || NATIVE_SCHEMES.has(parsed.scheme)) return this.client(target);
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
    // Round-robin, skipping addresses whose channel is known to be failing while others are not
    // (like grpc-go's round_robin, which only picks READY connections).
    const start = this.rr.get(target) ?? 0;
    this.rr.set(target, start + 1);
    // `addresses` is not empty (checked above), so every index taken modulo its length is valid.
    for (let i = 0; i < addresses.length; i++) {
      const c = this.client(addresses[(start + i) % addresses.length]!);
      if (c.getChannel().getConnectivityState(false) !== grpc.connectivityState.TRANSIENT_FAILURE) return c;
    }
    return this.client(addresses[start % addresses.length]!);
  }

  private client(address: string): grpc.Client {
    let c = this.clients.get(address);
    if (!c) {
      c = new grpc.Client(this.egress ? this.egress.wrap(address) : address, grpc.credentials.createInsecure(), {
        'grpc.max_receive_message_length': this.opts.maxMessageBytes ?? 4 * 1024 * 1024,
        // Reconnect quickly after a branch service restarts; grpc-js's default backoff grows to 120 s.
        'grpc.initial_reconnect_backoff_ms': 200,
        'grpc.max_reconnect_backoff_ms': 2000,
        // channelz (grpc-js's introspection, which we do not serve) counts and traces every call.
        'grpc.enable_channelz': 0,
      });
      this.clients.set(address, c);
    }
    return c;
  }

  /** BranchTransport.close is asynchronous; grpc-js closes a client's channel synchronously. */
  close(): Promise<void> {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
    this.egress?.release();
    return Promise.resolve();
  }
}

/** docs/protocol/grpc-api.md §6.3: dtm-gid, dtm-trans_type, dtm-branch_id, dtm-op, dtm-dtm (empty), then branch headers. */
export function branchMetadata(call: BranchCall): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('dtm-gid', call.gid);
  md.set('dtm-trans_type', call.transType);
  md.set('dtm-branch_id', call.branchId);
  md.set('dtm-op', call.op);
  md.set('dtm-dtm', '');
  for (const [k, v] of Object.entries(call.headers)) {
    try {
      md.set(k.toLowerCase(), v);
    } catch (err) {
      // grpc-go fails such a call too (illegal header key); say which header.
      throw new TargetError(`branch header '${k}' cannot be sent as gRPC metadata: ${(err as Error).message}`);
    }
  }
  return md;
}
