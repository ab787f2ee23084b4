// Topics (msg fan-out), the KV routes, the JSON-RPC endpoint and Prometheus metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Coordinator } from '@dtx/coordinator';
import { BranchServer } from './support/branches.ts';
import { DtmHttp, startInProcess } from './support/coordinator.ts';
import { json, type DtmAnswer, type DtmKvPage, type JsonRpcReply } from './support/replies.ts';
import { freshStore, testStores } from './support/stores.ts';

describe.each(testStores())('topics, KV, JSON-RPC and metrics on %s', (storeName) => {
  let coordinator: Coordinator;
  let dtm: DtmHttp;
  let base: string;
  const svc = new BranchServer();
  let n = 0;
  const gid = (label: string) => `tj-${label}-${storeName}-${++n}-${Date.now()}`;

  beforeAll(async () => {
    await svc.start();
    coordinator = await startInProcess(await freshStore(storeName, 'topics'));
    base = `http://127.0.0.1:${coordinator.httpPort}`;
    dtm = new DtmHttp(base);
  });
  afterAll(async () => {
    await coordinator?.close();
    await svc.stop();
  });

  const sub = (topic: string, url: string, remark = '') =>
    dtm.get(`subscribe?topic=${encodeURIComponent(topic)}&url=${encodeURIComponent(url)}&remark=${encodeURIComponent(remark)}`);

  it('a msg step topic://NAME calls every subscriber, with sub-branch ids', async () => {
    expect((await sub('orders', svc.url('/t/ship'), 'shipping')).status).toBe(200);
    expect((await sub('orders', svc.url('/t/mail'))).status).toBe(200);
    const g = gid('fan');
    const r = await dtm.post('submit', {
      gid: g,
      trans_type: 'msg',
      steps: [{ action: 'topic://orders' }, { action: svc.url('/t/audit') }],
      payloads: ['{"order":1}', '{}'],
      wait_result: true,
    });
    expect(r.status).toBe(200);
    const q = await dtm.query(g);
    expect(q.branches.map((b) => `${b.branch_id} ${b.url}`)).toEqual([
      `01-01 ${svc.url('/t/ship')}`,
      `01-02 ${svc.url('/t/mail')}`,
      `02 ${svc.url('/t/audit')}`,
    ]);
    expect(svc.callsTo('/t/mail', g)[0]?.body).toBe('{"order":1}');
  });

  it('subscribe, unsubscribe and delete answer dtm errors', async () => {
    expect((await sub('', 'x')).body).toEqual({ message: 'empty topic' });
    expect((await sub('t2', '')).body).toEqual({ message: 'empty url' });
    await sub('t2', 'http://a/1');
    const dup = await sub('t2', 'http://a/1');
    expect(dup.status).toBe(500);
    expect(json<DtmAnswer>(dup).message).toBe('this url exists');
    expect(json<DtmAnswer>(await dtm.get('unsubscribe?topic=nope&url=x')).message).toBe('no such a topic');
    expect(json<DtmAnswer>(await dtm.get('unsubscribe?topic=t2&url=http://a/9')).message).toBe('no such an url ');
    expect((await dtm.get('unsubscribe?topic=t2&url=http://a/1')).status).toBe(200);
    expect(json<DtmAnswer>(await dtm.get('unsubscribe?topic=t2&url=http://a/1')).message).toBe('this topic is empty');
    const kv = await dtm.get('queryKV?cat=topics&key=t2');
    expect(json<DtmKvPage>(kv).kv).toHaveLength(1);
    expect(json<DtmKvPage>(kv).kv[0]).toMatchObject({ cat: 'topics', k: 't2', v: '[]', version: 2 });
    const del = await fetch(`${base}/api/dtmsvr/topic/t2`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    const again = await fetch(`${base}/api/dtmsvr/topic/t2`, { method: 'DELETE' });
    expect(again.status).toBe(500);
    expect(await again.json()).toEqual({ message: 'storage: NotFound' });
  });

  it('an unknown or empty topic fails the msg with 500 topic not found and stores nothing', async () => {
    const g = gid('notopic');
    const r = await dtm.post('submit', { gid: g, trans_type: 'msg', steps: [{ action: 'topic://nobody' }], payloads: ['{}'] });
    expect(r.status).toBe(500);
    expect(r.body).toEqual({ message: 'topic not found' });
    expect((await dtm.query(g)).transaction).toBeNull();
  });

  it('scanKV pages newest first', async () => {
    for (const t of ['k1', 'k2', 'k3']) await sub(`scan-${t}`, 'http://a/1');
    const p1 = await dtm.get('scanKV?cat=topics&limit=2');
    expect(
      json<DtmKvPage>(p1)
        .kv.map((k) => k.k)
        .slice(0, 2),
    ).toEqual(['scan-k3', 'scan-k2']);
    const p2 = await dtm.get(`scanKV?cat=topics&limit=2&position=${json<DtmKvPage>(p1).next_position}`);
    expect(json<DtmKvPage>(p2).kv[0]?.k).toBe('scan-k1');
  });

  describe('JSON-RPC', () => {
    const rpc = async (body: unknown) => {
      const r = await fetch(`${base}/api/json-rpc`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
      return { status: r.status, body: await r.json() };
    };

    it('newGid and a saga submitted over JSON-RPC', async () => {
      const g = await rpc({ jsonrpc: '2.0', id: 'no-use', method: 'newGid', params: {} });
      expect(g.status).toBe(200);
      expect(g.body).toMatchObject({ jsonrpc: '2.0', id: 'no-use', error: null });
      expect(json<JsonRpcReply>(g).result?.gid).toMatch(/^\w{22}$/);
      const gidRpc = gid('rpc');
      const s = await rpc({
        jsonrpc: '2.0',
        id: 'no-use',
        method: 'submit',
        params: { gid: gidRpc, trans_type: 'saga', steps: [{ action: svc.url('/rpc/A'), compensate: '' }], payloads: ['{}'], wait_result: true },
      });
      expect(s.body).toEqual({ jsonrpc: '2.0', id: 'no-use', error: null, result: null });
      expect(await dtm.status(gidRpc)).toBe('succeed');
      const again = await rpc({ jsonrpc: '2.0', id: 'x', method: 'submit', params: { gid: gidRpc, trans_type: 'saga' } });
      expect(json<JsonRpcReply>(again).error).toEqual({ code: -32901, message: "current status 'succeed', cannot sumbmit. FAILURE" });
    });

    it('envelope errors', async () => {
      expect((await rpc('{bad')).status).toBe(400);
      expect(json<JsonRpcReply>(await rpc({ jsonrpc: '2.0', id: 1, method: 'newGid' })).error?.code).toBe(-32700);
      expect(json<JsonRpcReply>(await rpc({ jsonrpc: '1.0', id: 'a', method: 'newGid' })).error?.code).toBe(-32600);
      expect(json<JsonRpcReply>(await rpc({ jsonrpc: '2.0', id: 'a', method: 'nope' })).error).toEqual({
        code: -32601,
        message: 'Method not found: nope',
      });
      expect(
        json<JsonRpcReply>(await rpc({ jsonrpc: '2.0', id: 'a', method: 'abort', params: { gid: 'nope', trans_type: 'tcc' } })).error?.code,
      ).toBe(-32603);
    });
  });

  it('exposes Prometheus metrics with dtm names', async () => {
    const text = await (await fetch(`${base}/api/metrics`)).text();
    expect(text).toMatch(/dtm_server_process_total\{type="http",api="submit",status="ok"\} \d+/);
    expect(text).toMatch(/dtm_transaction_process_total\{model="msg",status="ok"\} \d+/);
    expect(text).toMatch(/dtm_branch_process_total\{model="msg",branchid="01-01",branchtype="action",status="ok"\} 1/);
    expect(text).toMatch(/dtx_branch_calls_total\{endpoint="127\.0\.0\.1:\d+\/[^"?]+",outcome="success"\} \d+/);
    expect(text).toContain('process_cpu_seconds_total');
  });
});
