// Several coordinator instances on one database: every due transaction is processed by one
// instance at a time (leases), every saga ends exactly once, and both instances share the work.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, storeUrl, type StoreConfig } from '@dtx/db';
import { BranchServer } from './support/branches.ts';
import { DtmHttp, startChild, type ChildCoordinator } from './support/coordinator.ts';
import { nth } from './support/checked.ts';
import { freshStore, testStores } from './support/stores.ts';

const SAGAS = 200;

// SQLite is the single-instance store: this runs on the shared stores, and a shared store not
// selected shows as a skipped suite.
for (const storeName of ['postgres', 'mysql'] as const) {
  describe.skipIf(!testStores().includes(storeName))(`two instances on one ${storeName} database`, () => multiInstanceSuite(storeName));
}

function multiInstanceSuite(storeName: 'postgres' | 'mysql') {
  const svc = new BranchServer();
  const children: ChildCoordinator[] = [];
  let store: StoreConfig;

  beforeAll(async () => {
    await svc.start();
    store = await freshStore(storeName, 'multi');
    // Start one, then the other: the second finds the schema migrated (or waits on the lock).
    // The 200 submits go out at once: room for all of them (admission is tests/admission.test.ts's).
    const env = { CRON_CONCURRENCY: '16', MAX_INFLIGHT_SUBMITS: '1000' };
    children.push(await startChild(store, env));
    children.push(await startChild(store, env));
  });
  afterAll(async () => {
    for (const c of children) await c.kill();
    await svc.stop();
  });

  it(`drives ${SAGAS} retried sagas to succeed exactly once, never running one branch twice at a time`, async () => {
    const failedOnce = new Set<string>();
    let successes = 0;
    svc.on('/multi/TransIn', (req) => {
      // First call of every saga fails, so the retries go through both instances' schedulers.
      if (!failedOnce.has(req.gid)) {
        failedOnce.add(req.gid);
        return { status: 500, body: 'temporarily unavailable' };
      }
      successes++;
      return { delayMs: 150 };
    });
    // TransOut takes longer than the saga's retry interval: while the submitting instance's pass
    // waits for it, the row is already due, and only its lease keeps the other instance away.
    svc.on('/multi/TransOut', { delayMs: 1200 });
    const prefix = `multi-${storeName}-${Date.now()}`;
    const gids = Array.from({ length: SAGAS }, (_, i) => `${prefix}-${i}`);
    const clients = children.map((c) => new DtmHttp(c.base));
    await Promise.all(
      gids.map(async (gid, i) => {
        const r = await nth(clients, i % 2).post('submit', {
          gid,
          trans_type: 'saga',
          retry_interval: 1,
          steps: [
            { action: svc.url('/multi/TransOut'), compensate: svc.url('/multi/TransOutRevert') },
            { action: svc.url('/multi/TransIn'), compensate: svc.url('/multi/TransInRevert') },
          ],
          payloads: ['{}', '{}'],
        });
        expect(r.status).toBe(200);
      }),
    );

    const deadline = Date.now() + 90_000;
    const db = connect({ dialect: storeName, url: storeUrl(store), poolSize: 2 });
    try {
      for (;;) {
        const rows = await db.query(`SELECT status, COUNT(*) AS n FROM trans_global WHERE gid LIKE ? GROUP BY status`, [`${prefix}-%`]);
        const done = rows.find((r) => r.status === 'succeed');
        if (Number(done?.n ?? 0) === SAGAS) break;
        if (Date.now() > deadline) throw new Error(`not all sagas succeeded: ${JSON.stringify(rows)}`);
        await new Promise((r) => setTimeout(r, 500));
      }
      for (const gid of gids) {
        expect(svc.callsTo('/multi/TransOut', gid)).toHaveLength(1);
        expect(svc.callsTo('/multi/TransIn', gid)).toHaveLength(2);
      }
      expect(successes).toBe(SAGAS);
      expect(svc.maxConcurrentSame).toBe(1);
      expect(svc.calls.filter((c) => c.op === 'compensate')).toHaveLength(0);
      // Both instances' schedulers took part in the retries.
      await new Promise((r) => setTimeout(r, 300)); // attempt log flush
      const owners = await db.query(
        `SELECT owner, COUNT(*) AS n FROM branch_attempt WHERE gid LIKE ? AND outcome = 'success' AND branch_id = '02' GROUP BY owner`,
        [`${prefix}-%`],
      );
      expect(owners.length).toBe(2);
    } finally {
      await db.close();
    }
  }, 150_000);
}
