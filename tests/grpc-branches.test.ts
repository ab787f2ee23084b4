// gRPC branch calls (docs/protocol/grpc-api.md §6): what a branch service receives (raw bytes,
// dtm metadata, deadline) and how its status code is read: OK = success, Aborted = FAILURE
// (unless the message is exactly ONGOING), FailedPrecondition = ONGOING, anything else = retry.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Coordinator } from '@dtx/coordinator';
import { eventually } from './support/branches.ts';
import { DtmHttp, startInProcess } from './support/coordinator.ts';
import { nth } from './support/checked.ts';
import { DtmGrpc, GrpcBranchServer, grpc } from './support/grpc.ts';
import { freshStore, testStores } from './support/stores.ts';

const METHODS = ['/busi.Busi/Action', '/busi.Busi/Compensate', '/busi.Busi/Query', '/workflow.Workflow/Execute'];

describe.each(testStores())('gRPC branches on %s', (storeName) => {
  let coordinator: Coordinator;
  let dtm: DtmGrpc;
  let http: DtmHttp;
  const busi = new GrpcBranchServer(METHODS);
  let n = 0;
  const gid = (label: string) => `grpcb-${label}-${storeName}-${++n}-${Date.now()}`;

  beforeAll(async () => {
    await busi.start();
    coordinator = await startInProcess(await freshStore(storeName, 'grpcbr'));
    dtm = new DtmGrpc(`127.0.0.1:${coordinator.grpcPort}`);
    http = new DtmHttp(`http://127.0.0.1:${coordinator.httpPort}`);
  });
  afterAll(async () => {
    dtm?.close();
    await coordinator?.close();
    busi.stop();
  });

  /** A one-step saga (Action / Compensate) that retries after 1 s. */
  const submit = (g: string, options: Record<string, unknown> = {}) =>
    dtm.call('Submit', {
      Gid: g,
      TransType: 'saga',
      Steps: JSON.stringify([{ action: busi.url('/busi.Busi/Action'), compensate: busi.url('/busi.Busi/Compensate') }]),
      BinPayloads: [Buffer.from([0x08, 0x2a, 0x12, 0x00])],
      TransOptions: { RetryInterval: 1, ...options },
    });
  const callsFor = (method: string, g: string) => busi.callsTo(method).filter((c) => c.metadata['dtm-gid'] === g);
  const attempts = async (g: string, count: number) => {
    await coordinator.engine.flushAttempts();
    return eventually(async () => {
      const a = await coordinator.db.store.findAttempts(g, 20);
      return a.length >= count ? a : null;
    });
  };

  it('sends the stored bytes verbatim with dtm metadata and branch headers; OK is success', async () => {
    const g = gid('ok');
    expect(await submit(g, { WaitResult: true, BranchHeaders: { 'X-Tenant': 'acme' } })).toMatchObject({ ok: true });
    const call = nth(callsFor('/busi.Busi/Action', g), 0);
    expect(call.body).toEqual(Buffer.from([0x08, 0x2a, 0x12, 0x00]));
    expect(call.metadata).toMatchObject({
      'dtm-gid': g,
      'dtm-trans_type': 'saga',
      'dtm-branch_id': '01',
      'dtm-op': 'action',
      'dtm-dtm': '',
      'x-tenant': 'acme',
    });
    expect((await attempts(g, 1))[0]).toMatchObject({ protocol: 'grpc', grpcCode: 0, outcome: 'success' });
  });

  it('Aborted fails the saga and compensates with the same payload; the message becomes the rollback reason', async () => {
    const g = gid('aborted');
    busi.on('/busi.Busi/Action', (c) => (c.metadata['dtm-gid'] === g ? { code: grpc.status.ABORTED, details: 'no stock' } : {}));
    const r = await submit(g, { WaitResult: true });
    expect(r).toMatchObject({ ok: false, code: grpc.status.ABORTED });
    const q = await http.waitStatus(g, 'failed');
    expect(q.transaction.rollback_reason).toContain('no stock FAILURE');
    const comp = nth(callsFor('/busi.Busi/Compensate', g), 0);
    expect(comp.metadata['dtm-op']).toBe('compensate');
    expect(comp.body).toEqual(Buffer.from([0x08, 0x2a, 0x12, 0x00]));
    expect((await attempts(g, 2)).map((a) => `${a.op}/${a.grpcCode}/${a.outcome}`)).toEqual(['action/10/failure', 'compensate/0/success']);
  });

  it('FailedPrecondition and Aborted "ONGOING" mean not finished: asked again, never rolled back', async () => {
    const g = gid('ongoing');
    let calls = 0;
    busi.on('/busi.Busi/Action', (c) => {
      if (c.metadata['dtm-gid'] !== g) return {};
      calls++;
      if (calls === 1) return { code: grpc.status.FAILED_PRECONDITION, details: 'wait' };
      if (calls === 2) return { code: grpc.status.ABORTED, details: 'ONGOING' };
      return {};
    });
    expect(await submit(g)).toMatchObject({ ok: true });
    await http.waitStatus(g, 'succeed');
    expect(callsFor('/busi.Busi/Compensate', g)).toHaveLength(0);
    expect((await attempts(g, 3)).map((a) => `${a.grpcCode}/${a.outcome}`)).toEqual(['9/ongoing', '10/ongoing', '0/success']);
  });

  it('Unavailable and Internal are retried (with back-off) until the branch answers OK', async () => {
    const g = gid('retry');
    const codes = [grpc.status.UNAVAILABLE, grpc.status.INTERNAL];
    let calls = 0;
    busi.on('/busi.Busi/Action', (c) => (c.metadata['dtm-gid'] === g && calls < codes.length ? { code: codes[calls++], details: 'db down' } : {}));
    expect(await submit(g)).toMatchObject({ ok: true });
    await http.waitStatus(g, 'succeed', 30_000);
    const a = await attempts(g, 3);
    expect(a.map((x) => `${x.grpcCode}/${x.outcome}`)).toEqual(['14/error', '13/error', '0/success']);
    expect(a[0]?.error).toContain('db down');
    expect((await coordinator.db.store.findGlobal(g))?.retryCount).toBe(2);
    expect(callsFor('/busi.Busi/Compensate', g)).toHaveLength(0);
  }, 60_000);

  it('applies request_timeout as the call deadline (DeadlineExceeded is retried)', async () => {
    const g = gid('deadline');
    let calls = 0;
    busi.on('/busi.Busi/Action', (c) => (c.metadata['dtm-gid'] === g && ++calls === 1 ? { delayMs: 2500 } : {}));
    expect(await submit(g, { RequestTimeout: 1 })).toMatchObject({ ok: true });
    await http.waitStatus(g, 'succeed', 30_000);
    const a = await attempts(g, 2);
    expect(a[0]).toMatchObject({ grpcCode: grpc.status.DEADLINE_EXCEEDED, outcome: 'error' });
    expect(nth(a, 0).durationMs).toBeLessThan(2400);
  });

  it('a branch service that is down is retried until it is back', async () => {
    const down = new GrpcBranchServer(METHODS);
    await down.start();
    const port = down.port;
    down.stop();
    const g = gid('down');
    const r = await dtm.call('Submit', {
      Gid: g,
      TransType: 'saga',
      Steps: JSON.stringify([{ action: `127.0.0.1:${port}/busi.Busi/Action`, compensate: '' }]),
      BinPayloads: [Buffer.alloc(0)],
      TransOptions: { RetryInterval: 1 },
    });
    expect(r).toMatchObject({ ok: true });
    await eventually(async () => ((await coordinator.db.store.findGlobal(g))?.retryCount ?? 0) >= 1 || null);
    const back = await new GrpcBranchServer(METHODS).start(port);
    try {
      await http.waitStatus(g, 'succeed', 30_000);
      expect(back.calls).toHaveLength(1);
    } finally {
      back.stop();
    }
  });

  it("asks a prepared msg's QueryPrepared over gRPC with branch 00, op msg and an empty message", async () => {
    const g = gid('msgq');
    busi.on('/busi.Busi/Query', (c) => (c.metadata['dtm-gid'] === g ? { code: grpc.status.ABORTED, details: 'FAILURE' } : {}));
    const r = await dtm.call('Prepare', {
      Gid: g,
      TransType: 'msg',
      QueryPrepared: busi.url('/busi.Busi/Query'),
      Steps: JSON.stringify([{ action: busi.url('/busi.Busi/Action') }]),
      BinPayloads: [Buffer.from('p')],
      TransOptions: { TimeoutToFail: 1, RetryInterval: 1 },
    });
    expect(r).toMatchObject({ ok: true });
    await http.waitStatus(g, 'failed', 30_000);
    const q = nth(callsFor('/busi.Busi/Query', g), 0);
    expect(q.metadata).toMatchObject({ 'dtm-trans_type': 'msg', 'dtm-branch_id': '00', 'dtm-op': 'msg', 'dtm-dtm': '' });
    expect(q.body).toHaveLength(0);
    expect(callsFor('/busi.Busi/Action', g)).toHaveLength(0);
  });

  it('resumes a prepared gRPC workflow through /workflow.Workflow/Execute with WorkflowData{Data}', async () => {
    const g = gid('wf');
    const input = Buffer.from('{"amount":30}');
    const r = await dtm.call('PrepareWorkflow', {
      Gid: g,
      TransType: 'workflow',
      QueryPrepared: busi.url('/workflow.Workflow/Execute'),
      CustomedData: JSON.stringify({ name: 'transfer', data: input.toString('base64') }),
      TransOptions: { RetryInterval: 1 },
    });
    expect(r).toMatchObject({ ok: true });
    const call = await eventually(() => callsFor('/workflow.Workflow/Execute', g)[0], 30_000);
    expect(call.metadata).toMatchObject({ 'dtm-trans_type': 'workflow', 'dtm-branch_id': '00', 'dtm-op': 'transfer' });
    // WorkflowData { bytes Data = 1; }
    expect(call.body).toEqual(Buffer.concat([Buffer.from([0x0a, input.length]), input]));
    // The workflow stays as it is until the client itself submits.
    expect(await http.status(g)).toBe('prepared');
    await dtm.call('Submit', { Gid: g, TransType: 'workflow', ReqExtra: { status: 'succeed' } });
    expect(await http.status(g)).toBe('succeed');
  });
});
