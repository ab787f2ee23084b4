// The gRPC branch transport's own HTTP/2 client (packages/coordinator/src/grpc/client.ts) against
// real loopback servers: grpc-js servers for what a branch service answers, and bare node:http2
// servers for answers grpc-js never gives (trailers-only by hand, non-gRPC pages, refused streams,
// GOAWAY, a dropped connection). Each answer is checked as the attempt log records it.
import http2 from 'node:http2';
import { createServer, type Server as NetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EgressPolicy } from '@dtx/config';
import { GrpcTransport, parseDialAddress } from '@dtx/coordinator';
import { silentLogger, type BranchCall, type CallResult } from '@dtx/engine';
import { eventually } from './support/branches.ts';
import { nth } from './support/checked.ts';
import { GrpcBranchServer, grpc } from './support/grpc.ts';

const METHODS = ['/busi.Busi/Action', '/busi.Busi/Slow'];

function branchCall(url: string, over: Partial<BranchCall> = {}): BranchCall {
  return {
    gid: 'gc-1',
    transType: 'saga',
    branchId: '01',
    op: 'action',
    url,
    payload: Buffer.from([0x08, 0x2a, 0x12, 0x02, 0x68, 0x69]),
    protocol: 'grpc',
    post: true,
    headers: {},
    timeoutMs: 3000,
    ...over,
  };
}

/** A bare HTTP/2 server: `answer` handles each stream (by path), recording the headers it saw. */
class H2Server {
  readonly server = http2.createServer();
  readonly seen: http2.IncomingHttpHeaders[] = [];
  private readonly open = new Set<http2.ServerHttp2Session>();
  sessions = 0;
  port = 0;

  constructor(answer: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, n: number) => void) {
    this.server.on('session', (s) => {
      this.sessions++;
      this.open.add(s);
      s.on('close', () => this.open.delete(s));
    });
    this.server.on('sessionError', () => undefined);
    this.server.on('stream', (stream, headers) => {
      stream.on('error', () => undefined);
      this.seen.push(headers);
      // Read the request to its end, like a server would, before answering.
      stream.resume();
      stream.on('end', () => answer(stream, headers, this.seen.length));
    });
  }

  async start(listen: number | string = 0): Promise<this> {
    await new Promise<void>((r) => (typeof listen === 'string' ? this.server.listen(listen, r) : this.server.listen(listen, '127.0.0.1', r)));
    this.port = (this.server.address() as AddressInfo | null)?.port ?? 0;
    return this;
  }

  url(method: string): string {
    return `127.0.0.1:${this.port}${method}`;
  }

  /** Stops listening and cuts the connections clients keep open. */
  async stop(): Promise<void> {
    const closed = new Promise((r) => this.server.close(r));
    for (const s of this.open) s.destroy();
    await closed;
  }
}

/** An OK answer as grpc-js writes it: headers, an empty message, trailers. */
function answerOk(stream: http2.ServerHttp2Stream): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': '' }));
  stream.end(Buffer.from([0, 0, 0, 0, 0]));
}

const summary = (r: CallResult) => ({ outcome: r.outcome, grpcCode: r.grpcCode, message: r.message });
/** An error result as the attempt log records it: grpc-go's status text. */
const rpcError = (grpcCode: number, name: string, desc: string) => ({
  outcome: 'error',
  grpcCode,
  message: `rpc error: code = ${name} desc = ${desc}`,
});

describe('gRPC branch client', () => {
  const busi = new GrpcBranchServer(METHODS);
  const transports: GrpcTransport[] = [];
  /** A transport closed after the test. */
  const transport = (over: Partial<ConstructorParameters<typeof GrpcTransport>[0]> = {}) => {
    const t = new GrpcTransport({ driver: 'dtm-driver-gozero', logger: silentLogger, ...over });
    transports.push(t);
    return t;
  };

  beforeAll(async () => {
    await busi.start();
  });
  afterAll(() => busi.stop());
  afterEach(async () => {
    await Promise.all(transports.splice(0).map((t) => t.close()));
    busi.calls.length = 0;
    busi.on('/busi.Busi/Action', {});
  });

  it('sends the payload verbatim with dtm metadata, branch headers and a deadline; OK is success', async () => {
    const t = transport({ userAgent: 'dtx/test' });
    const r = await t.call(branchCall(busi.url('/busi.Busi/Action'), { headers: { 'X-Tenant': 'acme', 'x-trace': 'abc' }, timeoutMs: 2500 }));
    expect(summary(r)).toEqual({ outcome: 'success', grpcCode: 0, message: '' });
    const c = nth(busi.calls, 0);
    expect(c.method).toBe('/busi.Busi/Action');
    expect(c.body).toEqual(Buffer.from([0x08, 0x2a, 0x12, 0x02, 0x68, 0x69]));
    expect(c.metadata).toMatchObject({
      'dtm-gid': 'gc-1',
      'dtm-trans_type': 'saga',
      'dtm-branch_id': '01',
      'dtm-op': 'action',
      'dtm-dtm': '',
      'x-tenant': 'acme',
      'x-trace': 'abc',
    });
    expect(c.metadata['user-agent']).toMatch(/^dtx\/test/);

    // The deadline travels as grpc-timeout (a bare server shows the header itself).
    const h2 = await new H2Server((s) => answerOk(s)).start();
    try {
      await t.call(branchCall(h2.url('/busi.Busi/Action'), { timeoutMs: 2500 }));
      const timeout = String(nth(h2.seen, 0)['grpc-timeout']);
      expect(timeout).toMatch(/^\d+m$/);
      expect(Number(timeout.slice(0, -1))).toBeGreaterThan(2000);
      expect(Number(timeout.slice(0, -1))).toBeLessThanOrEqual(2500);
      expect(nth(h2.seen, 0)).toMatchObject({ te: 'trailers', 'content-type': 'application/grpc', ':method': 'POST', ':path': '/busi.Busi/Action' });
      expect(nth(h2.seen, 0)[':authority']).toBe(`127.0.0.1:${h2.port}`);
    } finally {
      await h2.stop();
    }
  });

  it('an empty payload is an empty message', async () => {
    const r = await transport().call(branchCall(busi.url('/busi.Busi/Action'), { payload: Buffer.alloc(0) }));
    expect(r.outcome).toBe('success');
    expect(nth(busi.calls, 0).body).toHaveLength(0);
  });

  it.each([
    [
      { code: grpc.status.ABORTED, details: 'no stock' },
      { outcome: 'failure', grpcCode: 10, message: 'no stock FAILURE' },
    ],
    [
      { code: grpc.status.ABORTED, details: 'ONGOING' },
      { outcome: 'ongoing', grpcCode: 10, message: 'ONGOING' },
    ],
    [
      { code: grpc.status.FAILED_PRECONDITION, details: 'wait' },
      { outcome: 'ongoing', grpcCode: 9, message: 'wait ONGOING' },
    ],
    [{ code: grpc.status.UNAVAILABLE, details: 'db down' }, rpcError(14, 'Unavailable', 'db down')],
    [{ code: grpc.status.INTERNAL, details: 'oops' }, rpcError(13, 'Internal', 'oops')],
    // grpc-message is percent-encoded on the wire
    [
      { code: grpc.status.ABORTED, details: 'no stock: 100% été\n2' },
      { outcome: 'failure', grpcCode: 10, message: 'no stock: 100% été\n2 FAILURE' },
    ],
  ])('reads %o as %o', async (reply, expected) => {
    busi.on('/busi.Busi/Action', reply);
    expect(summary(await transport().call(branchCall(busi.url('/busi.Busi/Action'))))).toEqual(expected);
  });

  it("a method the server does not have is Unimplemented, in grpc-js's words", async () => {
    const r = await transport().call(branchCall(busi.url('/busi.Busi/Nope')));
    expect(summary(r)).toEqual(rpcError(12, 'Unimplemented', 'The server does not implement the method /busi.Busi/Nope'));
  });

  it('ends a call at its deadline with DeadlineExceeded, and the connection serves the next call', async () => {
    busi.on('/busi.Busi/Slow', { delayMs: 2000 });
    const t = transport();
    const r = await t.call(branchCall(busi.url('/busi.Busi/Slow'), { timeoutMs: 300 }));
    expect(r.grpcCode).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(r.outcome).toBe('error');
    expect(r.message).toMatch(/^rpc error: code = DeadlineExceeded desc = Deadline exceeded after 0\.\d{3}s,remote_addr=127\.0\.0\.1:\d+$/);
    expect(r.durationMs).toBeGreaterThanOrEqual(290);
    expect(r.durationMs).toBeLessThan(1500);
    expect((await t.call(branchCall(busi.url('/busi.Busi/Action')))).outcome).toBe('success');
  });

  it('a server that is down is Unavailable at once; once it is back, calls reach it again', async () => {
    const s = await new GrpcBranchServer(METHODS).start();
    const url = s.url('/busi.Busi/Action');
    const t = transport();
    expect((await t.call(branchCall(url))).outcome).toBe('success');
    s.stop();
    const down = await eventually(async () => {
      const r = await t.call(branchCall(url));
      return r.message.includes('ECONNREFUSED') ? r : null;
    });
    expect(summary(down)).toEqual(
      rpcError(14, 'Unavailable', `No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:${s.port}. Resolution note: `),
    );
    // within the reconnect backoff the failure is answered without a new connection attempt
    const started = Date.now();
    expect((await t.call(branchCall(url))).grpcCode).toBe(14);
    expect(Date.now() - started).toBeLessThan(100);
    const back = await new GrpcBranchServer(METHODS).start(s.port);
    try {
      await eventually(async () => (await t.call(branchCall(url))).outcome === 'success', 10_000, 100);
      expect(back.calls.length).toBeGreaterThanOrEqual(1);
    } finally {
      back.stop();
    }
  });

  it('a connection dropped during a call is Unavailable, and the next call opens a new one', async () => {
    const h2 = await new H2Server((stream, _h, n) => (n === 1 ? stream.session?.destroy() : answerOk(stream))).start();
    try {
      const t = transport();
      const r = await t.call(branchCall(h2.url('/busi.Busi/Action')));
      expect(summary(r)).toEqual(rpcError(14, 'Unavailable', 'Connection dropped'));
      expect((await t.call(branchCall(h2.url('/busi.Busi/Action')))).outcome).toBe('success');
      expect(h2.sessions).toBe(2);
    } finally {
      await h2.stop();
    }
  });

  it('reads trailers-only answers (the status in the response headers)', async () => {
    const h2 = await new H2Server((stream) =>
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '9', 'grpc-message': 'wait%20a%25bit' },
        { endStream: true },
      ),
    ).start();
    try {
      const r = await transport().call(branchCall(h2.url('/busi.Busi/Action')));
      expect(summary(r)).toEqual({ outcome: 'ongoing', grpcCode: 9, message: 'wait a%bit ONGOING' });
      expect(r.response).toBe('wait a%bit');
    } finally {
      await h2.stop();
    }
  });

  it("maps answers that are not gRPC with the gRPC spec's HTTP table", async () => {
    const h2 = await new H2Server((stream, headers) => {
      const path = String(headers[':path']);
      if (path.endsWith('/NotFound')) stream.respond({ ':status': 404, 'content-type': 'text/plain' });
      else if (path.endsWith('/BadGateway')) stream.respond({ ':status': 502, 'content-type': 'text/html' });
      else if (path.endsWith('/Unauthorized')) stream.respond({ ':status': 401 });
      else stream.respond({ ':status': 200, 'content-type': 'text/html' });
      stream.end('<html>not gRPC</html>');
    }).start();
    try {
      const t = transport();
      for (const [method, expected] of [
        ['NotFound', rpcError(12, 'Unimplemented', 'Received HTTP status code 404')],
        ['BadGateway', rpcError(14, 'Unavailable', 'Received HTTP status code 502')],
        ['Unauthorized', rpcError(16, 'Unauthenticated', 'Received HTTP status code 401')],
        ['Html', rpcError(2, 'Unknown', 'transport: received unexpected content-type "text/html"')],
      ] as const) {
        expect(summary(await t.call(branchCall(h2.url(`/busi.Busi/${method}`))))).toEqual(expected);
      }
    } finally {
      await h2.stop();
    }
  });

  it('reads RST_STREAM codes as grpc-js did, and sends a refused stream once more', async () => {
    const h2 = await new H2Server((stream, headers, n) => {
      const path = String(headers[':path']);
      if (path.endsWith('/Reset')) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      else if (path.endsWith('/NoStatus')) {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
        stream.end(Buffer.from([0, 0, 0, 0, 0]));
      } else if (n === 3) stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      else answerOk(stream);
    }).start();
    try {
      const t = transport();
      const call = async (m: string) => summary(await t.call(branchCall(h2.url(`/busi.Busi/${m}`))));
      expect(await call('Reset')).toEqual(rpcError(13, 'Internal', 'Received RST_STREAM with code 2 (Internal server error)'));
      expect(await call('NoStatus')).toEqual(rpcError(13, 'Internal', 'Received RST_STREAM with code 0 (Call ended without gRPC status)'));
      // the third stream is refused (not processed): sent again, answered OK
      expect(await call('Action')).toEqual({ outcome: 'success', grpcCode: 0, message: '' });
      expect(h2.seen).toHaveLength(4);
    } finally {
      await h2.stop();
    }
  });

  it('after a GOAWAY the next call goes over a new connection', async () => {
    const h2 = await new H2Server((stream, _h, n) => {
      answerOk(stream);
      if (n === 1) stream.session?.goaway(http2.constants.NGHTTP2_NO_ERROR, 1);
    }).start();
    try {
      const t = transport();
      expect((await t.call(branchCall(h2.url('/busi.Busi/Action')))).outcome).toBe('success');
      await eventually(async () => (await t.call(branchCall(h2.url('/busi.Busi/Action')))).outcome === 'success');
      expect(h2.sessions).toBe(2);
    } finally {
      await h2.stop();
    }
  });

  it('refuses a reply message over the size limit with ResourceExhausted; one at the limit passes', async () => {
    const t = transport({ maxMessageBytes: 1024 });
    busi.on('/busi.Busi/Action', { message: Buffer.alloc(2048, 1) });
    expect(summary(await t.call(branchCall(busi.url('/busi.Busi/Action'))))).toEqual(
      rpcError(8, 'ResourceExhausted', 'Received message larger than max (2048 vs 1024)'),
    );
    busi.on('/busi.Busi/Action', { message: Buffer.alloc(1024, 1) });
    expect((await t.call(branchCall(busi.url('/busi.Busi/Action')))).outcome).toBe('success');
  });

  it('an OK status without a reply message is not a success', async () => {
    const h2 = await new H2Server((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end();
    }).start();
    try {
      const r = await transport().call(branchCall(h2.url('/busi.Busi/Action')));
      expect(summary(r)).toEqual(rpcError(12, 'Unimplemented', 'No message received'));
    } finally {
      await h2.stop();
    }
  });

  it('dials dns:, ipv4: and unix-abstract: targets', async () => {
    const t = transport();
    expect((await t.call(branchCall(`dns:///localhost:${busi.port}/busi.Busi/Action`))).outcome).toBe('success');
    const byDefault = transport({ driver: 'default' });
    expect((await byDefault.call(branchCall(`ipv4:127.0.0.1:${busi.port}/busi.Busi/Action`))).outcome).toBe('success');
    expect((await byDefault.call(branchCall(`dns:localhost:${busi.port}/busi.Busi/Action`))).outcome).toBe('success');
    expect(busi.calls).toHaveLength(3);
    const name = `dtx-grpc-client-${process.pid}`;
    const h2 = await new H2Server((s) => answerOk(s)).start(`\0${name}`);
    try {
      expect((await byDefault.call(branchCall(`unix-abstract:${name}/busi.Busi/Action`))).outcome).toBe('success');
      expect(nth(h2.seen, 0)[':authority']).toBe('localhost');
    } finally {
      await h2.stop();
    }
  });

  it('round-robins direct:/// addresses and skips one whose connection fails', async () => {
    const other = await new GrpcBranchServer(METHODS).start();
    const dead = await new GrpcBranchServer(METHODS).start();
    dead.stop();
    try {
      const t = transport();
      const url = `direct:///127.0.0.1:${busi.port},127.0.0.1:${other.port}/busi.Busi/Action`;
      for (let i = 0; i < 4; i++) expect((await t.call(branchCall(url))).outcome).toBe('success');
      expect([busi.calls.length, other.calls.length]).toEqual([2, 2]);
      const withDead = `direct:///127.0.0.1:${busi.port},127.0.0.1:${dead.port}/busi.Busi/Action`;
      const outcomes = [];
      for (let i = 0; i < 4; i++) outcomes.push((await t.call(branchCall(withDead))).outcome);
      // the second call finds the dead address; after that it is skipped
      expect(outcomes).toEqual(['success', 'error', 'success', 'success']);
    } finally {
      other.stop();
    }
  });

  it('checks every address it connects to against the egress policy, without connecting to a refused one', async () => {
    let connections = 0;
    const denied: NetServer = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => denied.listen(0, '127.0.0.2', r));
    const port = (denied.address() as AddressInfo).port;
    try {
      const t = transport({ policy: new EgressPolicy('', '127.0.0.2,::1') });
      const r = await t.call(branchCall(`direct:///127.0.0.2:${port}/busi.Busi/Action`));
      expect(summary(r)).toEqual(
        rpcError(14, 'Unavailable', `call to 127.0.0.2:${port} refused by BranchCallPolicy.Deny entry '127.0.0.2' (address 127.0.0.2)`),
      );
      // a host name: its addresses are checked in the connection's own lookup (::1 refused, 127.0.0.1 kept)
      expect((await t.call(branchCall(`dns:///localhost:${busi.port}/busi.Busi/Action`))).outcome).toBe('success');
      expect(connections).toBe(0);
    } finally {
      denied.close();
    }
  });

  it('refuses a branch header gRPC cannot carry, sending nothing', async () => {
    const t = transport();
    for (const [name, why] of [
      ['Bad Key', 'Metadata key "bad key" contains illegal characters'],
      ['connection', 'HTTP/2 does not allow this header'],
    ]) {
      const r = await t.call(branchCall(busi.url('/busi.Busi/Action'), { headers: { [name as string]: 'x' } }));
      expect(r.outcome).toBe('error');
      expect(r.message).toBe(`branch header '${name}' cannot be sent as gRPC metadata: ${why}`);
    }
    expect(busi.calls).toHaveLength(0);
  });

  it('after close, calls fail without connecting', async () => {
    const t = transport();
    expect((await t.call(branchCall(busi.url('/busi.Busi/Action')))).outcome).toBe('success');
    await t.close();
    const r = await t.call(branchCall(busi.url('/busi.Busi/Action')));
    expect(summary(r)).toEqual(rpcError(14, 'Unavailable', 'Channel has been shut down'));
    expect(busi.calls).toHaveLength(1);
  });
});

describe('gRPC dial addresses', () => {
  it.each([
    ['127.0.0.1:50051', [{ host: '127.0.0.1', port: 50051 }], '127.0.0.1:50051'],
    ['localhost', [{ host: 'localhost', port: 443 }], 'localhost:443'],
    ['[::1]:50051', [{ host: '::1', port: 50051 }], '[::1]:50051'],
    ['dns:///svc.local:8080', [{ host: 'svc.local', port: 8080 }], 'svc.local:8080'],
    ['dns:svc.local:8080', [{ host: 'svc.local', port: 8080 }], 'svc.local:8080'],
    [
      'ipv4:10.0.0.1:1,10.0.0.2:2',
      [
        { host: '10.0.0.1', port: 1 },
        { host: '10.0.0.2', port: 2 },
      ],
      '10.0.0.1:1',
    ],
    ['ipv6:[::1]:7', [{ host: '::1', port: 7 }], '[::1]:7'],
    ['unix:svc.sock', [{ path: 'svc.sock' }], 'localhost'],
    ['unix:///run/svc.sock', [{ path: '/run/svc.sock' }], 'localhost'],
    ['unix-abstract:svc', [{ path: '\0svc' }], 'localhost'],
  ])('%s', (target, endpoints, authority) => {
    expect(parseDialAddress(target)).toMatchObject({ endpoints, authority });
  });

  it('refuses a port that is not one', () => {
    expect(() => parseDialAddress('host:99999')).toThrow("bad gRPC address 'host:99999'");
  });
});
