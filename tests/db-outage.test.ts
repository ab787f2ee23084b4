// A database outage under a running coordinator: requests fail with a clear error while the
// database is down, the coordinator keeps running, and once the database is back it serves again
// and resumes the transactions it had accepted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BranchServer, eventually } from './support/branches.ts';
import { DtmHttp, startChild, type ChildCoordinator } from './support/coordinator.ts';
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
      driver: 'postgres', host: '127.0.0.1', port: pg.port, user: 'postgres', password: '', db: 'dtx_outage', schema: 'public', maxOpenConns: 10,
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
    expect(during.status).toBe(500);
    expect(during.body.message).toMatch(/ECONNREFUSED|connect|terminat/i);
    expect((await fetch(`${coordinator.base}/api/ping`)).status).toBe(200);

    pg.start();
    up = true;
    const after = await eventually(async () => (await dtm.post('submit', { ...saga('after'), wait_result: true })).status === 200, 30_000);
    expect(after).toBe(true);
    await dtm.waitStatus('before', 'succeed', 30_000);
    expect(await dtm.status('during')).toBeUndefined();
    expect(coordinator.proc.exitCode).toBeNull();
  }, 90_000);
});
