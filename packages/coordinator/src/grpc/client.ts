// A lean unary gRPC client on node:http2 for branch calls (docs/protocol/grpc-api.md §6.2-§6.3).
// A channel is one HTTP/2 connection to one address; a call is one stream: HEADERS (`:path`
// /package.Service/Method, content-type application/grpc, te: trailers, grpc-timeout, metadata),
// the message as one length-prefixed frame, then the status from the trailers or from a
// trailers-only answer. The reply message is never decoded, only its length prefix is read (the
// size limit). grpc-js's Client spent about twice the CPU per call on the same exchange
// (docs/benchmarks.md, "gRPC branch calls"). Statuses the client itself produces use grpc-js's
// wording (the attempt log read the same before this client), and the HTTP-to-gRPC mapping of
// the gRPC spec for answers that are not gRPC.
import http2 from 'node:http2';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { EgressRefusedError, type EgressPolicy } from '@dtx/config';
import { GrpcCode } from '../calls/classify.ts';
import { policyLookup } from '../calls/egress-lookup.ts';
import { TargetError } from './target.ts';

/** Where a channel connects: a TCP host and port, or a unix socket. */
export type Endpoint = { host: string; port: number } | { path: string };

/** A dial address as grpc-js names it (gRPC's naming doc), resolved to what to connect to. */
export interface DialAddress {
  endpoints: Endpoint[];
  /** The `:authority` of every call. */
  authority: string;
  /** What a failed name resolution names: `dns:host:port` as grpc-js said it. */
  label: string;
}

/** grpc-js's default port of a target without one. */
const DEFAULT_PORT = 443;

function hostPort(text: string, target: string): { host: string; port: number } {
  let host = text;
  let port = String(DEFAULT_PORT);
  const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (v6) {
    host = v6[1] ?? '';
    port = v6[2] ?? port;
  } else if (text.indexOf(':') === text.lastIndexOf(':') && text.includes(':')) {
    host = text.slice(0, text.indexOf(':'));
    port = text.slice(text.indexOf(':') + 1);
  }
  if (!host || !/^\d{1,5}$/.test(port) || Number(port) > 65535) throw new TargetError(`bad gRPC address '${target}'`);
  return { host, port: Number(port) };
}

const bracket = (host: string) => (host.includes(':') ? `[${host}]` : host);

/**
 * `host:port`, `dns:[//authority/]host[:port]`, `ipv4:a:p,b:p`, `ipv6:[a]:p,...`, `unix:path`,
 * `unix:///absolute/path`, `unix-abstract:name`: grpc-js's schemes, parsed as grpc-js parses them
 * (any other text is a `dns:` target).
 */
export function parseDialAddress(target: string): DialAddress {
  const m = /^(?:([A-Za-z0-9+.-]+):)?(?:\/\/([^/]*)\/)?(.+)$/.exec(target);
  const scheme = (m?.[1] ?? '').toLowerCase();
  const authority = m?.[2];
  const path = m?.[3] ?? '';
  if (scheme === 'unix') {
    const p = authority === '' ? `/${path}` : path;
    return { endpoints: [{ path: p }], authority: 'localhost', label: `unix:${p}` };
  }
  if (scheme === 'unix-abstract') return { endpoints: [{ path: `\0${path}` }], authority: 'localhost', label: target };
  if (scheme === 'ipv4' || scheme === 'ipv6') {
    const endpoints = path.split(',').map((a) => hostPort(a, target));
    const first = endpoints[0] as { host: string; port: number };
    return { endpoints, authority: `${bracket(first.host)}:${first.port}`, label: target };
  }
  const text = scheme === 'dns' ? path : target;
  const hp = hostPort(text, target);
  return { endpoints: [hp], authority: `${bracket(hp.host)}:${hp.port}`, label: `dns:${text}` };
}

/** The answer of one call: a gRPC status code and its message. */
export type Done = (code: number, details: string) => void;

export interface ChannelOptions {
  maxMessageBytes: number;
  /** BranchCallPolicy, checked on every address connected (absent: everything allowed). */
  policy?: EgressPolicy;
}

const { NGHTTP2_CANCEL, NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_INADEQUATE_SECURITY, NGHTTP2_INTERNAL_ERROR, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } =
  http2.constants;

/** grpc-js's reconnect backoff as the coordinator configured it (200 ms, doubling, at most 2 s). */
const INITIAL_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 2000;
/** grpc-js's minimum connect timeout. */
const CONNECT_TIMEOUT_MS = 20_000;
/** Client stream ids are odd and below 2^31: a session is replaced before it runs out. */
const STREAMS_PER_SESSION = 2 ** 30 - 1;

/** gRPC's "HTTP to gRPC Status Code Mapping", for answers without grpc-status (grpc-js's wording). */
function httpStatusCode(status: number): number {
  switch (status) {
    case 400:
      return GrpcCode.Internal;
    case 401:
      return 16; // Unauthenticated
    case 403:
      return 7; // PermissionDenied
    case 404:
      return GrpcCode.Unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcCode.Unavailable;
    default:
      return GrpcCode.Unknown;
  }
}

/** grpc-timeout: at most 8 digits and a unit, rounded up (grpc-js's getDeadlineTimeoutString). */
function grpcTimeout(ms: number): string {
  if (ms < 1e8) return `${Math.ceil(ms)}m`;
  if (ms < 1e11) return `${Math.ceil(ms / 1000)}S`;
  return `${Math.ceil(ms / 60_000)}M`;
}

/** grpc-message is percent-encoded UTF-8; text that does not decode is kept as it came. */
function decodeMessage(v: string | string[] | undefined): string {
  const s = Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const kCall = Symbol('grpcCall');
type CallStream = http2.ClientHttp2Stream & { [kCall]: UnaryCall };

/** One call: its state lives here, the stream's listeners are shared functions reading it. */
class UnaryCall {
  stream: CallStream | null = null;
  /** The session the stream is on (a stream forgets it when it closes). */
  session: http2.ClientHttp2Session | null = null;
  finished = false;
  /** Transparent retries (a stream the server refused before reading it). */
  retried = false;
  timer: NodeJS.Timeout | null = null;
  httpStatus = 0;
  grpcContentType = false;
  contentType = '';
  gotResponse = false;
  messages = 0;
  /** Length-prefix bytes read of the current message (0-5) and its length so far. */
  prefixRead = 0;
  length = 0;
  /** Message bytes still to skip. */
  left = 0;
  remote = '';

  constructor(
    readonly channel: GrpcChannel,
    readonly headers: http2.OutgoingHttpHeaders,
    readonly message: Buffer,
    readonly deadline: number,
    readonly timeoutMs: number,
    readonly done: Done,
  ) {}

  finish(code: number, details: string): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    this.channel.inFlight--;
    this.done(code, details);
  }

  /** Status from trailers (or a trailers-only answer). */
  trailers(h: http2.IncomingHttpHeaders): void {
    const s = h['grpc-status'];
    if (s !== undefined) {
      const code = Number(s);
      if (code === GrpcCode.OK && this.messages === 0) return this.finish(GrpcCode.Unimplemented, 'No message received');
      return this.finish(Number.isInteger(code) ? code : GrpcCode.Unknown, decodeMessage(h['grpc-message']));
    }
    this.withoutStatus();
  }

  /** The stream ended without grpc-status. */
  withoutStatus(): void {
    if (this.httpStatus !== 200 && this.httpStatus !== 0) {
      return this.finish(httpStatusCode(this.httpStatus), `Received HTTP status code ${this.httpStatus}`);
    }
    if (this.gotResponse && !this.grpcContentType) {
      // grpc-go's code and wording (grpc-js would read the body as gRPC frames).
      return this.finish(GrpcCode.Unknown, `transport: received unexpected content-type ${JSON.stringify(this.contentType)}`);
    }
    this.finish(GrpcCode.Internal, 'Received RST_STREAM with code 0 (Call ended without gRPC status)');
  }

  /** Reads length prefixes of the reply's messages to enforce the size limit; skips the bodies. */
  data(chunk: Buffer): void {
    const max = this.channel.opts.maxMessageBytes;
    for (let i = 0; i < chunk.length;) {
      if (this.left > 0) {
        const n = Math.min(this.left, chunk.length - i);
        this.left -= n;
        i += n;
        continue;
      }
      const b = chunk[i++] as number;
      if (this.prefixRead++ === 0) {
        this.length = 0; // the compressed-flag byte
        continue;
      }
      this.length = this.length * 256 + b;
      if (this.prefixRead < 5) continue;
      this.prefixRead = 0;
      this.messages++;
      if (this.length > max) {
        this.stream?.close(NGHTTP2_CANCEL);
        return this.finish(8, `Received message larger than max (${this.length} vs ${max})`); // ResourceExhausted
      }
      this.left = this.length;
    }
  }
}

function onResponse(this: CallStream, h: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader, flags: number): void {
  const c = this[kCall];
  c.gotResponse = true;
  c.httpStatus = h[':status'] ?? 0;
  const ct = h['content-type'] ?? '';
  c.contentType = ct;
  c.grpcContentType = ct.startsWith('application/grpc');
  // Trailers-only: the status is in these headers.
  if (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) c.trailers(h);
}

function onTrailers(this: CallStream, h: http2.IncomingHttpHeaders): void {
  this[kCall].trailers(h);
}

function onData(this: CallStream, chunk: Buffer): void {
  const c = this[kCall];
  if (c.finished || c.httpStatus !== 200 || !c.grpcContentType) return;
  c.data(chunk);
}

function onStreamError(): void {
  // The stream's end is read from 'close' (its RST_STREAM code, or the session's state).
}

/** The stream closed: the status if none came (grpc-js's reading of RST_STREAM codes). */
function onStreamClose(this: CallStream): void {
  const c = this[kCall];
  if (c.finished) return;
  const code = this.rstCode ?? NGHTTP2_NO_ERROR;
  const dropped = c.session?.destroyed === true;
  if (code === NGHTTP2_REFUSED_STREAM) {
    // Not processed by the server (a GOAWAY's last stream id was below it): safe to send again.
    if (!c.retried && !c.gotResponse) {
      c.retried = true;
      c.stream = null;
      c.channel.start(c);
      return;
    }
    return c.finish(GrpcCode.Unavailable, 'Stream refused by server');
  }
  if (dropped && (code === NGHTTP2_NO_ERROR || code === NGHTTP2_CANCEL || code === NGHTTP2_INTERNAL_ERROR)) {
    return c.finish(GrpcCode.Unavailable, 'Connection dropped');
  }
  switch (code) {
    case NGHTTP2_NO_ERROR:
      return c.withoutStatus();
    case NGHTTP2_CANCEL:
      return c.finish(1, 'Call cancelled'); // Canceled
    case NGHTTP2_ENHANCE_YOUR_CALM:
      return c.finish(8, 'Bandwidth exhausted or memory limit exceeded'); // ResourceExhausted
    case NGHTTP2_INADEQUATE_SECURITY:
      return c.finish(7, 'Protocol not secure enough'); // PermissionDenied
    case NGHTTP2_INTERNAL_ERROR:
      return c.finish(GrpcCode.Internal, `Received RST_STREAM with code ${code} (Internal server error)`);
    default:
      return c.finish(GrpcCode.Internal, `Received RST_STREAM with code ${code}`);
  }
}

function onDeadline(c: UnaryCall): void {
  c.timer = null;
  c.stream?.close(NGHTTP2_CANCEL);
  const remote = c.remote ? `,remote_addr=${c.remote}` : '';
  const elapsed = (Date.now() - c.deadline + c.timeoutMs) / 1000;
  c.finish(GrpcCode.DeadlineExceeded, `Deadline exceeded after ${elapsed.toFixed(3)}s${remote}`);
}

/** Connection failures as grpc-js reported them (UNAVAILABLE). */
function connectFailure(err: Error, address: DialAddress): string {
  if (err instanceof EgressRefusedError) return err.message;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL' || code === 'EAI_NONAME') {
    return `Name resolution failed for target ${address.label}`;
  }
  return `No connection established. Last error: ${String(err)}. Resolution note: `;
}

/**
 * One HTTP/2 connection to one address, opened on first use, opened again after it is lost or the
 * server sent GOAWAY (in-flight streams finish on the old one). While a connection attempt is
 * failing, calls fail at once with its error until the backoff allows the next attempt (grpc-js's
 * TRANSIENT_FAILURE without waitForReady).
 */
export class GrpcChannel {
  private session: http2.ClientHttp2Session | null = null;
  private connecting: http2.ClientHttp2Session | null = null;
  private waiting: UnaryCall[] = [];
  private streams = 0;
  private remote = '';
  private lastFailure = '';
  private retryAt = 0;
  private backoffMs = INITIAL_BACKOFF_MS;
  /** Which endpoint the next attempt uses (ipv4:/ipv6: lists: the next after a failure). */
  private next = 0;
  private closed = false;
  inFlight = 0;
  usedAt = Date.now();

  constructor(
    readonly address: DialAddress,
    readonly opts: ChannelOptions,
  ) {}

  /** The last connection attempt failed and none has succeeded since (round-robin skips it). */
  get failing(): boolean {
    return this.lastFailure !== '';
  }

  /** Sends one unary call; `done` is called once, with the status. */
  unary(headers: http2.OutgoingHttpHeaders, message: Buffer, timeoutMs: number, done: Done): void {
    this.usedAt = Date.now();
    this.inFlight++;
    const c = new UnaryCall(this, headers, message, this.usedAt + timeoutMs, timeoutMs, done);
    c.timer = setTimeout(onDeadline, timeoutMs, c);
    this.start(c);
  }

  /** Puts a call on the live connection, or queues it for one. */
  start(c: UnaryCall): void {
    if (this.closed) return c.finish(GrpcCode.Unavailable, 'Channel has been shut down');
    const s = this.session;
    if (s !== null && !s.closed && !s.destroyed && this.streams < STREAMS_PER_SESSION) return this.request(s, c);
    if (s !== null) this.retire(s);
    if (this.connecting === null && this.lastFailure && Date.now() < this.retryAt) {
      return c.finish(GrpcCode.Unavailable, this.lastFailure);
    }
    this.waiting.push(c);
    if (this.connecting === null) this.connect();
  }

  private request(s: http2.ClientHttp2Session, c: UnaryCall): void {
    if (c.finished) return;
    const h = c.headers;
    h[':authority'] = this.address.authority;
    h['grpc-timeout'] = grpcTimeout(Math.max(1, c.deadline - Date.now()));
    let stream: CallStream;
    try {
      stream = s.request(h) as CallStream;
    } catch (err) {
      // The session was closing (a GOAWAY not yet seen here): once more on a new connection.
      if ((s.closed || s.destroyed) && !c.retried) {
        c.retried = true;
        this.retire(s);
        return this.start(c);
      }
      return c.finish(GrpcCode.Internal, (err as Error).message);
    }
    this.streams++;
    c.stream = stream;
    c.session = s;
    c.remote = this.remote;
    stream[kCall] = c;
    stream.on('response', onResponse);
    stream.on('trailers', onTrailers);
    stream.on('data', onData);
    stream.on('error', onStreamError);
    stream.on('close', onStreamClose);
    const m = c.message;
    const frame = Buffer.allocUnsafe(5 + m.length);
    frame[0] = 0;
    frame.writeUInt32BE(m.length, 1);
    m.copy(frame, 5);
    stream.end(frame);
  }

  /** No new streams on `s`; the ones on it finish. */
  private retire(s: http2.ClientHttp2Session): void {
    if (this.session === s) this.session = null;
    if (!s.closed && !s.destroyed) s.close();
  }

  private connect(): void {
    const address = this.address;
    const ep = address.endpoints[this.next % address.endpoints.length] as Endpoint;
    const policy = this.opts.policy && !this.opts.policy.open ? this.opts.policy : undefined;
    const what = 'path' in ep ? ep.path : `${bracket(ep.host)}:${ep.port}`;
    // A literal address is checked here; a host name's addresses in the connection's lookup.
    const why = policy && !('path' in ep) && isIP(ep.host) ? policy.refuseAddress(ep.host, ep.host) : undefined;
    if (why) return this.failed(new EgressRefusedError(what, why));
    let socket: Socket | null = null;
    const session = http2.connect(`http://${address.authority}`, {
      // grpc-js's session memory (nghttp2's default of 10 MB refuses streams under load).
      maxSessionMemory: Number.MAX_SAFE_INTEGER,
      settings: { enablePush: false },
      createConnection: (): Socket =>
        (socket =
          'path' in ep
            ? netConnect({ path: ep.path })
            : netConnect({ host: ep.host, port: ep.port, noDelay: true, lookup: policy ? policyLookup(policy, () => what) : undefined })),
    });
    session.unref();
    this.connecting = session;
    let lastError: Error | null = null;
    const timeout = setTimeout(() => session.destroy(new Error('Connection timed out')), CONNECT_TIMEOUT_MS);
    timeout.unref();
    session.once('connect', () => {
      clearTimeout(timeout);
      if (this.connecting !== session) return;
      this.connecting = null;
      this.session = session;
      this.streams = 0;
      this.lastFailure = '';
      this.backoffMs = INITIAL_BACKOFF_MS;
      const ip = socket?.remoteAddress;
      this.remote = 'path' in ep ? ep.path : `${ip ? bracket(ip) : ep.host}:${socket?.remotePort ?? ep.port}`;
      const waiting = this.waiting;
      this.waiting = [];
      for (const c of waiting) this.request(session, c);
    });
    session.on('error', (err: Error) => {
      lastError ??= err;
    });
    session.on('goaway', () => {
      if (this.session === session) this.session = null;
    });
    session.once('close', () => {
      clearTimeout(timeout);
      if (this.session === session) this.session = null;
      if (this.connecting !== session) return;
      this.failed(lastError ?? new Error('Connection closed'));
    });
  }

  /** A connection attempt failed: calls waiting for it fail, later ones at once until the backoff ends. */
  private failed(err: Error): void {
    this.connecting = null;
    this.next++;
    this.lastFailure = connectFailure(err, this.address);
    this.retryAt = Date.now() + this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    const waiting = this.waiting;
    this.waiting = [];
    for (const c of waiting) c.finish(GrpcCode.Unavailable, this.lastFailure);
  }

  /** Closes the connection (in-flight calls finish); calls not yet sent fail. */
  close(): void {
    this.closed = true;
    const waiting = this.waiting;
    this.waiting = [];
    for (const c of waiting) c.finish(GrpcCode.Unavailable, 'Channel has been shut down');
    this.connecting?.destroy();
    if (this.session) this.retire(this.session);
  }
}
