// A database outage under a running coordinator: requests are refused with a clear, retryable
// error (503) while the database is down, the coordinator keeps running, and once the database is back it serves again
// and resumes the transactions it had accepted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BranchServer, eventually } from './support/branches.ts';
import { DtmHttp, startChild, type ChildCoordinator } from './support/coordinator.ts';
import { json, type DtmAnswer } from './support/replies.ts';
import { PrivatePostgres } from './support/private-pg.ts';
import { testStores } from './support/stores.ts';

describe.skipIf(!testStores().includes('postgres'))('database outage (PostgreSQL)', () => {
  const svc = new BranchServer();
  const pg = new PrivatePostgres();
  let coordinator: ChildCoordinator;

  beforeAll(async () => {
    await svc.start();
    await pg.init();
    coordinator = await startChild({
      driver: 'postgres',
      host: '127.0.0.1',
      port: pg.port,
      user: 'postgres',
      password: '',
      db: 'dtx_outage',
      schema: 'public',
      maxOpenConns: 10,
    });
  });
  afterAll(async () => {
    await coordinator?.kill();
    try {
      pg.stop();
    } catch {
      // already stopped
    }
    await svc.stop();
  });

  it('keeps serving across a restart of its database and finishes what it had accepted', async () => {
    const dtm = new DtmHttp(coordinator.base);
    let up = false;
    svc.on('/outage/A', () => (up ? {} : { status: 503, body: 'not yet' }));
    const saga = (gid: string) => ({
      gid,
      trans_type: 'saga',
      steps: [{ action: svc.url('/outage/A'), compensate: '' }],
      payloads: ['{}'],
      retry_interval: 1,
    });
    expect((await dtm.post('submit', saga('before'))).status).toBe(200);
    await eventually(() => svc.callsTo('/outage/A', 'before').length >= 1);

    pg.stop();
    const during = await dtm.post('submit', saga('during'));
    // Nothing could run: a retryable refusal naming the cause, not a failure.
    expect(during.status).toBe(503);
    expect(json<DtmAnswer & { reason?: string }>(during)).toMatchObject({ reason: 'store_unavailable' });
    expect(json<DtmAnswer>(during).message).toMatch(/database is unreachable.*ECONNREFUSED/i);
    expect((await fetch(`${coordinator.base}/api/ping`)).status).toBe(200);

    pg.start();
    up = true;
    await eventually(async () => (await dtm.post('submit', { ...saga('after'), wait_result: true })).status === 200, 30_000);
    // the submit accepted once the database is back was carried out, not only answered
    expect(await dtm.status('after')).toBe('succeed');
    expect(svc.callsTo('/outage/A', 'after').length).toBeGreaterThanOrEqual(1);
    // the saga accepted before the outage was retried after it, and its step is recorded done
    const before = await dtm.waitStatus('before', 'succeed', 30_000);
    expect(before.branches.map((b) => `${b.branch_id}/${b.op}/${b.status}`)).toEqual(['01/compensate/prepared', '01/action/succeed']);
    expect(svc.callsTo('/outage/A', 'before').length).toBeGreaterThanOrEqual(2);
    expect(await dtm.status('during')).toBeUndefined();
    expect(coordinator.proc.exitCode).toBeNull();
  }, 90_000);
});
