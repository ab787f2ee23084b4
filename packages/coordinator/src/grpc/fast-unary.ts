// A lean path for dtmgimp.Dtm's unary calls (docs/protocol/grpc-api.md §1-§4): their streams are
// answered straight from node:http2; the rest (server reflection, compressed requests, content
// types other than application/grpc[+proto], unknown methods) goes to grpc-js's own stream
// handler, on the same server, sessions and port. Per call, grpc-js builds an intercepting call, a
// metadata object, a decoder and a listener chain; this path saved 0.03-0.06 ms of coordinator CPU
// per saga over gRPC (docs/benchmarks.md, "A lean unary path for dtmgimp.Dtm").
//
// The wire behaviour is grpc-js's, written out: response headers `content-type:
// application/grpc+proto` with grpc-js's encoding headers, the message, then trailers
// `grpc-status`/`grpc-message` (`encodeURI`, as grpc-js); a failure as a trailers-only answer;
// grpc-timeout read with grpc-js's pattern and enforced with its DEADLINE_EXCEEDED; its size,
// framing and decoding errors with its codes and words.
//
// The hook: grpc-js (pinned, package.json) attaches its stream handler in `_setupHandlers`, once
// per HTTP/2 server it creates. `installFastUnary` wraps that method on one grpc.Server instance
// and puts a router in front of the handler. If a grpc-js release renames it, `installFastUnary`
// throws when the server is built (every gRPC test then fails); if it stops calling it,
// packages/coordinator/test/fast-unary.test.ts fails (it counts which path ran each call).
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';

/** A failed call: gRPC status, message, and metadata for the trailers. */
export class GrpcFailure extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
    readonly metadata?: Record<string, string>,
  ) {
    super(details);
  }
}

/** What a method reads from a call besides its message. */
export interface CallContext {
  /** The `authorization` metadata, if any. */
  authorization: string | undefined;
  /** The deadline as Date.now() ms, undefined without grpc-timeout. */
  deadline: number | undefined;
  /** `ip:port` of the caller, as grpc-js's getPeer() says it. */
  peer(): string;
}

/** One method: its message codecs (from proto-loader) and what answers it. */
export interface FastRoute {
  deserialize: (bytes: Buffer) => unknown;
  serialize: (value: unknown) => Buffer;
  /** Resolves with the reply message; rejects with a GrpcFailure. */
  run: (request: unknown, ctx: CallContext) => Promise<unknown>;
}

/** A call's deadline as Date.now() ms, undefined when it has none. */
function deadlineMs(d: grpc.Deadline): number | undefined {
  const ms = d instanceof Date ? d.getTime() : d;
  return Number.isFinite(ms) ? ms : undefined;
}

/** A method as grpc-js calls it: the same answer as the fast path's, through grpc-js's call objects. */
export function grpcJsUnary(run: (request: unknown, ctx: CallContext) => Promise<unknown>): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    const ctx: CallContext = {
      authorization: call.metadata.get('authorization')[0]?.toString(),
      deadline: deadlineMs(call.getDeadline()),
      peer: () => call.getPeer(),
    };
    run(call.request, ctx).then(
      (res) => callback(null, res),
      (err: unknown) => {
        const f = asFailure(err);
        const metadata = new grpc.Metadata();
        if (f.metadata) for (const [k, v] of Object.entries(f.metadata)) metadata.set(k, v);
        callback({ code: f.code, details: f.details, metadata });
      },
    );
  };
}

const OK = 0;
const UNKNOWN = 2;
const DEADLINE_EXCEEDED = 4;
const RESOURCE_EXHAUSTED = 8;
const UNIMPLEMENTED = 12;
const INTERNAL = 13;

/** grpc-js's pattern and units for grpc-timeout (server-interceptors.ts). */
const TIMEOUT = /(\d{1,8})\s*([HMSmun])/;
const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

const RESPONSE_HEADERS = {
  ':status': 200,
  'content-type': 'application/grpc+proto',
  'grpc-accept-encoding': 'identity,deflate,gzip',
  'grpc-encoding': 'identity',
};
const RESPONSE_OPTIONS = { waitForTrailers: true };
const OK_TRAILERS = { 'grpc-status': String(OK), 'grpc-message': 'OK' };

type StreamListener = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, raw: string[]) => void;

/**
 * Serves `routes` (keyed by `/package.Service/Method`) on every HTTP/2 server `server` binds from
 * now on. Call before bindAsync.
 */
export function installFastUnary(server: grpc.Server, routes: ReadonlyMap<string, FastRoute>, maxReceiveBytes: number): void {
  const s = server as unknown as { _setupHandlers?: (h2: http2.Http2Server | null, interceptors: unknown) => void };
  const setup = s._setupHandlers;
  if (typeof setup !== 'function') throw new Error('@grpc/grpc-js has no Server._setupHandlers: the fast unary path needs the pinned version');
  s._setupHandlers = function (this: unknown, h2, interceptors) {
    setup.call(this, h2, interceptors);
    if (h2 === null) return;
    const attached = h2.listeners('stream') as StreamListener[];
    const grpcJs = attached[attached.length - 1];
    if (attached.length !== 1 || grpcJs === undefined) throw new Error(`@grpc/grpc-js attached ${attached.length} stream handlers, expected 1`);
    h2.removeListener('stream', grpcJs);
    h2.on('stream', function (this: http2.Http2Server, stream, headers, flags, raw) {
      const path = headers[':path'] ?? '';
      const route = routes.get(path);
      if (route === undefined || !plain(headers)) return grpcJs.call(this, stream, headers, flags, raw);
      new FastCall(stream, path, headers, route, maxReceiveBytes);
    } as StreamListener);
  };
}

/** A gRPC request with identity encoding: what the fast path reads (grpc-js decompresses the others). */
function plain(h: http2.IncomingHttpHeaders): boolean {
  const ct = h['content-type'];
  if (ct !== 'application/grpc' && ct !== 'application/grpc+proto') return false;
  const enc = h['grpc-encoding'];
  return enc === undefined || enc === 'identity';
}

function noop(): void {}

function onData(this: http2.ServerHttp2Stream & { [kCall]: FastCall }, chunk: Buffer): void {
  this[kCall].data(chunk);
}
function onEnd(this: http2.ServerHttp2Stream & { [kCall]: FastCall }): void {
  this[kCall].end();
}
function onWantTrailers(this: http2.ServerHttp2Stream): void {
  this.sendTrailers(OK_TRAILERS);
}
function onDeadline(c: FastCall): void {
  c.timer = null;
  c.fail(DEADLINE_EXCEEDED, 'Deadline exceeded');
}

const kCall = Symbol('fastCall');

class FastCall implements CallContext {
  authorization: string | undefined;
  deadline: number | undefined;
  timer: NodeJS.Timeout | null = null;
  private chunks: Buffer[] = [];
  private size = 0;
  private checked = false;
  private done = false;

  constructor(
    readonly stream: http2.ServerHttp2Stream,
    readonly path: string,
    headers: http2.IncomingHttpHeaders,
    readonly route: FastRoute,
    readonly max: number,
  ) {
    // A header node:http2 gives as a string (a repeated one joined with ", ").
    this.authorization = headers.authorization;
    const s = stream as http2.ServerHttp2Stream & { [kCall]: FastCall };
    s[kCall] = this;
    stream.on('error', noop);
    const t = headers['grpc-timeout'];
    if (t !== undefined) {
      const m = TIMEOUT.exec(String(t));
      if (m === null) {
        this.fail(INTERNAL, `Invalid grpc-timeout value "${String(t)}"`);
        return;
      }
      const ms = (Number(m[1]) * (UNIT_MS[m[2] as string] as number)) | 0;
      this.deadline = Date.now() + ms;
      this.timer = setTimeout(onDeadline, ms, this);
    }
    stream.on('data', onData);
    stream.on('end', onEnd);
  }

  /** grpc-js's getPeer(), word for word (an IPv6 address without brackets). */
  peer(): string {
    const sock = this.stream.session?.socket;
    if (!sock?.remoteAddress) return 'unknown';
    return sock.remotePort ? `${sock.remoteAddress}:${sock.remotePort}` : sock.remoteAddress;
  }

  data(chunk: Buffer): void {
    if (this.done) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    // The first message's length is known once its 5-byte prefix is in; checked once.
    if (!this.checked && this.size >= 5) {
      this.checked = true;
      const len = this.body().readUInt32BE(1);
      if (len > this.max) this.fail(RESOURCE_EXHAUSTED, `Received message larger than max (${len} vs ${this.max})`);
    }
  }

  /** What was read so far, as one buffer. */
  private body(): Buffer {
    const c = this.chunks;
    if (c.length !== 1) this.chunks = [Buffer.concat(c, this.size)];
    return this.chunks[0] as Buffer;
  }

  end(): void {
    if (this.done) return;
    const body = this.body();
    // Framing as grpc-js's decoder reads it: a partial message is no message. The flag byte is not
    // looked at: with identity encoding grpc-js reads a message flagged compressed as it is.
    const len = body.length >= 5 ? body.readUInt32BE(1) : 0;
    if (body.length < 5 || body.length < 5 + len) {
      return this.fail(UNIMPLEMENTED, `Received no request message for server streaming method ${this.path}`);
    }
    if (body.length > 5 + len) {
      return this.fail(UNIMPLEMENTED, `Received a second request message for server streaming method ${this.path}`);
    }
    let request: unknown;
    try {
      request = this.route.deserialize(body.subarray(5));
    } catch {
      return this.fail(INTERNAL, 'Error deserializing request');
    }
    this.route.run(request, this).then(
      (reply) => this.reply(reply),
      (err: unknown) => {
        const f = asFailure(err);
        this.fail(f.code, f.details, f.metadata);
      },
    );
  }

  private finish(): boolean {
    if (this.done) return false;
    this.done = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.chunks = [];
    return !this.stream.destroyed && !this.stream.closed;
  }

  reply(value: unknown): void {
    if (!this.finish()) return;
    let bytes: Buffer;
    try {
      bytes = this.route.serialize(value);
    } catch (err) {
      this.done = false;
      return this.fail(INTERNAL, `Error serializing response: ${(err as Error).message}`);
    }
    const frame = Buffer.allocUnsafe(5 + bytes.length);
    frame[0] = 0;
    frame.writeUInt32BE(bytes.length, 1);
    bytes.copy(frame, 5);
    const s = this.stream;
    s.once('wantTrailers', onWantTrailers);
    s.respond(RESPONSE_HEADERS, RESPONSE_OPTIONS);
    s.end(frame);
  }

  fail(code: number, details: string, metadata?: Record<string, string>): void {
    if (!this.finish()) return;
    const h: http2.OutgoingHttpHeaders = {
      ':status': 200,
      'content-type': 'application/grpc+proto',
      'grpc-status': String(code),
      'grpc-message': encodeURI(details),
    };
    if (metadata) for (const k in metadata) h[k] = metadata[k];
    this.stream.respond(h, { endStream: true });
  }
}

/** A rejection as the status to send: a GrpcFailure as it is, anything else (a bug) as UNKNOWN. */
function asFailure(e: unknown): GrpcFailure {
  return e instanceof GrpcFailure ? e : new GrpcFailure(UNKNOWN, e instanceof Error ? e.message : String(e));
}
