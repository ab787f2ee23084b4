// Leases keep a long pass to one instance: while a pass outlives its first lease, the heartbeat
// extends it, and another instance's scheduler keeps away. Two engines share one database here,
// with a 1-second lease (the server's RetryInterval minimum of 10 s would make this slow).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '@dtx/db';
import { CallRouter, HttpTransport } from '@dtx/coordinator';
import { defaultOptions, Engine } from '@dtx/engine';
import { BranchServer, eventually } from './support/branches.ts';
import { freshStore, testStores } from './support/stores.ts';

describe.each(testStores())('leases on %s', (storeName) => {
  const svc = new BranchServer();
  let dbA: Database;
  let dbB: Database;
  let a: Engine;
  let b: Engine;
  const engine = (db: Database, instanceId: string) =>
    new Engine({
      store: db.store,
      caller: new CallRouter(new HttpTransport()),
      instanceId,
      config: { retryInterval: 1, timeoutToFail: 10, requestTimeout: 10, transCronInterval: 0.2 },
    });

  beforeAll(async () => {
    await svc.start();
    const store = await freshStore(storeName, 'lease');
    dbA = await openDatabase(store);
    dbB = storeName === 'sqlite' ? dbA : await openDatabase(store);
    a = engine(dbA, 'engine-a');
    b = engine(dbB, 'engine-b');
    a.start();
    b.start();
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await dbA?.close();
    if (dbB !== dbA) await dbB?.close();
    await svc.stop();
  });

  it('a pass that runs for three leases is never run twice at once', async () => {
    svc.on('/lease/Slow', { delayMs: 3500 });
    const gid = `lease-${storeName}-${Date.now()}`;
    await a.submit({
      gid,
      transType: 'saga',
      steps: [{ action: svc.url('/lease/Slow'), compensate: '' }],
      payloads: [Buffer.from('{}')],
      customData: '',
      queryPrepared: '',
      protocol: 'http',
      rollbackReason: '',
      options: defaultOptions(),
      reqExtra: {},
      extHeaders: {},
    });
    await eventually(async () => (await dbA.store.findGlobal(gid))?.status === 'succeed', 20_000);
    expect(svc.callsTo('/lease/Slow', gid)).toHaveLength(1);
    expect(svc.maxConcurrentSame).toBe(1);
  });
});
