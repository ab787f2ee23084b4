// HTTP and JSON-RPC branch calls (docs/protocol/branch-calls.md §3–§5) over a pooled undici agent.
// The egress policy (docs/security.md, "Egress policy") is applied twice: per request, to the URL
// of every redirect hop (an interceptor inside the redirect one), and per connection, to the
// address actually connected (the connector's DNS lookup and literal IPs): no DNS lookup is added.
import { randomBytes } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector, interceptors, request, type Dispatcher } from 'undici';
import { EgressRefusedError, type EgressPolicy } from '@dtx/config';
import { classifyHttp } from './classify.ts';
import type { BranchCall, BranchTransport, CallResult } from '@dtx/engine';

/** Response bytes read from a branch at most; the rest is discarded. */
const MAX_RESPONSE_BYTES = 1 << 20;
/** Response text kept in the attempt log. */
export const ATTEMPT_RESPONSE_CHARS = 2000;

export interface HttpTransportOptions {
  /** dtm's IS_DOCKER: rewrite the first localhost / 127.0.0.1 to host.docker.internal. */
  dockerHostRewrite?: boolean;
  /** Connections per origin. */
  connections?: number;
  userAgent?: string;
  /** BranchCallPolicy (absent: everything allowed). */
  policy?: EgressPolicy;
  /** Redirects followed, each hop checked by the policy (BranchCallPolicy.MaxRedirects; dtm: 10). */
  maxRedirects?: number;
}

/** Go's url.QueryEscape: space as '+', and !'()* escaped too. */
const UNRESERVED = /^[A-Za-z0-9_.~-]*$/;

export function goQueryEscape(s: string): string {
  // Most gids, branch ids and ops need no escaping: skip the three passes (a per-call cost).
  if (UNRESERVED.test(s)) return s;
  return encodeURIComponent(s)
    .replace(/%20/g, '+')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The branch URL with gid, trans_type, branch_id and op appended, keys sorted as Go sorts them. */
export function branchUrl(call: BranchCall): string {
  const qs =
    `branch_id=${goQueryEscape(call.branchId)}&gid=${goQueryEscape(call.gid)}` +
    `&op=${goQueryEscape(call.op)}&trans_type=${goQueryEscape(call.transType)}`;
  return call.url + (call.url.includes('?') ? '&' : '?') + qs;
}

export function dockerRewrite(url: string): string {
  return url.replace('localhost', 'host.docker.internal').replace('127.0.0.1', 'host.docker.internal');
}

function newId(): string {
  return randomBytes(12).toString('base64url');
}

export class HttpTransport implements BranchTransport {
  private readonly dispatcher: Dispatcher;

  constructor(private readonly opts: HttpTransportOptions = {}) {
    const policy = opts.policy && !opts.policy.open ? opts.policy : undefined;
    this.dispatcher = new Agent({
      connections: opts.connections ?? 256,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 600_000,
      connect: policy ? policyConnector(policy) : undefined,
    }).compose([...(policy ? [policyInterceptor(policy)] : []), interceptors.redirect({ maxRedirections: opts.maxRedirects ?? 3 })]);
  }

  /** POSTs JSON (the alert webhook) through the same policy-checked client; the answer is ignored. */
  async post(url: string, json: string, timeoutMs: number): Promise<void> {
    const res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': this.opts.userAgent ?? 'dtx' },
      body: json,
      dispatcher: this.dispatcher,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body.dump();
  }

  async call(call: BranchCall): Promise<CallResult> {
    const jsonRpc = call.protocol === 'json-rpc' && call.url.includes('method');
    return jsonRpc ? this.callJsonRpc(call) : this.callHttp(call);
  }

  private headers(call: BranchCall): Record<string, string> {
    const h: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
      'user-agent': this.opts.userAgent ?? 'dtx',
    };
    for (const [k, v] of Object.entries(call.headers)) h[k.toLowerCase()] = v;
    return h;
  }

  private target(url: string): string {
    return this.opts.dockerHostRewrite ? dockerRewrite(url) : url;
  }

  private async callHttp(call: BranchCall): Promise<CallResult> {
    const startedAt = new Date();
    const post = call.post;
    try {
      const res = await request(this.target(branchUrl(call)), {
        method: post ? 'POST' : 'GET',
        headers: this.headers(call),
        body: post ? call.payload : undefined,
        dispatcher: this.dispatcher,
        signal: AbortSignal.timeout(call.timeoutMs),
        headersTimeout: call.timeoutMs,
        bodyTimeout: call.timeoutMs,
      });
      const body = await readBody(res.body);
      const c = classifyHttp(res.statusCode, body);
      return {
        ...c,
        transport: 'http',
        httpStatus: res.statusCode,
        startedAt,
        durationMs: Date.now() - startedAt.getTime(),
        response: body.trim().slice(0, ATTEMPT_RESPONSE_CHARS),
      };
    } catch (err) {
      return transportError(err, 'http', startedAt, call.timeoutMs);
    }
  }

  private async callJsonRpc(call: BranchCall): Promise<CallResult> {
    const startedAt = new Date();
    let params: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(call.payload.toString('utf8'));
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      params = parsed as Record<string, unknown>;
    } catch {
      return {
        outcome: 'error',
        message: 'json-rpc branch payload must be a JSON object',
        transport: 'json-rpc',
        startedAt,
        durationMs: 0,
        response: '',
      };
    }
    Object.assign(params, { gid: call.gid, trans_type: call.transType, branch_id: call.branchId, op: call.op });
    let method = '';
    try {
      method = new URL(call.url).searchParams.get('method') ?? '';
    } catch {
      // an unparsable URL fails below, at the request
    }
    try {
      const res = await request(this.target(call.url), {
        method: 'POST',
        headers: this.headers(call),
        body: JSON.stringify({ params, jsonrpc: '2.0', method, id: newId() }),
        dispatcher: this.dispatcher,
        signal: AbortSignal.timeout(call.timeoutMs),
      });
      const body = await readBody(res.body);
      let c = classifyHttp(res.statusCode, body);
      if (c.outcome === 'success') {
        // dtm means -32901/-32902 to be FAILURE/ONGOING but never matches them: any error member
        // is a plain error (docs/protocol/branch-calls.md §5).
        try {
          const parsed = JSON.parse(body) as { error?: unknown };
          if (parsed.error !== null && parsed.error !== undefined) c = { outcome: 'error', message: body.trim() };
        } catch {
          c = { outcome: 'error', message: `json-rpc reply is not JSON: ${body.trim().slice(0, 200)}` };
        }
      }
      return {
        ...c,
        transport: 'json-rpc',
        httpStatus: res.statusCode,
        startedAt,
        durationMs: Date.now() - startedAt.getTime(),
        response: body.trim().slice(0, ATTEMPT_RESPONSE_CHARS),
      };
    } catch (err) {
      return transportError(err, 'json-rpc', startedAt, call.timeoutMs);
    }
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

/** Refuses each request (first call and every redirect hop) whose URL the policy refuses. */
function policyInterceptor(policy: EgressPolicy): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    const origin = typeof opts.origin === 'string' ? opts.origin : (opts.origin?.origin ?? '');
    const why = policy.refuseRequest(origin, opts.path);
    if (!why) return dispatch(opts, handler);
    handler.onResponseError?.(null as unknown as Dispatcher.DispatchController, new EgressRefusedError(origin + opts.path, why));
    return true;
  };
}

/**
 * undici's connector with the policy on the address each connection uses: a literal IP before
 * connecting, a host name's addresses in the DNS lookup the connection makes anyway (refused ones
 * dropped; none left fails the connection).
 */
function policyConnector(policy: EgressPolicy): buildConnector.connector {
  const lookup = ((hostname: string, options: LookupAllOptions, callback: (err: Error | null, a: LookupAddress[] | string, f?: number) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, options.all ? [] : '', 0);
      const allowed = addresses.filter((a) => !policy.refuseAddress(hostname, a.address));
      const first = allowed[0];
      if (!first) {
        const why = addresses[0] ? policy.refuseAddress(hostname, addresses[0].address) : 'no address';
        return callback(new EgressRefusedError(hostname, why ?? 'BranchCallPolicy'), options.all ? [] : '', 0);
      }
      if (options.all) callback(null, allowed);
      else callback(null, first.address, first.family);
    });
  }) as unknown as LookupFunction;
  const connect = buildConnector({ lookup });
  return (opts, callback) => {
    const host = opts.hostname.replace(/^\[(.*)\]$/, '$1');
    const why = isIP(host) ? policy.refuseAddress(host, host) : undefined;
    if (why) {
      callback(new EgressRefusedError(`${opts.protocol}//${opts.host}`, why), null);
      return;
    }
    connect(opts, callback);
  };
}

async function readBody(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size < MAX_RESPONSE_BYTES) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
  }
  return Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BYTES).toString('utf8');
}

function transportError(err: unknown, transport: 'http' | 'json-rpc', startedAt: Date, timeoutMs: number): CallResult {
  const e = err as Error & { code?: string; cause?: { code?: string; message?: string } };
  let message = e?.message ?? String(err);
  if (e?.name === 'TimeoutError' || e?.code === 'UND_ERR_HEADERS_TIMEOUT' || e?.code === 'UND_ERR_BODY_TIMEOUT') {
    message = `request timeout after ${timeoutMs}ms`;
  } else if (e?.cause?.message) {
    message = `${message}: ${e.cause.message}`;
  }
  return {
    outcome: 'error',
    message,
    transport,
    startedAt,
    durationMs: Date.now() - startedAt.getTime(),
    response: '',
  };
}
