// Crash recovery: a coordinator killed with SIGKILL in the middle of a saga leaves a lease that
// expires; the restarted coordinator picks the saga up and drives it to the end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BranchServer, eventually } from './support/branches.ts';
import { DtmHttp, startChild, type ChildCoordinator } from './support/coordinator.ts';
import { freshStore, testStores } from './support/stores.ts';

describe.each(testStores())('crash recovery on %s', (storeName) => {
  const svc = new BranchServer();
  const children: ChildCoordinator[] = [];

  beforeAll(async () => {
    await svc.start();
  });
  afterAll(async () => {
    for (const c of children) await c.kill();
    await svc.stop();
  });

  it('completes a saga whose coordinator was killed while a slow branch was running', async () => {
    const store = await freshStore(storeName, 'crash');
    const first = await startChild(store);
    children.push(first);
    let slowCalls = 0;
    let firstCallArrived!: () => void;
    const arrived = new Promise<void>((r) => (firstCallArrived = r));
    svc.on('/crash/TransIn', () => {
      slowCalls++;
      if (slowCalls === 1) {
        firstCallArrived();
        return { delayMs: 2000 };
      }
      return {};
    });
    const gid = `crash-${storeName}-${Date.now()}`;
    const dtm1 = new DtmHttp(first.base);
    const r = await dtm1.post('submit', {
      gid,
      trans_type: 'saga',
      steps: [
        { action: svc.url('/crash/TransOut'), compensate: svc.url('/crash/TransOutRevert') },
        { action: svc.url('/crash/TransIn'), compensate: svc.url('/crash/TransInRevert') },
        { action: svc.url('/crash/Notify'), compensate: '' },
      ],
      payloads: ['{"amount":30}', '{"amount":30}', '{}'],
    });
    expect(r.status).toBe(200);
    await arrived;
    // During the slow call the coordinator writes what the pass learnt so far (TransOut
    // succeeded): once that is stored, only the interrupted call is repeated after the restart.
    await eventually(
      async () => {
        const q = await dtm1.query(gid);
        return q.branches.find((b) => b.op === 'action' && b.branch_id === '01')?.status === 'succeed';
      },
      10_000,
      20,
    );
    await first.kill('SIGKILL');

    const second = await startChild(store);
    children.push(second);
    const dtm2 = new DtmHttp(second.base);
    const q = await dtm2.waitStatus(gid, 'succeed', 45_000);
    expect(q.branches.filter((b) => b.op === 'action').map((b) => b.status)).toEqual(['succeed', 'succeed', 'succeed']);
    expect(svc.callsTo('/crash/TransOut', gid)).toHaveLength(1);
    expect(slowCalls).toBe(2);
    expect(svc.callsTo('/crash/Notify', gid)).toHaveLength(1);
    expect(svc.trail(gid).filter((t) => t.endsWith(':compensate'))).toEqual([]);
    await second.kill('SIGTERM');
  }, 90_000);
});
