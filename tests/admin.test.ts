// Operator actions (retry now, abort with rollback, force stop) against the real coordinator:
// their effect on branches and statuses, and their races with running passes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin } from '@dtx/engine';
import type { Coordinator } from '@dtx/coordinator';
import { BranchServer, eventually } from './support/branches.ts';
import { DtmHttp, startInProcess } from './support/coordinator.ts';
import { nth } from './support/checked.ts';
import { freshStore, testStores } from './support/stores.ts';

describe.each(testStores())('operator actions on %s', (storeName) => {
  let coordinator: Coordinator;
  let dtm: DtmHttp;
  let admin: Admin;
  const svc = new BranchServer();
  let n = 0;
  const gid = (label: string) => `adm-${label}-${storeName}-${++n}-${Date.now()}`;

  beforeAll(async () => {
    await svc.start();
    coordinator = await startInProcess(await freshStore(storeName, 'admin'));
    dtm = new DtmHttp(`http://127.0.0.1:${coordinator.httpPort}`);
    admin = new Admin(coordinator.db.store);
  });
  afterAll(async () => {
    await coordinator?.close();
    await svc.stop();
  });

  const saga = (g: string, prefix: string, steps = 2, extra: Record<string, unknown> = {}) => ({
    gid: g,
    trans_type: 'saga',
    steps: Array.from({ length: steps }, (_, i) => ({ action: svc.url(`/${prefix}/A${i + 1}`), compensate: svc.url(`/${prefix}/C${i + 1}`) })),
    payloads: Array.from({ length: steps }, () => '{}'),
    ...extra,
  });

  it('retry now runs a backed-off transaction at once instead of after its back-off', async () => {
    let up = false;
    svc.on('/retry/A2', () => (up ? {} : { status: 503 }));
    const g = gid('retry');
    // a long retry interval: without the operator the next attempt is 10 minutes away
    await dtm.post('submit', saga(g, 'retry', 2, { retry_interval: 600 }));
    await eventually(() => svc.callsTo('/retry/A2', g).length === 1);
    await eventually(async () => (await coordinator.db.store.findGlobal(g))?.owner === '');
    up = true;
    const r = await admin.retryNow(g);
    expect(r).toMatchObject({ ok: true, from: 'submitted' });
    await dtm.waitStatus(g, 'succeed', 10_000);
    expect(svc.callsTo('/retry/A2', g)).toHaveLength(2);
    expect(await admin.retryNow(g)).toMatchObject({ ok: false, message: 'already succeed' });
  });

  it('abort with rollback compensates a saga stuck on a down branch, in reverse order', async () => {
    svc.on('/stuck/A3', { status: 503 });
    const g = gid('stuck');
    await dtm.post('submit', saga(g, 'stuck', 4, { retry_interval: 600 }));
    await eventually(() => svc.callsTo('/stuck/A3', g).length === 1);
    await eventually(async () => (await coordinator.db.store.findGlobal(g))?.owner === '');
    const r = await admin.abort(g, 'payment provider is down', 'alice');
    expect(r).toMatchObject({ ok: true, from: 'submitted', to: 'aborting' });
    const q = await dtm.waitStatus(g, 'failed', 10_000);
    // A3 may have run (its call errored): it is compensated too; A4 never ran
    expect(svc.trail(g).filter((t) => t.endsWith(':compensate'))).toEqual(['/stuck/C3:compensate', '/stuck/C2:compensate', '/stuck/C1:compensate']);
    expect(svc.callsTo('/stuck/A4', g)).toHaveLength(0);
    expect(q.transaction.rollback_reason).toBe('aborted by alice: payment provider is down');
    expect(await admin.abort(g, '', 'bob')).toMatchObject({ ok: false, message: 'already failed' });
  });

  it('abort during a running pass stops it after the call in flight, then compensates that step too', async () => {
    svc.on('/race/A2', { delayMs: 1500 });
    const g = gid('race');
    await dtm.post('submit', saga(g, 'race', 3));
    await eventually(() => svc.callsTo('/race/A2', g).length === 1);
    // the pass is inside A2's call now
    const r = await admin.abort(g, 'operator says stop', 'carol');
    expect(r).toMatchObject({ ok: true, to: 'aborting' });
    await dtm.waitStatus(g, 'failed', 15_000);
    const trail = svc.trail(g);
    // A3 never started; A2's compensation runs only after A2 answered. A2's success is recorded,
    // so A3 had become eligible and by dtm's rule "may have run": it gets a (null) compensation.
    expect(svc.callsTo('/race/A3', g)).toHaveLength(0);
    expect(trail.filter((t) => t.endsWith(':compensate'))).toEqual(['/race/C3:compensate', '/race/C2:compensate', '/race/C1:compensate']);
    const a2 = nth(svc.callsTo('/race/A2', g), 0).at;
    expect(nth(svc.callsTo('/race/C2', g), 0).at).toBeGreaterThanOrEqual(a2 + 1500);
  });

  it('two operators aborting at once: one wins, the other is told the status changed', async () => {
    svc.on('/twice/A1', { status: 503 });
    const g = gid('twice');
    await dtm.post('submit', saga(g, 'twice', 1, { retry_interval: 600 }));
    await eventually(async () => (await coordinator.db.store.findGlobal(g))?.owner === '' && svc.callsTo('/twice/A1', g).length === 1);
    const [a, b] = await Promise.all([admin.abort(g, 'x', 'dave'), admin.abort(g, 'y', 'erin')]);
    // the loser either lost the conditional update or, started a moment later, found it aborting
    const oks = [a, b].filter((r) => r.ok && r.from === 'submitted' && r.to === 'aborting');
    expect(oks).toHaveLength(1);
    expect([a, b].find((r) => r !== oks[0])?.message).toMatch(/status changed to aborting|already rolling back/);
    await dtm.waitStatus(g, 'failed', 10_000);
    expect(svc.callsTo('/twice/C1', g)).toHaveLength(1);
  });

  it('tcc: a prepared one is cancelled; a submitted one with a confirmed branch is refused', async () => {
    const g1 = gid('tcc1');
    await dtm.post('prepare', { gid: g1, trans_type: 'tcc' });
    await dtm.post('registerBranch', {
      gid: g1,
      trans_type: 'tcc',
      branch_id: '01',
      data: '{}',
      confirm: svc.url('/tcc/Confirm'),
      cancel: svc.url('/tcc/Cancel'),
    });
    expect(await admin.abort(g1, '', 'frank')).toMatchObject({ ok: true, to: 'aborting' });
    await dtm.waitStatus(g1, 'failed', 10_000);
    expect(svc.trail(g1)).toEqual(['/tcc/Cancel:cancel']);

    svc.on('/tcc2/Confirm2', { status: 503 });
    const g2 = gid('tcc2');
    await dtm.post('prepare', { gid: g2, trans_type: 'tcc', retry_interval: 600 });
    for (const i of [1, 2]) {
      await dtm.post('registerBranch', {
        gid: g2,
        trans_type: 'tcc',
        branch_id: `0${i}`,
        data: '{}',
        confirm: svc.url(`/tcc2/Confirm${i}`),
        cancel: svc.url(`/tcc2/Cancel${i}`),
      });
    }
    // confirms run last registered first: Confirm2 fails, so none succeeded yet
    await dtm.post('submit', { gid: g2, trans_type: 'tcc', retry_interval: 600 });
    await eventually(async () => (await coordinator.db.store.findGlobal(g2))?.owner === '' && svc.callsTo('/tcc2/Confirm2', g2).length === 1);
    const r = await admin.abort(g2, '', 'frank');
    expect(r).toMatchObject({ ok: true, to: 'aborting' });
    await dtm.waitStatus(g2, 'failed', 10_000);

    const g3 = gid('tcc3');
    svc.on('/tcc3/Confirm1', { status: 503 });
    await dtm.post('prepare', { gid: g3, trans_type: 'tcc', retry_interval: 600 });
    for (const i of [1, 2]) {
      await dtm.post('registerBranch', {
        gid: g3,
        trans_type: 'tcc',
        branch_id: `0${i}`,
        data: '{}',
        confirm: svc.url(`/tcc3/Confirm${i}`),
        cancel: svc.url(`/tcc3/Cancel${i}`),
      });
    }
    // Confirm2 succeeds, then Confirm1 fails: a confirm has been applied
    await dtm.post('submit', { gid: g3, trans_type: 'tcc', retry_interval: 600 });
    await eventually(async () => (await coordinator.db.store.findGlobal(g3))?.owner === '' && svc.callsTo('/tcc3/Confirm1', g3).length === 1);
    const refused = await admin.abort(g3, '', 'frank');
    expect(refused.ok).toBe(false);
    expect(refused.message).toMatch(/confirm already succeeded/);
    expect(await dtm.status(g3)).toBe('submitted');
    expect(svc.trail(g3).filter((t) => t.endsWith(':cancel'))).toEqual([]);
  });

  it('msg: a prepared one fails at once; a submitted one cannot be rolled back', async () => {
    const g1 = gid('msg1');
    await dtm.post('prepare', { gid: g1, trans_type: 'msg', steps: [{ action: svc.url('/msg/A') }], payloads: ['{}'] });
    expect(await admin.abort(g1, '', 'gina')).toMatchObject({ ok: true, to: 'failed' });
    expect(await dtm.status(g1)).toBe('failed');

    svc.on('/msg2/A', { status: 503 });
    const g2 = gid('msg2');
    await dtm.post('submit', { gid: g2, trans_type: 'msg', steps: [{ action: svc.url('/msg2/A') }], payloads: ['{}'], retry_interval: 600 });
    await eventually(() => svc.callsTo('/msg2/A', g2).length === 1);
    const r = await admin.abort(g2, '', 'gina');
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/no compensation/);
  });

  it('force stop fails an unfinished transaction without calling any branch', async () => {
    svc.on('/fs/A1', { status: 503 });
    const g = gid('fs');
    await dtm.post('submit', saga(g, 'fs', 1, { retry_interval: 600 }));
    await eventually(() => svc.callsTo('/fs/A1', g).length === 1);
    const r = await admin.forceStop(g, 'known bad data', 'hank');
    expect(r).toMatchObject({ ok: true, to: 'failed' });
    const q = await dtm.query(g);
    expect(q.transaction?.status).toBe('failed');
    expect(q.transaction?.rollback_reason).toBe('force stopped by hank: known bad data');
    expect(svc.trail(g).filter((t) => t.endsWith(':compensate'))).toEqual([]);
  });
});
