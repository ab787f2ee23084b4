// Retry timing on a clock moved by hand: an in-process engine on a real store with real branch
// services, whose scheduler is driven step by step (claimAndRun) while the test moves the clock.
// What dtm promises: a failing branch is retried with the interval doubling from the base
// (retry_interval), nothing runs before it is due, and a transaction past timeout_to_fail rolls
// back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallRouter, HttpTransport } from '@dtx/coordinator';
import { openDatabase, type Database } from '@dtx/db';
import { defaultOptions, Engine, type TransOptions } from '@dtx/engine';
import { BranchServer, eventually } from './support/branches.ts';
import { ManualClock } from './support/clock.ts';
import { freshStore, testStores } from './support/stores.ts';

describe.each(testStores())('retry timing on %s (a clock moved by hand)', (storeName) => {
  const svc = new BranchServer();
  const clock = new ManualClock();
  let db: Database;
  let engine: Engine;
  let n = 0;

  beforeAll(async () => {
    await svc.start();
    db = await openDatabase(await freshStore(storeName, 'timing'));
    engine = new Engine({ store: db.store, caller: new CallRouter(new HttpTransport()), clock, config: { retryInterval: 10 } });
  });
  afterAll(async () => {
    await engine?.stop();
    await db?.close();
    await svc.stop();
  });

  async function submitSaga(label: string, options: Partial<TransOptions>): Promise<string> {
    const gid = `timing-${label}-${storeName}-${++n}`;
    await engine.submit({
      gid,
      transType: 'saga',
      steps: [
        { action: svc.url(`/${label}/TransOut`), compensate: svc.url(`/${label}/TransOutRevert`) },
        { action: svc.url(`/${label}/TransIn`), compensate: svc.url(`/${label}/TransInRevert`) },
      ],
      payloads: [Buffer.from('{"amount":30}'), Buffer.from('{"amount":30}')],
      customData: '',
      queryPrepared: '',
      protocol: 'http',
      rollbackReason: '',
      options: { ...defaultOptions(), ...options },
      reqExtra: {},
      extHeaders: {},
    });
    await passesDone();
    return gid;
  }

  const passesDone = () => eventually(() => engine.inFlight() === 0);

  /** Moves the clock, runs whatever became due, and returns how many transactions were claimed. */
  async function tick(seconds: number): Promise<number> {
    clock.advance(seconds);
    const claimed = await engine.claimAndRun(10);
    await passesDone();
    return claimed;
  }

  it('retries a branch that answers 5xx with the interval doubling, never before it is due, until it answers', async () => {
    let calls = 0;
    svc.on('/down/TransIn', () => (++calls < 3 ? { status: 503, body: 'service unavailable' } : {}));
    const g = await submitSaga('down', { retryInterval: 1 });
    expect(svc.callsTo('/down/TransIn', g)).toHaveLength(1);
    // First failure: back off to 2 s. Not due after 1.9 s, due at 2 s.
    expect((await db.store.findGlobal(g))?.nextCronInterval).toBe(2);
    expect(await tick(1.9)).toBe(0);
    expect(await tick(0.1)).toBe(1);
    expect(svc.callsTo('/down/TransIn', g)).toHaveLength(2);
    // Second failure: 4 s.
    expect((await db.store.findGlobal(g))?.nextCronInterval).toBe(4);
    expect(await tick(3.9)).toBe(0);
    expect(await tick(0.1)).toBe(1);
    const row = await db.store.findGlobal(g);
    expect(row?.status).toBe('succeed');
    expect(row?.retryCount).toBe(2);
    expect(svc.callsTo('/down/TransIn', g)).toHaveLength(3);
    expect(svc.callsTo('/down/TransOut', g)).toHaveLength(1);
    expect(svc.trail(g).filter((t) => t.endsWith(':compensate'))).toEqual([]);
    expect((await db.store.findBranches(g)).map((b) => `${b.branchId}/${b.op}/${b.status}`)).toEqual([
      '01/compensate/prepared',
      '01/action/succeed',
      '02/compensate/prepared',
      '02/action/succeed',
    ]);
  });

  it('rolls back a saga still failing when timeout_to_fail has passed, compensating what may have run', async () => {
    svc.on('/late/TransIn', { status: 503 });
    const g = await submitSaga('late', { retryInterval: 1, timeoutToFail: 5 });
    expect(await tick(2)).toBe(1); // second failure, interval 4
    expect((await db.store.findGlobal(g))?.status).toBe('submitted');
    expect(await tick(4)).toBe(1); // 6 s after creation: past the 5 s timeout
    const row = await db.store.findGlobal(g);
    expect(row?.status).toBe('failed');
    expect(row?.rollbackReason).toBe('Timeout after 5 seconds');
    expect(svc.trail(g).filter((t) => t.endsWith(':compensate'))).toEqual(['/late/TransInRevert:compensate', '/late/TransOutRevert:compensate']);
  });
});
