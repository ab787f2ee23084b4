// The saga scenarios of dtm's quick start and their variations, against the real coordinator
// and real HTTP branch services, on every store.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Coordinator } from '@dtx/coordinator';
import { BranchServer, eventually } from './support/branches.ts';
import { DtmHttp, startInProcess } from './support/coordinator.ts';
import { nth } from './support/checked.ts';
import { freshStore, testStores } from './support/stores.ts';

describe.each(testStores())('saga on %s', (storeName) => {
  let coordinator: Coordinator;
  let dtm: DtmHttp;
  const svc = new BranchServer();
  let n = 0;
  const gid = (label: string) => `saga-${label}-${storeName}-${++n}-${Date.now()}`;

  beforeAll(async () => {
    await svc.start();
    coordinator = await startInProcess(await freshStore(storeName, 'saga'));
    dtm = new DtmHttp(`http://127.0.0.1:${coordinator.httpPort}`);
  });
  afterAll(async () => {
    await coordinator?.close();
    await svc.stop();
  });

  const quickStart = (g: string, prefix: string, extra: Record<string, unknown> = {}) => ({
    gid: g,
    trans_type: 'saga',
    steps: [
      { action: svc.url(`/${prefix}/TransOut`), compensate: svc.url(`/${prefix}/TransOutRevert`) },
      { action: svc.url(`/${prefix}/TransIn`), compensate: svc.url(`/${prefix}/TransInRevert`) },
    ],
    payloads: ['{"amount":30}', '{"amount":30}'],
    ...extra,
  });

  it('runs TransOut then TransIn and ends succeed', async () => {
    const g = gid('ok');
    const r = await dtm.post('submit', quickStart(g, 'ok'));
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ dtm_result: 'SUCCESS' });
    const q = await dtm.waitStatus(g, 'succeed');
    expect(svc.trail(g)).toEqual(['/ok/TransOut:action', '/ok/TransIn:action']);
    expect(q.branches.map((b) => `${b.branch_id}/${b.op}/${b.status}`)).toEqual([
      '01/compensate/prepared',
      '01/action/succeed',
      '02/compensate/prepared',
      '02/action/succeed',
    ]);
    const call = nth(svc.callsTo('/ok/TransOut', g), 0);
    expect(call.method).toBe('POST');
    expect(call.body).toBe('{"amount":30}');
    expect(call.query).toEqual({ branch_id: '01', gid: g, op: 'action', trans_type: 'saga' });
    expect(call.headers['content-type']).toBe('application/json');
    expect(q.transaction.finish_time).toBeTruthy();
  });

  it('compensates TransIn then TransOut when TransIn answers 409, and ends failed', async () => {
    svc.on('/r409/TransIn', { status: 409, body: { error: 'insufficient balance' } });
    const g = gid('409');
    expect((await dtm.post('submit', quickStart(g, 'r409'))).status).toBe(200);
    const q = await dtm.waitStatus(g, 'failed');
    expect(svc.trail(g)).toEqual([
      '/r409/TransOut:action',
      '/r409/TransIn:action',
      '/r409/TransInRevert:compensate',
      '/r409/TransOutRevert:compensate',
    ]);
    expect(q.branches.map((b) => b.status)).toEqual(['succeed', 'succeed', 'succeed', 'failed']);
    expect(q.transaction.rollback_reason).toBe(`url:${svc.url('/r409/TransIn')} return failed: {"error":"insufficient balance"} FAILURE`);
    expect(q.transaction.rollback_time).toBeTruthy();
    // the compensation gets the action's payload
    expect(svc.callsTo('/r409/TransInRevert', g)[0]?.body).toBe('{"amount":30}');
  });

  it('rolls back when a branch answers 200 with FAILURE in the body', async () => {
    svc.on('/body/TransIn', { status: 200, body: { dtm_result: 'FAILURE' } });
    const g = gid('body');
    await dtm.post('submit', quickStart(g, 'body'));
    await dtm.waitStatus(g, 'failed');
    expect(svc.trail(g)).toEqual([
      '/body/TransOut:action',
      '/body/TransIn:action',
      '/body/TransInRevert:compensate',
      '/body/TransOutRevert:compensate',
    ]);
  });

  // Back-off on a failing branch: tests/retry-timing.test.ts, on a clock moved by hand.

  it('treats 201 as an error and retries', async () => {
    let calls = 0;
    svc.on('/s201/TransOut', () => (++calls === 1 ? { status: 201 } : {}));
    const g = gid('201');
    await dtm.post('submit', quickStart(g, 's201', { retry_interval: 1 }));
    await dtm.waitStatus(g, 'succeed');
    expect(svc.callsTo('/s201/TransOut', g)).toHaveLength(2);
  });

  it('with wait_result answers 200 once succeeded', async () => {
    const g = gid('wait');
    const r = await dtm.post('submit', quickStart(g, 'wait', { wait_result: true }));
    expect(r.status).toBe(200);
    expect(await dtm.status(g)).toBe('succeed');
  });

  it('with wait_result answers 409 with the rollback reason when rolled back', async () => {
    svc.on('/waitfail/TransIn', { status: 409, body: 'no money' });
    const g = gid('waitfail');
    const r = await dtm.post('submit', quickStart(g, 'waitfail', { wait_result: true }));
    expect(r.status).toBe(409);
    expect(r.body).toEqual({
      dtm_result: 'FAILURE',
      message: `url:${svc.url('/waitfail/TransIn')} return failed: no money FAILURE`,
    });
    expect(await dtm.status(g)).toBe('failed');
  });

  it('compensates succeeded steps in reverse order when step 3 returns FAILURE', async () => {
    svc.on('/three/A3', { status: 409 });
    const g = gid('three');
    await dtm.post('submit', {
      gid: g,
      trans_type: 'saga',
      steps: [1, 2, 3, 4].map((i) => ({ action: svc.url(`/three/A${i}`), compensate: svc.url(`/three/C${i}`) })),
      payloads: ['{}', '{}', '{}', '{}'],
    });
    const q = await dtm.waitStatus(g, 'failed');
    expect(svc.trail(g)).toEqual([
      '/three/A1:action',
      '/three/A2:action',
      '/three/A3:action',
      '/three/C3:compensate',
      '/three/C2:compensate',
      '/three/C1:compensate',
    ]);
    // step 4 never became eligible: neither executed nor compensated
    expect(q.branches.slice(6).map((b) => b.status)).toEqual(['prepared', 'prepared']);
  });

  it('runs a concurrent saga respecting orders, and compensates dependents first', async () => {
    // A0 answers only once A1 has been called: a sequential run would never get there.
    let a1Called!: () => void;
    const a1 = new Promise<void>((r) => (a1Called = r));
    const finished: string[] = [];
    svc.on('/conc/A0', async () => {
      const ok = await Promise.race([a1.then(() => true), new Promise((r) => setTimeout(() => r(false), 5000))]);
      finished.push('A0');
      return ok ? {} : { status: 500, body: 'A1 was not called concurrently' };
    });
    svc.on('/conc/A1', () => {
      a1Called();
      finished.push('A1');
      return { delayMs: 50 };
    });
    svc.on('/conc/A2', () => {
      finished.push(`A2 after ${[...finished].sort().join(',')}`);
      return {};
    });
    svc.on('/conc/A3', { status: 409 });
    const g = gid('conc');
    await dtm.post('submit', {
      gid: g,
      trans_type: 'saga',
      steps: [0, 1, 2, 3].map((i) => ({ action: svc.url(`/conc/A${i}`), compensate: svc.url(`/conc/C${i}`) })),
      payloads: ['{}', '{}', '{}', '{}'],
      // step 2 after 0 and 1; step 3 after 2
      custom_data: JSON.stringify({ concurrent: true, orders: { '2': [0, 1], '3': [2] } }),
    });
    const q = await dtm.waitStatus(g, 'failed');
    expect(q.branches.filter((b) => b.op === 'action').map((b) => b.status)).toEqual(['succeed', 'succeed', 'succeed', 'failed']);
    // 2 started only after 0 and 1 had both answered; 3 only after 2
    expect(finished).toContain('A2 after A0,A1');
    const calls = svc.calls.filter((c) => c.gid === g);
    expect(calls.findIndex((c) => c.path === '/conc/A3')).toBeGreaterThan(calls.findIndex((c) => c.path === '/conc/A2'));
    // A3 failed: every step is compensated, step 2 before 0 and 1 (they are its prerequisites)
    const comps = calls.filter((c) => c.op === 'compensate').map((c) => c.path);
    expect(comps).toHaveLength(4);
    expect(comps.indexOf('/conc/C3')).toBeLessThan(comps.indexOf('/conc/C2'));
    expect(comps.indexOf('/conc/C2')).toBeLessThan(comps.indexOf('/conc/C0'));
    expect(comps.indexOf('/conc/C2')).toBeLessThan(comps.indexOf('/conc/C1'));
  });

  it('aborts on timeout_to_fail and compensates what may have run', async () => {
    svc.on('/slow/TransIn', { status: 425, body: 'ONGOING' });
    const g = gid('timeout');
    await dtm.post('submit', quickStart(g, 'slow', { timeout_to_fail: 2, retry_interval: 1 }));
    const q = await dtm.waitStatus(g, 'failed', 20_000);
    expect(q.transaction.rollback_reason).toBe('Timeout after 2 seconds');
    const trail = svc.trail(g);
    expect(trail.slice(-2)).toEqual(['/slow/TransInRevert:compensate', '/slow/TransOutRevert:compensate']);
  });

  it('aborts when retry_limit is exhausted', async () => {
    svc.on('/limit/TransIn', { status: 500 });
    const g = gid('limit');
    await dtm.post('submit', quickStart(g, 'limit', { retry_limit: 2 }));
    const q = await dtm.waitStatus(g, 'failed');
    expect(svc.callsTo('/limit/TransIn', g)).toHaveLength(3);
    expect(q.transaction.rollback_reason).toBe('RetryCount is greater than RetryLimit, RetryLimit: 2');
  });

  it('sends branch_headers on every branch call', async () => {
    const g = gid('headers');
    await dtm.post('submit', quickStart(g, 'headers', { branch_headers: { 'x-tenant': 't7' } }));
    await dtm.waitStatus(g, 'succeed');
    expect(svc.callsTo('/headers/TransIn', g)[0]?.headers['x-tenant']).toBe('t7');
  });

  it('forwards the request headers named by passthrough_headers to every branch (dtm before v1.16)', async () => {
    const g = gid('passthrough');
    const r = await fetch(`${dtm.base}/api/dtmsvr/submit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer abc', 'x-not-listed': 'no' },
      body: JSON.stringify(quickStart(g, 'pass', { passthrough_headers: ['Authorization'] })),
    });
    expect(r.status).toBe(200);
    await dtm.waitStatus(g, 'succeed');
    const call = nth(svc.callsTo('/pass/TransIn', g), 0);
    expect(call.headers.authorization).toBe('Bearer abc');
    expect(call.headers['x-not-listed']).toBeUndefined();
    expect((await coordinator.db.store.findGlobal(g))?.extData).toBe('{"headers":{"Authorization":"Bearer abc"}}');
  });

  it('records every branch call in the attempt log', async () => {
    let calls = 0;
    svc.on('/attempts/TransIn', () => (++calls === 1 ? { status: 500, body: 'db down' } : {}));
    const g = gid('attempts');
    await dtm.post('submit', quickStart(g, 'attempts', { retry_interval: 1 }));
    await dtm.waitStatus(g, 'succeed');
    await coordinator.engine.flushAttempts();
    const attempts = await eventually(async () => {
      const a = await coordinator.db.store.findAttempts(g, 10);
      return a.length === 3 ? a : null;
    });
    expect(attempts.map((a) => `${a.branchId}/${a.op}/${a.httpStatus}/${a.outcome}`)).toEqual([
      '01/action/200/success',
      '02/action/500/error',
      '02/action/200/success',
    ]);
    expect(attempts[1]?.response).toBe('db down');
    const g2 = await coordinator.db.store.findGlobal(g);
    expect(g2?.retryCount).toBe(1);
    expect(g2?.lastError).toContain('db down');
  });
});
