// HTTP and JSON-RPC branch calls (docs/protocol/branch-calls.md §3–§5) over a pooled undici agent.
// The egress policy (docs/security.md, "Egress policy") is applied twice: per request, to the URL
// of every redirect hop, and per connection, to the address actually connected (the connector's
// DNS lookup and literal IPs): no DNS lookup is added.
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { EgressRefusedError, type EgressPolicy } from '@dtx/config';
import { classifyHttp } from './classify.ts';
import { policyLookup } from './egress-lookup.ts';
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

/** The query dtm appends to a branch URL: gid, trans_type, branch_id and op, keys sorted as Go sorts them. */
function branchQuery(call: Pick<BranchCall, 'gid' | 'transType' | 'branchId' | 'op'>): string {
  return (
    `branch_id=${goQueryEscape(call.branchId)}&gid=${goQueryEscape(call.gid)}` +
    `&op=${goQueryEscape(call.op)}&trans_type=${goQueryEscape(call.transType)}`
  );
}

/** The branch URL with gid, trans_type, branch_id and op appended. */
export function branchUrl(call: BranchCall): string {
  return call.url + (call.url.includes('?') ? '&' : '?') + branchQuery(call);
}

export function dockerRewrite(url: string): string {
  return url.replace('localhost', 'host.docker.internal').replace('127.0.0.1', 'host.docker.internal');
}

function newId(): string {
  return randomBytes(12).toString('base64url');
}

/** An HTTP answer as the transport reads it: status, the body's first bytes as text, a redirect target. */
interface Answer {
  status: number;
  body: string;
  /** The Location header of a redirect (3xx), else undefined. */
  location: string | undefined;
}

/** Statuses followed as redirects (Go's client follows these). */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** A branch URL split for undici's dispatch: origin and path with its query, as first parsed. */
interface Target {
  origin: string;
  path: string;
}

/** Parsed branch URLs: a coordinator calls a small set of them over and over. */
const TARGET_CACHE_LIMIT = 10_000;

export class HttpTransport implements BranchTransport {
  private readonly agent: Agent;
  private readonly policy: EgressPolicy | undefined;
  private readonly maxRedirects: number;
  private readonly targets = new Map<string, Target>();
  private readonly baseHeaders: Record<string, string>;

  constructor(private readonly opts: HttpTransportOptions = {}) {
    this.policy = opts.policy && !opts.policy.open ? opts.policy : undefined;
    this.maxRedirects = opts.maxRedirects ?? 3;
    this.agent = new Agent({
      connections: opts.connections ?? 256,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 600_000,
      connect: this.policy ? policyConnector(this.policy) : undefined,
    });
    this.baseHeaders = { 'content-type': 'application/json', accept: 'application/json', 'user-agent': opts.userAgent ?? 'dtx' };
  }

  /** POSTs JSON (the alert webhook) through the same policy-checked client; the answer is ignored. */
  async post(url: string, json: string, timeoutMs: number): Promise<void> {
    await this.send(url, 'POST', { ...this.baseHeaders, accept: '*/*' }, Buffer.from(json), timeoutMs);
  }

  async call(call: BranchCall): Promise<CallResult> {
    const jsonRpc = call.protocol === 'json-rpc' && call.url.includes('method');
    return jsonRpc ? this.callJsonRpc(call) : this.callHttp(call);
  }

  private headers(call: BranchCall): Record<string, string> {
    let h = this.baseHeaders;
    for (const k in call.headers) {
      if (h === this.baseHeaders) h = { ...h };
      h[k.toLowerCase()] = call.headers[k] as string;
    }
    return h;
  }

  /** The branch URL's origin and path (parsed once per URL), after the Docker rewrite. */
  private target(url: string): Target {
    let t = this.targets.get(url);
    if (t === undefined) {
      const u = new URL(this.opts.dockerHostRewrite ? dockerRewrite(url) : url);
      t = { origin: u.origin, path: u.pathname + u.search };
      if (this.targets.size >= TARGET_CACHE_LIMIT) this.targets.clear();
      this.targets.set(url, t);
    }
    return t;
  }

  private async callHttp(call: BranchCall): Promise<CallResult> {
    const startedAt = new Date();
    const post = call.post;
    try {
      const t = this.target(call.url);
      const a = await this.send(t, post ? 'POST' : 'GET', this.headers(call), post ? call.payload : null, call.timeoutMs, branchQuery(call));
      const c = classifyHttp(a.status, a.body);
      // Fields written out: a spread followed by new keys is slow on Node 20 (operations.ts, branchRow).
      return {
        outcome: c.outcome,
        message: c.message,
        transport: 'http',
        httpStatus: a.status,
        startedAt,
        durationMs: Date.now() - startedAt.getTime(),
        response: a.body.trim().slice(0, ATTEMPT_RESPONSE_CHARS),
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
      const body = Buffer.from(JSON.stringify({ params, jsonrpc: '2.0', method, id: newId() }));
      const a = await this.send(this.target(call.url), 'POST', this.headers(call), body, call.timeoutMs);
      let c = classifyHttp(a.status, a.body);
      if (c.outcome === 'success') {
        // dtm means -32901/-32902 to be FAILURE/ONGOING but never matches them: any error member
        // is a plain error (docs/protocol/branch-calls.md §5).
        try {
          const parsed = JSON.parse(a.body) as { error?: unknown };
          if (parsed.error !== null && parsed.error !== undefined) c = { outcome: 'error', message: a.body.trim() };
        } catch {
          c = { outcome: 'error', message: `json-rpc reply is not JSON: ${a.body.trim().slice(0, 200)}` };
        }
      }
      return {
        outcome: c.outcome,
        message: c.message,
        transport: 'json-rpc',
        httpStatus: a.status,
        startedAt,
        durationMs: Date.now() - startedAt.getTime(),
        response: a.body.trim().slice(0, ATTEMPT_RESPONSE_CHARS),
      };
    } catch (err) {
      return transportError(err, 'json-rpc', startedAt, call.timeoutMs);
    }
  }

  /**
   * One request and the redirects it leads to (BranchCallPolicy.MaxRedirects; each hop checked by
   * the policy; 303, and 301/302 of a POST, go on as a GET without body, as Go's client does).
   * After the last allowed hop the redirect itself is the answer. `timeoutMs` bounds the whole.
   */
  private async send(
    first: Target | string,
    method: 'GET' | 'POST',
    headers: Record<string, string>,
    body: Buffer | null,
    timeoutMs: number,
    query = '',
  ): Promise<Answer> {
    const deadline = Date.now() + timeoutMs;
    let t = typeof first === 'string' ? this.target(first) : first;
    let path = query ? t.path + (t.path.includes('?') ? '&' : '?') + query : t.path;
    for (let hop = 0; ; hop++) {
      const why = this.policy?.refuseRequest(t.origin, path);
      if (why) throw new EgressRefusedError(t.origin + path, why);
      const a = await this.exchange(t.origin, path, method, headers, body, Math.max(1, deadline - Date.now()), timeoutMs);
      if (a.location === undefined || hop >= this.maxRedirects) return a;
      const next = new URL(a.location, t.origin + path);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') return a;
      if (a.status === 303 || ((a.status === 301 || a.status === 302) && method === 'POST')) {
        method = 'GET';
        body = null;
      }
      t = { origin: next.origin, path: next.pathname + next.search };
      path = t.path;
    }
  }

  /**
   * One HTTP exchange through undici's dispatcher with a handler that keeps only what a branch
   * answer needs: no body stream, no AbortSignal (a timer aborts the request), about a third of the
   * CPU of undici's request() per call (docs/benchmarks.md).
   */
  private exchange(
    origin: string,
    path: string,
    method: 'GET' | 'POST',
    headers: Record<string, string>,
    body: Buffer | null,
    remainingMs: number,
    timeoutMs: number,
  ): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      let controller: Dispatcher.DispatchController | null = null;
      let settled = false;
      let status = 0;
      let location: string | undefined;
      const chunks: Buffer[] = [];
      let size = 0;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err);
      };
      // The caller learns of the timeout when it happens, whether or not the request has a
      // connection yet; a request still queued is aborted as soon as it gets one.
      const timer = setTimeout(() => {
        const err = new TimeoutError(`request timeout after ${timeoutMs}ms`);
        fail(err);
        controller?.abort(err);
      }, remainingMs);
      this.agent.dispatch(
        { origin, path, method, headers, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs },
        {
          onRequestStart(c) {
            controller = c;
            if (settled) c.abort(new TimeoutError(`request timeout after ${timeoutMs}ms`));
          },
          onResponseStart(_c, statusCode, h) {
            status = statusCode;
            if (REDIRECTS.has(statusCode)) {
              const l = h.location;
              location = Array.isArray(l) ? l[0] : l;
            }
          },
          onResponseData(_c, chunk) {
            if (size < MAX_RESPONSE_BYTES) {
              chunks.push(chunk);
              size += chunk.length;
            }
          },
          onResponseEnd() {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            const all = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
            resolve({ status, body: all.subarray(0, MAX_RESPONSE_BYTES).toString('utf8'), location });
          },
          onResponseError(_c, err) {
            fail(err);
          },
        },
      );
    });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/**
 * undici's connector with the policy on the address each connection uses: a literal IP before
 * connecting, a host name's addresses in the DNS lookup the connection makes anyway (refused ones
 * dropped; none left fails the connection).
 */
function policyConnector(policy: EgressPolicy): buildConnector.connector {
  const connect = buildConnector({ lookup: policyLookup(policy) });
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
