// The server side of workflow transactions: progress storage for replay, submit of the final
// status, and the resume callback of a workflow its client abandoned.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Coordinator } from '@dtx/coordinator';
import { BranchServer, eventually } from './support/branches.ts';
import { DtmHttp, startInProcess } from './support/coordinator.ts';
import { json, type DtmAnswer, type DtmProgresses } from './support/replies.ts';
import { freshStore, testStores } from './support/stores.ts';

describe.each(testStores())('workflow on %s', (storeName) => {
  let coordinator: Coordinator;
  let dtm: DtmHttp;
  const svc = new BranchServer();
  let n = 0;
  const gid = (label: string) => `wf-${label}-${storeName}-${++n}-${Date.now()}`;

  beforeAll(async () => {
    await svc.start();
    coordinator = await startInProcess(await freshStore(storeName, 'wf'));
    dtm = new DtmHttp(`http://127.0.0.1:${coordinator.httpPort}`);
  });
  afterAll(async () => {
    await coordinator?.close();
    await svc.stop();
  });

  const input = Buffer.from('{"amount":30}');
  const prepare = (g: string, extra: Record<string, unknown> = {}) =>
    dtm.post('prepareWorkflow', {
      gid: g,
      trans_type: 'workflow',
      protocol: 'http',
      query_prepared: svc.url('/wf/resume'),
      custom_data: JSON.stringify({ name: 'transfer', data: input.toString('base64') }),
      ...extra,
    });

  it('stores progress for replay and finishes with the submitted status and result', async () => {
    const g = gid('replay');
    const first = await prepare(g);
    expect(first.status).toBe(200);
    expect(json<DtmProgresses>(first).transaction).toMatchObject({ gid: g, status: 'prepared' });
    expect(json<DtmProgresses>(first).progresses).toEqual([]);

    const reg = await dtm.post('registerBranch', {
      gid: g,
      trans_type: 'workflow',
      branch_id: '01',
      op: 'action',
      status: 'succeed',
      data: '{"ok":true}',
    });
    expect(reg.status).toBe(200);
    const again = await prepare(g);
    expect(json<DtmProgresses>(again).progresses).toEqual([
      { status: 'succeed', bin_data: Buffer.from('{"ok":true}').toString('base64'), branch_id: '01', op: 'action' },
    ]);
    const dup = await dtm.post('registerBranch', { gid: g, trans_type: 'workflow', branch_id: '01', op: 'action', status: 'succeed', data: 'x' });
    expect(dup.status).toBe(500);

    const result = Buffer.from('done').toString('base64');
    const sub = await dtm.post('submit', { gid: g, trans_type: 'workflow', req_extra: { status: 'succeed', rollback_reason: '', result } });
    expect(sub.status).toBe(200);
    const done = await prepare(g);
    expect(json<DtmProgresses>(done).transaction).toMatchObject({ status: 'succeed', result });
    // a second submit finds no prepared workflow
    const late = await dtm.post('submit', { gid: g, trans_type: 'workflow', req_extra: { status: 'failed' } });
    expect(late.status).toBe(500);
    expect(json<DtmAnswer>(late).message).toBe('storage: NotFound');
  });

  it('calls the resume callback of an abandoned prepared workflow with its input', async () => {
    const g = gid('resume');
    await prepare(g, { retry_interval: 1 });
    const calls = await eventually(() => {
      const c = svc.callsTo('/wf/resume', g);
      return c.length ? c : null;
    }, 10_000);
    expect(calls[0]?.method).toBe('POST');
    expect(calls[0]?.body).toBe(input.toString());
    expect(calls[0]?.query).toEqual({ branch_id: '00', gid: g, op: 'transfer', trans_type: 'workflow' });
    expect(await dtm.status(g)).toBe('prepared');
    await dtm.post('submit', { gid: g, trans_type: 'workflow', req_extra: { status: 'failed', rollback_reason: 'gave up' } });
    const q = await dtm.query(g);
    expect(q.transaction).toMatchObject({ status: 'failed', rollback_reason: 'gave up' });
  });

  it('refuses a workflow submit with an invalid status', async () => {
    const g = gid('bad');
    await prepare(g);
    const r = await dtm.post('submit', { gid: g, trans_type: 'workflow', req_extra: { status: 'done' } });
    expect(r.status).toBe(400);
    expect(await dtm.status(g)).toBe('prepared');
  });
});
