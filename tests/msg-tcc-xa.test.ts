// Two-phase messages, TCC and XA against the real coordinator and real HTTP branch services, on
// every store. The client side (prepare, Try calls, registerBranch, submit/abort) is played by the
// test the way the SDKs do it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Coordinator } from '@dtx/coordinator';
import { BranchServer } from './support/branches.ts';
import { DtmHttp, startInProcess } from './support/coordinator.ts';
import { nth } from './support/checked.ts';
import { json, type DtmAnswer } from './support/replies.ts';
import { freshStore, testStores } from './support/stores.ts';

describe.each(testStores())('msg, tcc and xa on %s', (storeName) => {
  let coordinator: Coordinator;
  let dtm: DtmHttp;
  const svc = new BranchServer();
  let n = 0;
  const gid = (label: string) => `${label}-${storeName}-${++n}-${Date.now()}`;

  beforeAll(async () => {
    await svc.start();
    coordinator = await startInProcess(await freshStore(storeName, 'mtx'));
    dtm = new DtmHttp(`http://127.0.0.1:${coordinator.httpPort}`);
  });
  afterAll(async () => {
    await coordinator?.close();
    await svc.stop();
  });

  const msg = (g: string, prefix: string, extra: Record<string, unknown> = {}) => ({
    gid: g,
    trans_type: 'msg',
    steps: [{ action: svc.url(`/${prefix}/TransOut`) }, { action: svc.url(`/${prefix}/TransIn`) }],
    payloads: ['{"amount":30}', '{"amount":30}'],
    query_prepared: svc.url(`/${prefix}/QueryPrepared`),
    ...extra,
  });

  describe('msg', () => {
    it('prepare then submit calls every action in order and ends succeed', async () => {
      const g = gid('msg-ok');
      expect((await dtm.post('prepare', msg(g, 'm1'))).status).toBe(200);
      expect(await dtm.status(g)).toBe('prepared');
      // idempotent prepare
      expect((await dtm.post('prepare', msg(g, 'm1'))).status).toBe(200);
      expect(svc.trail(g)).toEqual([]);
      expect((await dtm.post('submit', msg(g, 'm1'))).status).toBe(200);
      const q = await dtm.waitStatus(g, 'succeed');
      expect(svc.trail(g)).toEqual(['/m1/TransOut:action', '/m1/TransIn:action']);
      expect(q.branches.map((b) => `${b.branch_id}/${b.op}/${b.status}`)).toEqual(['01/action/succeed', '02/action/succeed']);
    });

    it('retries a failing action (FAILURE included) until it succeeds; never compensates', async () => {
      let calls = 0;
      svc.on('/m2/TransIn', () => (++calls < 3 ? { status: 409 } : {}));
      const g = gid('msg-retry');
      await dtm.post('submit', msg(g, 'm2', { retry_interval: 1 }));
      await dtm.waitStatus(g, 'succeed', 20_000);
      expect(svc.callsTo('/m2/TransIn', g)).toHaveLength(3);
      expect(svc.callsTo('/m2/TransOut', g)).toHaveLength(1);
    });

    it('asks query_prepared when a prepared msg times out: SUCCESS submits it', async () => {
      svc.on('/m3/QueryPrepared', {});
      const g = gid('msg-qp-ok');
      await dtm.post('prepare', msg(g, 'm3', { timeout_to_fail: 1 }));
      await dtm.waitStatus(g, 'succeed', 20_000);
      const qp = svc.callsTo('/m3/QueryPrepared', g);
      expect(qp.length).toBeGreaterThanOrEqual(1);
      expect(qp[0]?.method).toBe('GET');
      expect(qp[0]?.query).toEqual({ branch_id: '00', gid: g, op: 'msg', trans_type: 'msg' });
      expect(svc.trail(g).filter((t) => t.endsWith(':action'))).toEqual(['/m3/TransOut:action', '/m3/TransIn:action']);
    });

    it('asks query_prepared when a prepared msg times out: FAILURE fails it without calling actions', async () => {
      svc.on('/m4/QueryPrepared', { status: 409, body: { dtm_result: 'FAILURE' } });
      const g = gid('msg-qp-fail');
      await dtm.post('prepare', msg(g, 'm4', { timeout_to_fail: 1 }));
      await dtm.waitStatus(g, 'failed', 20_000);
      expect(svc.callsTo('/m4/TransOut', g)).toHaveLength(0);
    });

    it('abort of a prepared msg fails it at once', async () => {
      const g = gid('msg-abort');
      await dtm.post('prepare', msg(g, 'm5'));
      const r = await dtm.post('abort', { gid: g, trans_type: 'msg' });
      expect(r.status).toBe(200);
      expect(await dtm.status(g)).toBe('failed');
      expect(svc.trail(g)).toEqual([]);
      // a submit after that is refused
      const s = await dtm.post('submit', msg(g, 'm5'));
      expect(s.status).toBe(409);
      expect(s.body).toEqual({ dtm_result: 'FAILURE', message: "current status 'failed', cannot sumbmit. FAILURE" });
    });

    it('calls actions concurrently with concurrent=true', async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      // TransOut waits until TransIn has been called: only a concurrent msg can finish
      svc.on('/m6/TransOut', async () => {
        await Promise.race([gate, new Promise((r) => setTimeout(r, 5000))]);
        return {};
      });
      svc.on('/m6/TransIn', () => {
        release();
        return {};
      });
      const g = gid('msg-conc');
      const r = await dtm.post('submit', msg(g, 'm6', { concurrent: true, wait_result: true }));
      expect(r.status).toBe(200);
      expect(await dtm.status(g)).toBe('succeed');
      const out = nth(svc.callsTo('/m6/TransOut', g), 0).at;
      const inn = nth(svc.callsTo('/m6/TransIn', g), 0).at;
      expect(inn - out).toBeLessThan(4000);
    });

    it('waits custom_data.delay seconds before calling the actions', async () => {
      const g = gid('msg-delay');
      const t0 = Date.now();
      await dtm.post('submit', msg(g, 'm7', { custom_data: '{"delay":2}' }));
      await dtm.waitStatus(g, 'succeed', 20_000);
      expect(nth(svc.callsTo('/m7/TransOut', g), 0).at - t0).toBeGreaterThanOrEqual(1900);
    });

    it('with wait_result answers 409 while an action is still ONGOING', async () => {
      svc.on('/m8/TransIn', { status: 425 });
      const g = gid('msg-wait-ongoing');
      const r = await dtm.post('submit', msg(g, 'm8', { wait_result: true }));
      expect(r.status).toBe(409);
      expect(json<DtmAnswer>(r).message).toBe('wait result not return success: FAILURE');
    });
  });

  describe('tcc', () => {
    // What dtmcli's TccGlobalTransaction does: prepare, then per branch registerBranch + Try, then submit or abort.
    async function runTcc(g: string, prefix: string, tries: number, failTry?: number, extra: Record<string, unknown> = {}) {
      expect((await dtm.post('prepare', { gid: g, trans_type: 'tcc', ...extra })).status).toBe(200);
      for (let i = 1; i <= tries; i++) {
        const bid = String(i).padStart(2, '0');
        const reg = await dtm.post('registerBranch', {
          gid: g,
          trans_type: 'tcc',
          branch_id: bid,
          data: `{"amount":${i}}`,
          confirm: svc.url(`/${prefix}/Confirm${i}`),
          cancel: svc.url(`/${prefix}/Cancel${i}`),
        });
        expect(reg.status).toBe(200);
        const tryOk = i !== failTry;
        if (!tryOk) {
          return dtm.post('abort', { gid: g, trans_type: 'tcc', rollback_reason: `try ${i} failed FAILURE` });
        }
      }
      return dtm.post('submit', { gid: g, trans_type: 'tcc', ...extra });
    }

    it('confirms every branch, last registered first, and ends succeed', async () => {
      const g = gid('tcc-ok');
      expect((await runTcc(g, 't1', 3)).status).toBe(200);
      const q = await dtm.waitStatus(g, 'succeed');
      expect(svc.trail(g)).toEqual(['/t1/Confirm3:confirm', '/t1/Confirm2:confirm', '/t1/Confirm1:confirm']);
      expect(svc.callsTo('/t1/Confirm2', g)[0]?.body).toBe('{"amount":2}');
      expect(q.branches.map((b) => `${b.branch_id}/${b.op}/${b.status}`)).toEqual([
        '01/cancel/prepared',
        '01/confirm/succeed',
        '02/cancel/prepared',
        '02/confirm/succeed',
        '03/cancel/prepared',
        '03/confirm/succeed',
      ]);
    });

    it('abort cancels every registered branch, last first, and records the reason', async () => {
      const g = gid('tcc-abort');
      expect((await runTcc(g, 't2', 2, 2)).status).toBe(200);
      const q = await dtm.waitStatus(g, 'failed');
      expect(svc.trail(g)).toEqual(['/t2/Cancel2:cancel', '/t2/Cancel1:cancel']);
      expect(q.transaction.rollback_reason).toBe('try 2 failed FAILURE');
    });

    it('retries a confirm that errors until it succeeds', async () => {
      let calls = 0;
      svc.on('/t3/Confirm1', () => (++calls < 2 ? { status: 500 } : {}));
      const g = gid('tcc-retry');
      await runTcc(g, 't3', 1, undefined, { retry_interval: 1 });
      await dtm.waitStatus(g, 'succeed', 20_000);
      expect(svc.callsTo('/t3/Confirm1', g)).toHaveLength(2);
    });

    it('aborts a prepared tcc after its timeout and refuses late registrations', async () => {
      const g = gid('tcc-timeout');
      await dtm.post('prepare', { gid: g, trans_type: 'tcc', timeout_to_fail: 1 });
      await dtm.post('registerBranch', {
        gid: g,
        trans_type: 'tcc',
        branch_id: '01',
        data: '{}',
        confirm: svc.url('/t4/Confirm'),
        cancel: svc.url('/t4/Cancel'),
      });
      const q = await dtm.waitStatus(g, 'failed', 20_000);
      expect(q.transaction.rollback_reason).toBe('Timeout after 1 seconds');
      expect(svc.trail(g)).toEqual(['/t4/Cancel:cancel']);
      const late = await dtm.post('registerBranch', {
        gid: g,
        trans_type: 'tcc',
        branch_id: '02',
        data: '{}',
        confirm: svc.url('/t4/Confirm'),
        cancel: svc.url('/t4/Cancel'),
      });
      expect(late.status).toBe(409);
      expect(late.body).toEqual({ dtm_result: 'FAILURE', message: `no trans with gid: ${g} status: prepared found FAILURE` });
    });

    it('with wait_result answers 425 when a confirm is ONGOING', async () => {
      svc.on('/t5/Confirm1', { status: 425 });
      const g = gid('tcc-ongoing');
      const r = await runTcc(g, 't5', 1, undefined, { wait_result: true });
      expect(r.status).toBe(425);
      expect(r.body).toEqual({ dtm_result: 'ONGOING', message: 'ONGOING' });
    });

    it('a duplicate registration answers 500 and keeps the first', async () => {
      const g = gid('tcc-dup');
      await dtm.post('prepare', { gid: g, trans_type: 'tcc' });
      const body = { gid: g, trans_type: 'tcc', branch_id: '01', data: '{}', confirm: svc.url('/t6/C'), cancel: svc.url('/t6/X') };
      expect((await dtm.post('registerBranch', body)).status).toBe(200);
      const dup = await dtm.post('registerBranch', { ...body, confirm: svc.url('/t6/Other') });
      expect(dup.status).toBe(500);
      const q = await dtm.query(g);
      expect(q.branches.map((b) => b.url)).toEqual([svc.url('/t6/X'), svc.url('/t6/C')]);
    });
  });

  describe('xa', () => {
    it('commits every branch in registration order with POST and ends succeed', async () => {
      const g = gid('xa-ok');
      await dtm.post('prepare', { gid: g, trans_type: 'xa' });
      for (const b of ['01', '02']) {
        expect((await dtm.post('registerXaBranch', { gid: g, trans_type: 'xa', branch_id: b, url: svc.url(`/x1/Xa${b}`) })).status).toBe(200);
      }
      expect((await dtm.post('submit', { gid: g, trans_type: 'xa', wait_result: true })).status).toBe(200);
      expect(svc.trail(g)).toEqual(['/x1/Xa01:commit', '/x1/Xa02:commit']);
      expect(svc.callsTo('/x1/Xa01', g)[0]?.method).toBe('POST');
      expect(await dtm.status(g)).toBe('succeed');
    });

    it('abort rolls back every branch and ends failed', async () => {
      const g = gid('xa-abort');
      await dtm.post('prepare', { gid: g, trans_type: 'xa' });
      for (const b of ['01', '02']) {
        await dtm.post('registerBranch', { gid: g, trans_type: 'xa', branch_id: b, url: svc.url(`/x2/Xa${b}`) });
      }
      expect((await dtm.post('abort', { gid: g, trans_type: 'xa', rollback_reason: 'branch 02 failed' })).status).toBe(200);
      const q = await dtm.waitStatus(g, 'failed');
      expect(svc.trail(g)).toEqual(['/x2/Xa01:rollback', '/x2/Xa02:rollback']);
      expect(q.transaction.rollback_reason).toBe('branch 02 failed');
    });
  });
});
