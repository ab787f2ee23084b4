// The HTTP branch transport against a real loopback server: what a branch receives (method, query,
// headers, body), redirects as Go's client follows them, the limit on hops, the whole-call timeout
// (also for a call still waiting for a connection), and how much of a large answer is kept.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HttpTransport } from '@dtx/coordinator';
import type { BranchCall } from '@dtx/engine';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server;
let base = '';
const seen: Seen[] = [];
const routes = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
      const path = (req.url ?? '').split('?')[0] ?? '';
      const route = routes.get(path);
      if (route) return route(req, res);
      res.writeHead(404).end('404 page not found');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
afterEach(() => {
  seen.length = 0;
  routes.clear();
});

function call(path: string, over: Partial<BranchCall> = {}): BranchCall {
  return {
    gid: 'g 1',
    transType: 'saga',
    branchId: '01',
    op: 'action',
    url: `${base}${path}`,
    payload: Buffer.from('{"amount":30}'),
    protocol: 'http',
    post: true,
    headers: {},
    timeoutMs: 2000,
    ...over,
  };
}

const answer =
  (status: number, body: string, headers: Record<string, string> = {}) =>
  (_req: IncomingMessage, res: ServerResponse) =>
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body);

describe('HttpTransport', () => {
  const t = new HttpTransport({ userAgent: 'dtx-test', maxRedirects: 2 });
  afterAll(() => t.close());

  it('POSTs the payload with the transaction in the query and the branch headers, and reads the answer', async () => {
    routes.set('/api/TransOut', answer(200, '{"dtm_result":"SUCCESS"}'));
    const r = await t.call(call('/api/TransOut?uid=7', { headers: { 'X-Tenant': 'a' } }));
    expect(r).toMatchObject({ outcome: 'success', transport: 'http', httpStatus: 200, response: '{"dtm_result":"SUCCESS"}' });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      method: 'POST',
      url: '/api/TransOut?uid=7&branch_id=01&gid=g+1&op=action&trans_type=saga',
      body: '{"amount":30}',
    });
    expect(seen[0]?.headers).toMatchObject({ 'content-type': 'application/json', 'user-agent': 'dtx-test', 'x-tenant': 'a' });
  });

  it('GETs without a body when the call is not a POST, and classifies 409 as FAILURE', async () => {
    routes.set('/api/TransIn', answer(409, ' no money \n'));
    const r = await t.call(call('/api/TransIn', { post: false }));
    expect(r).toMatchObject({ outcome: 'failure', message: 'no money FAILURE', httpStatus: 409 });
    expect(seen[0]).toMatchObject({ method: 'GET', body: '' });
  });

  it('follows 307 keeping the method and body, and 303 as a GET without body', async () => {
    routes.set('/r307', answer(307, '', { location: '/final' }));
    routes.set('/r303', answer(303, '', { location: `${base}/final?from=303` }));
    routes.set('/final', answer(200, '{"dtm_result":"SUCCESS"}'));
    expect((await t.call(call('/r307'))).outcome).toBe('success');
    expect(seen.map((s) => [s.method, s.url.split('?')[0], s.body])).toEqual([
      ['POST', '/r307', '{"amount":30}'],
      ['POST', '/final', '{"amount":30}'],
    ]);
    seen.length = 0;
    expect((await t.call(call('/r303'))).outcome).toBe('success');
    expect(seen.map((s) => [s.method, s.url, s.body])).toEqual([
      ['POST', '/r303?branch_id=01&gid=g+1&op=action&trans_type=saga', '{"amount":30}'],
      ['GET', '/final?from=303', ''],
    ]);
  });

  it('stops after MaxRedirects hops and reports the last redirect as the answer', async () => {
    routes.set('/loop', answer(302, 'again', { location: '/loop' }));
    const r = await t.call(call('/loop', { post: false }));
    expect(r).toMatchObject({ outcome: 'error', httpStatus: 302, message: 'again' });
    expect(seen).toHaveLength(3); // the call and two hops
  });

  it('times a call out as a whole, with dtm-like wording', async () => {
    routes.set('/slow', () => undefined); // never answers
    const r = await t.call(call('/slow', { timeoutMs: 300 }));
    expect(r).toMatchObject({ outcome: 'error', message: 'request timeout after 300ms', transport: 'http' });
    expect(r.durationMs).toBeGreaterThanOrEqual(290);
  });

  it('times out a call that is still waiting for a connection', async () => {
    const one = new HttpTransport({ connections: 1 });
    try {
      routes.set('/hold', () => undefined);
      const first = one.call(call('/hold', { timeoutMs: 1500 }));
      await new Promise((r) => setTimeout(r, 100));
      const queued = await one.call(call('/hold', { timeoutMs: 200 }));
      expect(queued).toMatchObject({ outcome: 'error', message: 'request timeout after 200ms' });
      expect(queued.durationMs).toBeLessThan(1400);
      expect((await first).message).toBe('request timeout after 1500ms');
    } finally {
      await one.close();
    }
  });

  it('keeps the first MiB of a large answer and 2000 characters of it in the attempt log', async () => {
    const big = `${'x'.repeat(3 << 20)}FAILURE`;
    routes.set('/big', answer(200, big));
    const r = await t.call(call('/big'));
    // the FAILURE past the first MiB is not seen: a plain 200
    expect(r.outcome).toBe('success');
    expect(r.response).toHaveLength(2000);
  });

  it('reports a refused connection as an error naming the cause', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const r = await t.call({ ...call('/x'), url: `http://127.0.0.1:${port}/x` });
    expect(r.outcome).toBe('error');
    expect(r.message).toMatch(/ECONNREFUSED/);
  });
});
