// Admission control (docs/operations.md, "Overload"): beyond MaxInflightSubmits requests of the
// transaction API, or MaxInflightPasses running passes, new requests are refused at once with a
// retryable answer (HTTP 503, JSON-RPC -32000 on 503, gRPC UNAVAILABLE) that dtm's SDKs cannot
// read as FAILURE; a refused transaction is not stored at all, the admitted ones finish, and
// /api/ping keeps answering meanwhile.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Coordinator } from '@dtx/coordinator';
import { BranchServer, eventually } from './support/branches.ts';
import { DtmHttp, startInProcess } from './support/coordinator.ts';
import { json, type DtmAnswer, type JsonRpcReply } from './support/replies.ts';
import { DtmGrpc, GrpcBranchServer, grpc } from './support/grpc.ts';
import { freshStore, testStores } from './support/stores.ts';

const BOUND = 4;

/** A gate the branch services wait on: calls pile up until it opens. */
class Gate {
  private opened!: () => void;
  private p = new Promise<void>((r) => (this.opened = r));
  wait(): Promise<void> {
    return this.p;
  }
  open(): void {
    this.opened();
  }
  reset(): void {
    this.p = new Promise<void>((r) => (this.opened = r));
  }
}

describe.each(testStores())('admission control on %s', (storeName) => {
  let coordinator: Coordinator;
  let dtm: DtmHttp;
  let rpc: DtmGrpc;
  const gate = new Gate();
  const busi = new BranchServer();
  const gbusi = new GrpcBranchServer(['/busi.Busi/TransOut', '/busi.Busi/TransOutRevert']);
  let n = 0;
  const gid = (label: string) => `adm-${label}-${storeName}-${++n}-${Date.now()}`;

  beforeAll(async () => {
    busi.on('/TransOut', async () => {
      await gate.wait();
      return {};
    });
    gbusi.on('/busi.Busi/TransOut', async () => {
      await gate.wait();
      return {};
    });
    await busi.start();
    await gbusi.start();
    coordinator = await startInProcess(await freshStore(storeName, 'admission'), {
      MaxInflightSubmits: BOUND,
      MaxInflightPasses: BOUND,
      // the gate holds branch calls for a while; they must not time out meanwhile
      RequestTimeout: 60,
    });
    dtm = new DtmHttp(`http://127.0.0.1:${coordinator.httpPort}`);
    rpc = new DtmGrpc(`127.0.0.1:${coordinator.grpcPort}`);
  });
  afterAll(async () => {
    gate.open();
    rpc?.close();
    await coordinator?.close();
    await busi.stop();
    gbusi.stop();
  });

  const saga = (g: string, waitResult: boolean) => ({
    gid: g,
    trans_type: 'saga',
    wait_result: waitResult,
    steps: [{ action: busi.url('/TransOut'), compensate: busi.url('/TransOutRevert') }],
    payloads: ['{}'],
  });
  const ping = async () => (await fetch(`${dtm.base}/api/ping`)).status;
  const metric = async (name: string) => {
    const text = await (await fetch(`${dtm.base}/api/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(name));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  };
  const expectRetryable = (r: { status: number; text: string; body: unknown }, reason: string) => {
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ reason });
    expect(json<DtmAnswer>(r).message).toMatch(/^dtx is overloaded: .*retry it later$/);
    // dtmcli reads a body containing FAILURE (or ONGOING) as the transaction's outcome
    expect(r.text).not.toMatch(/FAILURE|ONGOING/);
  };

  it('refuses submits beyond MaxInflightSubmits with 503, stores none of them, finishes the admitted ones, keeps /api/ping answering', async () => {
    gate.reset();
    const refusedBefore = await metric('dtx_admission_refused_total{reason="inflight_submits"}');
    // wait_result submits hold their slot until their saga ends: behind the gate
    const held = Array.from({ length: BOUND }, () => gid('held'));
    const heldReplies = held.map((g) => dtm.post('submit', saga(g, true)));
    await eventually(() => busi.callsTo('/TransOut').filter((c) => held.includes(c.gid)).length === BOUND);
    expect(await metric('dtx_admission_inflight_submits')).toBe(BOUND);

    const extra = Array.from({ length: 6 }, () => gid('refused'));
    const [replies, pingStatus] = await Promise.all([Promise.all(extra.map((g) => dtm.post('submit', saga(g, true)))), ping()]);
    for (const r of replies) expectRetryable(r, 'inflight_submits');
    // /api/ping answered while the bound was full and refusals were going on
    expect(pingStatus).toBe(200);
    expect(await ping()).toBe(200);
    // queries are not transaction-API requests: still served
    for (const g of extra) expect((await dtm.query(g)).transaction).toBeNull();
    const r503 = await fetch(`${dtm.base}/api/dtmsvr/prepare`, { method: 'POST', body: JSON.stringify({ gid: gid('p'), trans_type: 'msg' }) });
    expect(r503.status).toBe(503);
    expect(r503.headers.get('retry-after')).toBe('1');
    await r503.text();
    expect(await metric('dtx_admission_refused_total{reason="inflight_submits"}')).toBe(refusedBefore + extra.length + 1);

    gate.open();
    for (const r of await Promise.all(heldReplies)) expect(r.status).toBe(200);
    for (const g of held) expect(await dtm.status(g)).toBe('succeed');
    // the slots came back: a new submit is admitted
    const after = gid('after');
    expect((await dtm.post('submit', saga(after, true))).status).toBe(200);
    expect(await metric('dtx_admission_inflight_submits')).toBe(0);
    for (const g of extra) expect((await dtm.query(g)).transaction).toBeNull();
  });

  it('refuses new transactions beyond MaxInflightPasses, still admits registerBranch of one in progress', async () => {
    gate.reset();
    // a TCC prepared before the overload, whose client goes on registering branches
    const tcc = gid('tcc');
    expect((await dtm.post('prepare', { gid: tcc, trans_type: 'tcc' })).status).toBe(200);
    // submits without wait_result are answered once stored; their passes go on behind the gate
    const running = Array.from({ length: BOUND }, () => gid('pass'));
    for (const g of running) expect((await dtm.post('submit', saga(g, false))).status).toBe(200);
    await eventually(() => busi.callsTo('/TransOut').filter((c) => running.includes(c.gid)).length === BOUND);

    const refused = gid('refused-pass');
    const [r, pingStatus] = await Promise.all([dtm.post('submit', saga(refused, false)), ping()]);
    expectRetryable(r, 'inflight_passes');
    expect(pingStatus).toBe(200);
    expectRetryable(await dtm.post('prepare', { gid: gid('refused-prepare'), trans_type: 'tcc' }), 'inflight_passes');
    const reg = await dtm.post('registerBranch', {
      gid: tcc,
      trans_type: 'tcc',
      branch_id: '01',
      confirm: busi.url('/Confirm'),
      cancel: busi.url('/Cancel'),
      data: '{}',
    });
    expect(reg.status).toBe(200);
    expect((await dtm.query(refused)).transaction).toBeNull();

    gate.open();
    for (const g of running) await dtm.waitStatus(g, 'succeed');
    expect((await dtm.post('submit', { gid: tcc, trans_type: 'tcc' })).status).toBe(200);
    await dtm.waitStatus(tcc, 'succeed');
  });

  it('JSON-RPC: an envelope beyond the bound gets HTTP 503 with a JSON-RPC error, not -32901 (FAILURE)', async () => {
    gate.reset();
    const held = Array.from({ length: BOUND }, () => gid('jheld'));
    const heldReplies = held.map((g) => dtm.post('submit', saga(g, true)));
    await eventually(() => busi.callsTo('/TransOut').filter((c) => held.includes(c.gid)).length === BOUND);

    const g = gid('jrefused');
    const res = await fetch(`${dtm.base}/api/json-rpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 'no-use', method: 'submit', params: saga(g, false) }),
    });
    const text = await res.text();
    expect(res.status).toBe(503);
    expect(JSON.parse(text)).toMatchObject({ jsonrpc: '2.0', id: null, result: null, error: { code: -32000 } });
    expect(json<JsonRpcReply>({ body: JSON.parse(text) }).error?.message).toMatch(/^dtx is overloaded: /);
    expect(text).not.toMatch(/FAILURE|ONGOING/);
    expect(await ping()).toBe(200);

    gate.open();
    for (const r of await Promise.all(heldReplies)) expect(r.status).toBe(200);
    expect((await dtm.query(g)).transaction).toBeNull();
  });

  it('gRPC: a Submit beyond the bound gets UNAVAILABLE with the reason, not ABORTED (FAILURE)', async () => {
    gate.reset();
    const gsaga = (g: string) => ({
      Gid: g,
      TransType: 'saga',
      TransOptions: { WaitResult: true },
      Steps: JSON.stringify([{ action: gbusi.url('/busi.Busi/TransOut'), compensate: gbusi.url('/busi.Busi/TransOutRevert') }]),
      BinPayloads: [Buffer.from([0x08, 0x1e])],
    });
    const held = Array.from({ length: BOUND }, () => gid('gheld'));
    const heldReplies = held.map((g) => rpc.call('Submit', gsaga(g)));
    await eventually(() => gbusi.callsTo('/busi.Busi/TransOut').filter((c) => held.includes(c.metadata['dtm-gid'] ?? '')).length === BOUND);

    const extra = Array.from({ length: 3 }, () => gid('grefused'));
    const [replies, pingStatus] = await Promise.all([Promise.all(extra.map((g) => rpc.call('Submit', gsaga(g)))), ping()]);
    for (const r of replies) {
      expect(r).toMatchObject({ ok: false, code: grpc.status.UNAVAILABLE });
      if (r.ok) continue;
      expect(r.details).toMatch(/^dtx is overloaded: .*MaxInflightSubmits=4.*retry it later$/);
      expect(r.details).not.toMatch(/FAILURE|ONGOING/);
      expect(r.metadata['dtx-refused']).toBe('inflight_submits');
    }
    expect(pingStatus).toBe(200);

    gate.open();
    for (const r of await Promise.all(heldReplies)) expect(r).toMatchObject({ ok: true });
    for (const g of held) expect(await dtm.status(g)).toBe('succeed');
    for (const g of extra) expect((await dtm.query(g)).transaction).toBeNull();
  });
});
