// The columns the Stuck view reads (docs/operations.md, "The Stuck view"), as a real engine keeps
// them: an in-process engine on a real store calls real branch services while the test moves the
// clock; after each pass the row tells since when and how often its calls have failed in a row,
// or since when a branch answers "ongoing", and a successful call clears both.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallRouter, HttpTransport } from '@dtx/coordinator';
import { openDatabase, type Database } from '@dtx/db';
import { defaultOptions, Engine } from '@dtx/engine';
import { BranchServer, eventually } from './support/branches.ts';
import { ManualClock } from './support/clock.ts';
import { freshStore, testStores } from './support/stores.ts';

describe.each(testStores())('runs of failed and ongoing calls on %s', (storeName) => {
  const svc = new BranchServer();
  const clock = new ManualClock();
  let db: Database;
  let engine: Engine;

  beforeAll(async () => {
    await svc.start();
    db = await openDatabase(await freshStore(storeName, 'streak'));
    engine = new Engine({ store: db.store, caller: new CallRouter(new HttpTransport()), clock, config: { retryInterval: 10 } });
  });
  afterAll(async () => {
    await engine?.stop();
    await db?.close();
    await svc.stop();
  });

  const passesDone = () => eventually(() => engine.inFlight() === 0);
  async function tick(seconds: number): Promise<void> {
    clock.advance(seconds);
    await engine.claimAndRun(10);
    await passesDone();
  }

  it('counts failed calls in a row from the first failure, restarts the run on "ongoing", clears it on success', async () => {
    const answers = [{ status: 500, body: 'stock db down' }, { status: 500, body: 'stock db down' }, { status: 425 }, { status: 425 }, {}];
    svc.on('/streak/TransIn', () => answers.shift() ?? {});
    const gid = `streak-${storeName}`;
    const start = clock.now().getTime();
    await engine.submit({
      gid,
      transType: 'saga',
      steps: [
        { action: svc.url('/streak/TransOut'), compensate: svc.url('/streak/TransOutRevert') },
        { action: `${svc.url('/streak/TransIn')}?shard=7`, compensate: svc.url('/streak/TransInRevert') },
      ],
      payloads: [Buffer.from('{}'), Buffer.from('{}')],
      customData: '',
      queryPrepared: '',
      protocol: 'http',
      rollbackReason: '',
      options: { ...defaultOptions(), retryInterval: 1 },
      reqExtra: {},
      extHeaders: {},
    });
    await passesDone();
    const endpoint = `127.0.0.1:${svc.port}/streak/TransIn`;
    let row = await db.store.findGlobal(gid);
    // TransOut succeeded, then TransIn failed: a run of one failure, started now
    expect(row).toMatchObject({ failStreak: 1, failEndpoint: endpoint, failDetail: '500', ongoingSince: null });
    expect(row?.failSince?.getTime()).toBe(start);

    await tick(2);
    row = await db.store.findGlobal(gid);
    expect(row).toMatchObject({ failStreak: 2, failEndpoint: endpoint, failDetail: '500', ongoingSince: null });
    expect(row?.failSince?.getTime()).toBe(start);

    const ongoingAt = clock.now().getTime() + 4000;
    await tick(4);
    row = await db.store.findGlobal(gid);
    expect(row).toMatchObject({ failStreak: 0, failSince: null, failEndpoint: endpoint, failDetail: 'ongoing' });
    expect(row?.ongoingSince?.getTime()).toBe(ongoingAt);

    // ongoing keeps the interval: due again in 4 s
    await tick(4);
    row = await db.store.findGlobal(gid);
    expect(row?.ongoingSince?.getTime()).toBe(ongoingAt);

    await tick(4);
    row = await db.store.findGlobal(gid);
    expect(row).toMatchObject({ status: 'succeed', failStreak: 0, failSince: null, ongoingSince: null, failEndpoint: '', failDetail: '' });
    expect(svc.callsTo('/streak/TransIn', gid)).toHaveLength(5);
  });
});
