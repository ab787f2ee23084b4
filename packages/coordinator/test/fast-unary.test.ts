// The lean unary path (grpc/fast-unary.ts) against grpc-js itself: one grpc.Server on loopback
// serves the same method both ways, a raw HTTP/2 client sends each case once to the fast path
// (content-type application/grpc) and once to grpc-js (application/grpc+x, which the router leaves
// to grpc-js), and the two answers must be the same on the wire: status, headers, message,
// trailers. Compressed requests and unknown methods must reach grpc-js.
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { GrpcFailure, grpcJsUnary, installFastUnary, type CallContext, type FastRoute } from '@dtx/coordinator';

const PATH = '/t.T/Echo';
const MAX = 64;

/** Request text → what the method does. */
async function behaviour(req: Buffer, ctx: CallContext): Promise<Buffer> {
  const text = req.toString();
  if (text === 'fail') throw new GrpcFailure(9, 'précondition échouée 100%', { 'dtx-refused': 'store_unavailable' });
  if (text === 'bug') throw new Error('boom');
  if (text === 'hang') return new Promise<Buffer>(() => {});
  const deadline = ctx.deadline === undefined ? 'none' : ctx.deadline > Date.now() ? 'future' : 'past';
  return Buffer.from(`reply:${text}|auth=${ctx.authorization ?? ''}|peer=${ctx.peer()}|deadline=${deadline}`);
}

const route: FastRoute = {
  deserialize: (b) => {
    if (b.toString() === 'undecodable') throw new Error('bad bytes');
    return Buffer.from(b);
  },
  serialize: (v) => v as Buffer,
  run: (req, ctx) => behaviour(req as Buffer, ctx),
};

interface Answer {
  headers: Record<string, unknown>;
  data: string;
  trailers: Record<string, unknown>;
}

function frame(body: Buffer): Buffer {
  const f = Buffer.alloc(5 + body.length);
  f.writeUInt32BE(body.length, 1);
  body.copy(f, 5);
  return f;
}

describe('the fast unary path answers as grpc-js does', () => {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': MAX });
  let fast = 0;
  let viaGrpcJs = 0;
  let port = 0;
  let session: http2.ClientHttp2Session;

  beforeAll(async () => {
    const id = (b: Buffer) => b;
    server.addService(
      {
        Echo: {
          path: PATH,
          requestStream: false,
          responseStream: false,
          requestSerialize: id,
          requestDeserialize: route.deserialize,
          responseSerialize: route.serialize,
          responseDeserialize: id,
        },
      },
      { Echo: grpcJsUnary((r, c) => (viaGrpcJs++, route.run(r, c))) },
    );
    installFastUnary(server, new Map([[PATH, { ...route, run: (r: unknown, c: CallContext) => (fast++, route.run(r, c)) }]]), MAX);
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    session = http2.connect(`http://127.0.0.1:${port}`);
  });
  afterAll(() => {
    session?.close();
    server.forceShutdown();
  });

  /** One request on the raw session; headers without `date`. */
  function send(contentType: string, body: Buffer, extra: http2.OutgoingHttpHeaders = {}, path = PATH): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const s = session.request({ ':method': 'POST', ':path': path, 'content-type': contentType, te: 'trailers', ...extra });
      const a: Answer = { headers: {}, data: '', trailers: {} };
      const chunks: Buffer[] = [];
      s.on('response', (h) => {
        const { date: _date, ...rest } = h;
        a.headers = rest;
      });
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('trailers', (t: http2.IncomingHttpHeaders) => {
        a.trailers = { ...t };
      });
      s.on('error', reject);
      s.on('close', () => {
        a.data = Buffer.concat(chunks).toString('latin1');
        resolve(a);
      });
      s.end(body);
    });
  }

  /**
   * The case sent both ways: the fast path's answer, after checking that grpc-js's is the same, and
   * how often each path ran the method.
   */
  async function both(body: Buffer, extra: http2.OutgoingHttpHeaders = {}): Promise<Answer & { ran: number[] }> {
    const [f0, g0] = [fast, viaGrpcJs];
    const viaFast = await send('application/grpc', body, extra);
    const viaJs = await send('application/grpc+x', body, extra);
    const normalize = (a: Answer) => ({ ...a, data: a.data.replace(/peer=127\.0\.0\.1:\d+/, 'peer=127.0.0.1:N') });
    expect(normalize(viaFast)).toEqual(normalize(viaJs));
    return { ...viaFast, ran: [fast - f0, viaGrpcJs - g0] };
  }

  it('answers a call: the same headers, message and trailers; authorization, peer and deadline reach the method', async () => {
    const a = await both(frame(Buffer.from('hello')), { authorization: 'Bearer t', 'grpc-timeout': '5S' });
    expect(a.headers).toMatchObject({ ':status': 200, 'content-type': 'application/grpc+proto', 'grpc-encoding': 'identity' });
    expect(a.data.slice(5)).toMatch(/^reply:hello\|auth=Bearer t\|peer=127\.0\.0\.1:\d+\|deadline=future$/);
    expect(a.trailers).toMatchObject({ 'grpc-status': '0', 'grpc-message': 'OK' });
    expect(a.ran).toEqual([1, 1]);
  });

  it.each([
    ['a failure with metadata', frame(Buffer.from('fail')), {}, '9', 'précondition échouée 100%'],
    ['a thrown error', frame(Buffer.from('bug')), {}, '2', 'boom'],
    ['a deadline that passes', frame(Buffer.from('hang')), { 'grpc-timeout': '50m' }, '4', 'Deadline exceeded'],
    ['a malformed grpc-timeout', frame(Buffer.from('x')), { 'grpc-timeout': 'soon' }, '13', 'Invalid grpc-timeout value "soon"'],
    ['an over-size message', frame(Buffer.alloc(100)), {}, '8', `Received message larger than max (100 vs ${MAX})`],
    ['a message that does not decode', frame(Buffer.from('undecodable')), {}, '13', 'Error deserializing request'],
    ['no message', Buffer.alloc(0), {}, '12', `Received no request message for server streaming method ${PATH}`],
    ['a cut message', frame(Buffer.from('hello')).subarray(0, 7), {}, '12', `Received no request message for server streaming method ${PATH}`],
    [
      'two messages',
      Buffer.concat([frame(Buffer.from('a')), frame(Buffer.from('b'))]),
      {},
      '12',
      `Received a second request message for server streaming method ${PATH}`,
    ],
  ])('answers %s with the same trailers-only status', async (_label, body, extra, status, message) => {
    const a = await both(body, extra);
    expect(a.headers['grpc-status']).toBe(status);
    expect(decodeURIComponent(String(a.headers['grpc-message']))).toBe(message);
    expect(a.data).toBe('');
    if (status === '9') expect(a.headers['dtx-refused']).toBe('store_unavailable');
  });

  it('leaves compressed requests and unknown methods to grpc-js, and keeps serving', async () => {
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.default_compression_algorithm': 2 });
    const [f0, g0] = [fast, viaGrpcJs];
    const reply = await new Promise<Buffer>((resolve, reject) =>
      client.makeUnaryRequest(
        PATH,
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from('zipped'),
        (err, r) => (err || !r ? reject(err ?? new Error('no reply')) : resolve(r)),
      ),
    );
    client.close();
    expect(reply.toString()).toMatch(/^reply:zipped\|/);
    expect([fast - f0, viaGrpcJs - g0]).toEqual([0, 1]);
    const unknown = await send('application/grpc', frame(Buffer.from('x')), {}, '/t.T/Nope');
    expect(unknown.headers['grpc-status']).toBe('12');
    const again = await send('application/grpc', frame(Buffer.from('still')));
    expect(again.trailers['grpc-status']).toBe('0');
  });
});
