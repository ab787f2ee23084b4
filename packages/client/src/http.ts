// The HTTP side of dtm's protocol as a client sees it: calls to the coordinator's /api/dtmsvr
// routes (docs/protocol/http-api.md §2, §4) and the calls an SDK makes to branches itself
// (TCC try: docs/client/tcc.md; msg query-prepared: docs/protocol/branch-calls.md §7). Uses
// undici's request(), not the global fetch: on Node 20 fetch costs about four times the CPU per
// call (docs/benchmarks.md, "Client overhead").
import { Agent, interceptors, request, type Dispatcher } from 'undici';
import { DtmError, Failure, Ongoing, errorOfAnswer } from './errors.js';
import { payloadText, type EncodedPayload } from './payload.js';

export interface ClientOptions {
  /**
   * A bearer token sent as `Authorization: Bearer <token>` on every call to the coordinator
   * (for a coordinator that requires API authentication; dtm itself has none).
   */
  token?: string;
  /** More headers on every call to the coordinator. */
  headers?: Record<string, string>;
  /** Timeout of one call to the coordinator or to a branch, in milliseconds (default 10 000). */
  timeoutMs?: number;
  /** A fetch implementation to send every call with instead of undici's request() (tests, proxies). */
  fetch?: typeof fetch;
}

/** The answer of a call: status and body text. */
export interface Answer {
  status: number;
  text: string;
}

/** `http://` or `https://`: a branch URL called over HTTP. */
export function isHttpUrl(url: string): boolean {
  return /^https?:\/\//i.test(url);
}

/** `http://host:36789` or `http://host:36789/api/dtmsvr` (the Go SDK's form) → the latter. */
export function apiBase(url: string): string {
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new TypeError(`coordinator URL must be http:// or https://, got ${url}`);
  }
  const path = u.pathname.replace(/\/+$/, '');
  return `${u.origin}${path === '' ? '/api/dtmsvr' : path}`;
}

/** Appends query parameters, keeping any the URL already has (as dtm does: branch-calls.md §3). */
export function withQuery(url: string, params: Record<string, string>): string {
  const qs = new URLSearchParams(Object.entries(params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))).toString();
  if (qs === '') return url;
  return url + (url.includes('?') ? '&' : '?') + qs;
}

export class HttpTransport {
  readonly base: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch | undefined;
  /** Keep-alive connections to the coordinator and the branches; redirects followed like Go's http client. */
  private readonly dispatcher: Dispatcher;
  private readonly agent: Agent;

  constructor(url: string, opts: ClientOptions = {}, base = apiBase(url)) {
    this.base = base;
    this.headers = { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers };
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.fetchFn = opts.fetch;
    this.agent = new Agent({ headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs });
    this.dispatcher = this.agent.compose(interceptors.redirect({ maxRedirections: 10 }));
  }

  /** Sends a request and reads the whole answer; a network error or timeout becomes a DtmError with status 0. */
  async send(method: 'GET' | 'POST', url: string, body: string | undefined, headers: Record<string, string>): Promise<Answer> {
    const a = await this.exchange(method, url, body, headers);
    return { status: a.status, text: a.body.toString('utf8') };
  }

  /** send, with the answer's body as bytes. */
  private async exchange(
    method: 'GET' | 'POST',
    url: string,
    body: string | undefined,
    headers: Record<string, string>,
  ): Promise<{ status: number; body: Buffer }> {
    try {
      if (this.fetchFn) {
        const r = await this.fetchFn(url, {
          method,
          headers: { 'content-type': 'application/json', ...headers },
          body,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        return { status: r.status, body: Buffer.from(await r.arrayBuffer()) };
      }
      const r = await request(url, { method, headers: { 'content-type': 'application/json', ...headers }, body, dispatcher: this.dispatcher });
      return { status: r.statusCode, body: Buffer.from(await r.body.arrayBuffer()) };
    } catch (e) {
      throw new DtmError(`${method} ${url}: ${(e as Error).message}`, 0, '', { cause: e });
    }
  }

  /** One call to the coordinator. 409 → Failure, 425 → Ongoing, other non-200 → DtmError; else the parsed JSON body. */
  async api(method: 'GET' | 'POST', route: string, body?: unknown): Promise<unknown> {
    const url = `${this.base}/${route}`;
    const a = await this.send(method, url, body === undefined ? undefined : JSON.stringify(body), this.headers);
    // dtm's API answers are classified by status only: a message may legitimately quote a body.
    if (a.status === 409) throw new Failure(messageOf(a.text));
    if (a.status === 425) throw new Ongoing(messageOf(a.text));
    if (a.status !== 200) throw new DtmError(`${route}: HTTP ${a.status} ${messageOf(a.text)}`, a.status, a.text);
    try {
      return JSON.parse(a.text) as unknown;
    } catch {
      throw new DtmError(`${route}: the coordinator's answer is not JSON: ${a.text.slice(0, 200)}`, a.status, a.text);
    }
  }

  /** Closes the kept-alive connections (idle ones do not keep the process running anyway). */
  close(): Promise<void> {
    return this.agent.close();
  }

  /** How a builder's payload travels in a request body to the coordinator: as text over HTTP. */
  payload(p: EncodedPayload): unknown {
    return payloadText(p);
  }

  /**
   * A call the SDK makes to a branch itself (TCC try, XA phase 1, the msg check) with a builder's
   * payload, over HTTP (GrpcTransport calls a `host:port/pkg.Service/Method` branch over gRPC).
   * The answer is classified as dtm classifies branch answers (docs/protocol/branch-calls.md §4):
   * resolves to the body's bytes on SUCCESS, throws Failure / Ongoing / DtmError otherwise.
   */
  async callBranch(
    method: 'GET' | 'POST',
    url: string,
    query: Record<string, string>,
    payload: EncodedPayload | undefined,
    headers: Record<string, string> = {},
  ): Promise<Buffer> {
    if (!isHttpUrl(url)) {
      throw new TypeError(`branch URL '${url}' is not http(s)://: a gRPC branch (host:port/package.Service/Method) needs a grpc:// client`);
    }
    const a = await this.exchange(method, withQuery(url, query), payload === undefined ? undefined : payloadText(payload), headers);
    const err = errorOfAnswer(a.status, a.body.toString('utf8'), `${method} ${url}`);
    if (err) throw err;
    return a.body;
  }
}

function messageOf(text: string): string {
  try {
    const o = JSON.parse(text) as { message?: unknown };
    if (typeof o.message === 'string') return o.message;
  } catch {
    // plain text
  }
  return text.trim();
}
