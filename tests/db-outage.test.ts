// A database outage under a running coordinator (docs/operations.md, "Database outages"): a
// request that finds the database unreachable waits for it (MaxStoreWait, never longer than its
// client waits) and is then carried out as if nothing happened; one that would wait longer gets
// the admission refusal (503, reason store_unavailable, nothing stored). The coordinator keeps
// running, and once the database is back it resumes the transactions it had accepted. Both a stopped
// server (connections refused) and a frozen one (connections hang) are covered.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BranchServer, eventually } from './support/branches.ts';
import { DtmHttp, startChild, type ChildCoordinator } from './support/coordinator.ts';
import { freePort } from './support/processes.ts';
import { DtmGrpc, grpc } from './support/grpc.ts';
import type { DtmAnswer } from './support/replies.ts';
import { PrivatePostgres } from './support/private-pg.ts';
import { testStores } from './support/stores.ts';

describe.skipIf(!testStores().includes('postgres'))('database outage (PostgreSQL)', () => {
  const svc = new BranchServer();
  const pg = new PrivatePostgres();
  let coordinator: ChildCoordinator;
  let dtm: DtmHttp;
  let rpc: DtmGrpc;
  let up = false;

  beforeAll(async () => {
    await svc.start();
    await pg.init();
    const grpcPort = await freePort();
    coordinator = await startChild(
      {
        driver: 'postgres',
        host: '127.0.0.1',
        port: pg.port,
        user: 'postgres',
        password: '',
        db: 'dtx_outage',
        schema: 'public',
        maxOpenConns: 10,
      },
      { MAX_STORE_WAIT: '60', GRPC_PORT: String(grpcPort) },
    );
    dtm = new DtmHttp(coordinator.base);
    rpc = new DtmGrpc(`127.0.0.1:${grpcPort}`);
    svc.on('/outage/A', () => (up ? {} : { status: 503, body: 'not yet' }));
  });
  afterAll(async () => {
    rpc?.close();
    await coordinator?.kill();
    try {
      pg.thaw();
    } catch {
      // not frozen, or gone
    }
    try {
      pg.stop();
    } catch {
      // already stopped
    }
    await svc.stop();
  });

  const saga = (gid: string, extra: Record<string, unknown> = {}) => ({
    gid,
    trans_type: 'saga',
    steps: [{ action: svc.url('/outage/A'), compensate: '' }],
    payloads: ['{}'],
    retry_interval: 1,
    ...extra,
  });
  /** A submit as dtm's Go SDK sends it: its HTTP timeout is the transaction's request_timeout (generous here). */
  const submit = async (body: Record<string, unknown>, timeoutS: number) => {
    const r = await fetch(`${coordinator.base}/api/dtmsvr/submit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutS * 1000),
    });
    return { status: r.status, retryAfter: r.headers.get('retry-after'), body: (await r.json()) as DtmAnswer };
  };
  const refusedMetric = async () => {
    const text = await (await fetch(`${coordinator.base}/api/metrics`)).text();
    return Number(/^dtx_admission_refused_total\{reason="store_unavailable"\} (\d+)/m.exec(text)?.[1] ?? 0);
  };

  it('across a stop of its database: waits for it and stores the submit, or refuses what its client would not wait for', async () => {
    up = false;
    expect((await dtm.post('submit', saga('before'))).status).toBe(200);
    await eventually(() => svc.callsTo('/outage/A', 'before').length >= 1);
    const refusedBefore = await refusedMetric();

    pg.stop();
    // request_timeout 2: dtm's SDK gives up after 2 s, so the coordinator answers before that.
    const short = await submit(saga('short', { request_timeout: 2 }), 30);
    expect(short.status).toBe(503);
    expect(short.retryAfter).toBe('1');
    // the admission refusal's shape: message and reason only, no dtm_result (FAILURE would read as the outcome)
    expect(Object.keys(short.body).sort()).toEqual(['message', 'reason']);
    expect(short.body.reason).toBe('store_unavailable');
    expect(short.body.message).toMatch(/database is unreachable.*ECONNREFUSED.*nothing was stored, retry it later/i);
    expect((await fetch(`${coordinator.base}/api/ping`)).status).toBe(200);
    // Over gRPC, a 2 s deadline: UNAVAILABLE, the reason in the trailers.
    const rpcShort = await rpc.call(
      'Submit',
      {
        Gid: 'short-grpc',
        TransType: 'saga',
        Steps: JSON.stringify([{ action: '127.0.0.1:1/busi.Busi/A', compensate: '' }]),
        BinPayloads: [Buffer.alloc(0)],
      },
      new grpc.Metadata(),
      2000,
    );
    expect(rpcShort).toMatchObject({ ok: false, code: grpc.status.UNAVAILABLE, metadata: { 'dtx-refused': 'store_unavailable' } });

    // A submit that its client waits for: held until the database is back, then stored and run.
    const waiting = submit(saga('during'), 60);
    await new Promise((r) => setTimeout(r, 1500));
    pg.start();
    up = true;
    const during = await waiting;
    expect(during.status).toBe(200);
    expect(during.body).toEqual({ dtm_result: 'SUCCESS' });
    await dtm.waitStatus('during', 'succeed', 30_000);
    expect(svc.callsTo('/outage/A', 'during').length).toBeGreaterThanOrEqual(1);

    // the saga accepted before the outage was retried after it, and its step is recorded done
    const before = await dtm.waitStatus('before', 'succeed', 30_000);
    expect(before.branches.map((b) => `${b.branch_id}/${b.op}/${b.status}`)).toEqual(['01/compensate/prepared', '01/action/succeed']);
    expect(svc.callsTo('/outage/A', 'before').length).toBeGreaterThanOrEqual(2);
    // the refused one was not stored, and the refusal is counted with the overload refusals
    expect(await dtm.status('short')).toBeUndefined();
    expect(await dtm.status('short-grpc')).toBeUndefined();
    expect(await refusedMetric()).toBe(refusedBefore + 2);
    expect(coordinator.proc.exitCode).toBeNull();
  }, 90_000);

  it('across a freeze of its database: refuses what its client would not wait for instead of hanging, stores the rest after it', async () => {
    up = true;
    pg.freeze();
    try {
      // The scheduler's next claim hangs: after STALL_MS without an answer the database counts as stalled.
      await new Promise((r) => setTimeout(r, 4000));
      const waiting = submit(saga('frozen-wait'), 60);
      // request_timeout 2: refused while the database is still frozen (the client's own timeout is generous here)
      const short = await submit(saga('frozen-short', { request_timeout: 2 }), 15);
      expect(short.status).toBe(503);
      expect(short.body.reason).toBe('store_unavailable');
      expect(short.body.message).toMatch(/answered no statement.*nothing was stored/);
      pg.thaw();
      const w = await waiting;
      expect(w.status).toBe(200);
    } finally {
      pg.thaw();
    }
    await dtm.waitStatus('frozen-wait', 'succeed', 30_000);
    expect(await dtm.status('frozen-short')).toBeUndefined();
    expect(coordinator.proc.exitCode).toBeNull();
  }, 90_000);
});
