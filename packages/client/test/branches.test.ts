// The branch-side helpers on real Express and Fastify servers: what a handler's outcome
// becomes on the wire (docs/client/branches.md), and the request bodies the transaction
// builders send (docs/protocol/http-api.md §3).
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DtmClient, Failure, HttpTransport, Ongoing, apiBase, decodeWorkflowData, dtmExpress, dtmFastify, type BranchHandler } from '../src/index.ts';
import { dtmRequest } from '../src/grpc.ts';

/** One handler per path, shared by both frameworks; `ctx` records what the handler saw. */
const seen: Record<string, unknown>[] = [];
const handler: BranchHandler<unknown> = (b) => {
  seen.push({ gid: b.gid, transType: b.transType, branchId: b.branchId, op: b.op, dtm: b.dtm, body: b.body });
  const body = b.body as { outcome?: string } | undefined;
  switch (body?.outcome) {
    case 'failure':
      throw new Failure('no money');
    case 'ongoing':
      throw new Ongoing('wait');
    case 'crash':
      throw new Error('database down');
    case 'value':
      return { reserved: 3 };
    default:
      return undefined;
  }
};

describe.each(['express', 'fastify'])('branch helper on %s', (framework) => {
  let base = '';
  let server: Server | undefined;
  let fastify: FastifyInstance | undefined;

  beforeAll(async () => {
    if (framework === 'express') {
      const app = express();
      app.use(express.json());
      app.post('/busi', dtmExpress(handler));
      app.get('/busi', dtmExpress(handler));
      await new Promise<void>((resolve) => {
        server = app.listen(0, '127.0.0.1', () => resolve());
      });
      base = `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
    } else {
      fastify = Fastify();
      fastify.post('/busi', dtmFastify(handler));
      fastify.get('/busi', dtmFastify(handler));
      await fastify.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}`;
    }
  });
  afterAll(async () => {
    await fastify?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  const call = async (query: string, body?: unknown) => {
    const r = await fetch(`${base}/busi?${query}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, body: await r.json() };
  };
  const q = 'branch_id=01&gid=g1&op=action&trans_type=saga';

  it('answers 200 {"dtm_result":"SUCCESS"} and passes the branch identity and body', async () => {
    seen.length = 0;
    expect(await call(`${q}&dtm=http%3A%2F%2F127.0.0.1%3A1%2Fapi%2Fdtmsvr`, { amount: 30 })).toEqual({
      status: 200,
      body: { dtm_result: 'SUCCESS' },
    });
    expect(seen).toEqual([
      { gid: 'g1', transType: 'saga', branchId: '01', op: 'action', dtm: 'http://127.0.0.1:1/api/dtmsvr', body: { amount: 30 } },
    ]);
  });

  it('answers a GET without a body (how the coordinator calls an empty payload)', async () => {
    expect(await call(q)).toEqual({ status: 200, body: { dtm_result: 'SUCCESS' } });
  });

  it('answers a returned value as 200 JSON', async () => {
    expect(await call(q, { outcome: 'value' })).toEqual({ status: 200, body: { reserved: 3 } });
  });

  it('answers Failure with 409 FAILURE, Ongoing with 425 ONGOING, other errors with 500', async () => {
    expect(await call(q, { outcome: 'failure' })).toEqual({ status: 409, body: { dtm_result: 'FAILURE', message: 'no money' } });
    expect(await call(q, { outcome: 'ongoing' })).toEqual({ status: 425, body: { dtm_result: 'ONGOING', message: 'wait' } });
    expect(await call(q, { outcome: 'crash' })).toEqual({ status: 500, body: { message: 'database down' } });
  });

  it('answers 400 naming what is missing when the query has no branch identity', async () => {
    seen.length = 0;
    expect(await call('gid=g1&op=action', {})).toEqual({
      status: 400,
      body: { message: 'invalid trans info: missing trans_type, branch_id in the query' },
    });
    expect(seen).toEqual([]);
  });
});

describe('request bodies', () => {
  const dtm = new DtmClient('http://127.0.0.1:1');

  it('an HTTP client refuses a gRPC branch URL, naming the fix', async () => {
    await expect(new HttpTransport('http://127.0.0.1:1').callBranch('POST', '127.0.0.1:1/busi.Busi/TransIn', {}, '')).rejects.toThrow(
      "branch URL '127.0.0.1:1/busi.Busi/TransIn' is not http(s)://: a gRPC branch (host:port/package.Service/Method) needs a grpc:// client",
    );
  });

  it('accepts the coordinator with or without /api/dtmsvr', () => {
    expect(apiBase('http://127.0.0.1:36789')).toBe('http://127.0.0.1:36789/api/dtmsvr');
    expect(apiBase('http://127.0.0.1:36789/api/dtmsvr/')).toBe('http://127.0.0.1:36789/api/dtmsvr');
    expect(() => apiBase('grpc://x:1')).toThrow(/http/);
  });

  it('saga: steps, payloads, options and concurrent orders as dtm expects them', () => {
    const body = dtm
      .saga('g1', { waitResult: true, timeoutToFail: 60, retryLimit: 2, retryInterval: 5, requestTimeout: 3, branchHeaders: { a: 'b' } })
      .add('http://s/out', 'http://s/outRevert', { amount: 30 })
      .add('http://s/in', '', Buffer.from('{"amount":30}'))
      .enableConcurrent()
      .addBranchOrder(1, [0])
      .body();
    expect(body).toEqual({
      gid: 'g1',
      trans_type: 'saga',
      custom_data: '{"concurrent":true,"orders":{"1":[0]}}',
      wait_result: true,
      timeout_to_fail: 60,
      request_timeout: 3,
      retry_interval: 5,
      branch_headers: { a: 'b' },
      protocol: 'http',
      steps: [
        { action: 'http://s/out', compensate: 'http://s/outRevert' },
        { action: 'http://s/in', compensate: '' },
      ],
      payloads: ['{"amount":30}', '{"amount":30}'],
      retry_limit: 2,
    });
  });

  it('payloads are JSON like the Go SDK (a string is quoted), bytes are sent as they are', () => {
    const body = dtm.saga('g1').add('a', 'c', 'text').add('a', 'c', Buffer.from('raw')).add('a', 'c').body();
    expect(body.payloads).toEqual(['"text"', 'raw', '']);
  });

  it('over gRPC, payloads are the bytes given (or encoded) in BinPayloads, not mangled through text', () => {
    const grpcClient = new DtmClient('grpc://127.0.0.1:1');
    const proto = Buffer.from([0x08, 0xac, 0x02]); // not valid UTF-8
    const body = grpcClient
      .saga('g1')
      .add('h:1/p.S/A', 'h:1/p.S/C', proto)
      .add('h:1/p.S/A', '', { n: 1 }, (m) => Uint8Array.from([m.n, 0xff]))
      .add('http://s/in', '', { amount: 1 })
      .body();
    expect(dtmRequest(body).BinPayloads).toEqual([proto, Buffer.from([1, 0xff]), Buffer.from('{"amount":1}')]);
    expect(() => dtm.saga('g1').add('a', 'c', 1, () => 'x' as unknown as Uint8Array)).toThrow(/encoder must return a Uint8Array/);
  });

  it('saga: customData is sent as is when the saga is not concurrent', () => {
    expect(dtm.saga('g1', { customData: '{"x":1}' }).add('a', 'c').body().custom_data).toBe('{"x":1}');
  });

  it('msg: the delay goes into custom_data at submit only', () => {
    const m = dtm.msg('g2', { delay: 10 }).add('http://s/in', { amount: 1 });
    expect(m.body('prepare').custom_data).toBeUndefined();
    expect(m.body('submit').custom_data).toBe('{"delay":10}');
  });

  it('refuses bad options before any call', () => {
    expect(() => dtm.saga('g1', { timeoutToFail: 1.5 }).add('a', 'c').body()).toThrow(/timeoutToFail must be a whole number/);
    expect(() => dtm.saga('')).toThrow(/gid/);
    expect(() => dtm.saga('g').addBranchOrder(1, [1])).toThrow(/earlier step/);
  });
});

describe('the gRPC workflow callback', () => {
  it("reads WorkflowData's Data field, skipping others, and refuses truncated bytes", () => {
    const data = Buffer.alloc(200, 'x');
    expect(decodeWorkflowData(Buffer.concat([Buffer.from([0x10, 0x05, 0x0a, 0xc8, 0x01]), data]))).toEqual(data);
    expect(decodeWorkflowData(Buffer.alloc(0))).toEqual(Buffer.alloc(0));
    expect(() => decodeWorkflowData(Buffer.from([0x0a, 0x05, 0x01]))).toThrow(/malformed WorkflowData: truncated/);
  });
});
