// Leases keep a long pass to one instance: while a pass outlives its first lease, the heartbeat
// extends it, and another instance's scheduler keeps away. Two engines share one database here,
// with a 1-second lease (the server's RetryInterval minimum of 10 s would make this slow).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database, type Store } from '@dtx/db';
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

/**
 * A store whose lease renewals fail, as during a database outage that this instance sees and
 * the database does not (a network partition, a pool exhausted for longer than a lease): every
 * other operation reaches the real database.
 */
function renewalsFail(store: Store): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'renewLeases') return () => Promise.reject(new Error('connection refused (injected)'));
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

describe.each(testStores())('lease fencing on %s', (storeName) => {
  const svc = new BranchServer();
  let db: Database;
  const engines: Engine[] = [];
  const engine = (store: Store, instanceId: string) => {
    const e = new Engine({
      store,
      caller: new CallRouter(new HttpTransport()),
      instanceId,
      config: { retryInterval: 1, timeoutToFail: 60, requestTimeout: 10, transCronInterval: 0.2 },
    });
    engines.push(e);
    return e;
  };
  const saga = (gid: string, label: string) => ({
    gid,
    transType: 'saga',
    steps: [
      { action: svc.url(`/${label}/A1`), compensate: '' },
      { action: svc.url(`/${label}/A2`), compensate: '' },
    ],
    payloads: [Buffer.from('{}'), Buffer.from('{}')],
    customData: '',
    queryPrepared: '',
    protocol: 'http',
    rollbackReason: '',
    options: defaultOptions(),
    reqExtra: {},
    extHeaders: {},
  });

  beforeAll(async () => {
    await svc.start();
    db = await openDatabase(await freshStore(storeName, 'fence'));
  });
  afterAll(async () => {
    for (const e of engines) await e.stop();
    await db?.close();
    await svc.stop();
  });

  it('a pass whose lease cannot be renewed calls no branch its lease may not cover, and leaves the lease to expire', async () => {
    // A 1 s lease cannot cover a call with a 10 s timeout: the pass must renew first, and fails.
    const a = engine(renewalsFail(db.store), 'fence-a');
    const gid = `fence-${storeName}-${Date.now()}`;
    await a.submit(saga(gid, 'stop'));
    await eventually(() => a.inFlight() === 0);
    expect(svc.callsTo('/stop/A1', gid)).toHaveLength(0);
    const row = await db.store.findGlobal(gid);
    expect(row?.status).toBe('submitted');
    expect(row?.owner).not.toBe(''); // not released: it expires by itself
    expect(row?.lastError).toBe(''); // a lost lease is no fault of the transaction
  });

  it('an instance whose renewals fail never overlaps the instance that takes its transaction over', async () => {
    svc.on('/take/A1', { delayMs: 1500 });
    const a = engine(renewalsFail(db.store), 'take-a');
    const b = engine(db.store, 'take-b');
    const gid = `take-${storeName}-${Date.now()}`;
    await a.submit(saga(gid, 'take'));
    b.start();
    await eventually(async () => (await db.store.findGlobal(gid))?.status === 'succeed', 20_000);
    expect(svc.maxConcurrentSame).toBe(1);
    expect(svc.trail(gid)).toEqual(['/take/A1:action', '/take/A2:action']);
  });
});
