// Replacing dtm's server and keeping its database: dtx adopts dtm's schema at start-up (rows kept),
// finishes the transactions dtm left unfinished, resolves its topics, and works as usual after.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adoptedFromDtm, connect, storeUrl, type StoreConfig } from '@dtx/db';
import type { Coordinator } from '@dtx/coordinator';
import { BranchServer } from './support/branches.ts';
import { DtmHttp, startInProcess } from './support/coordinator.ts';
import { DTM_SCHEMA } from './support/dtm-schema.ts';
import { freshStore, testStores } from './support/stores.ts';

// dtm keeps its transactions in PostgreSQL or MySQL; a store not selected shows as a skipped suite.
for (const storeName of ['postgres', 'mysql'] as const) {
  describe.skipIf(!testStores().includes(storeName))(`adopting dtm's ${storeName} database`, () => adoptionSuite(storeName));
}

function adoptionSuite(storeName: 'postgres' | 'mysql') {
  const svc = new BranchServer();
  let store: StoreConfig;
  let coordinator: Coordinator;

  beforeAll(async () => {
    await svc.start();
    store = await freshStore(storeName, 'adopt');
    // What dtm left behind: its tables, one saga half done, one finished, a topic.
    const dtm = connect({ dialect: storeName, url: storeUrl(store), poolSize: 1 });
    try {
      for (const ddl of DTM_SCHEMA[storeName]) await dtm.run(ddl);
      const past = new Date(Date.now() - 60_000);
      const ins = (cols: string, n: number) => `(${cols}) VALUES (${new Array(n).fill('?').join(', ')})`;
      const g =
        'gid, trans_type, status, query_prepared, protocol, create_time, update_time, options, custom_data, next_cron_interval, next_cron_time, owner, ext_data';
      await dtm.run(`INSERT INTO trans_global ${ins(g, 13)}`, [
        'left-by-dtm',
        'saga',
        'submitted',
        '',
        'http',
        past,
        past,
        '{"concurrent":false}',
        '',
        10,
        past,
        'dtm-owner-token',
        '',
      ]);
      await dtm.run(`INSERT INTO trans_global ${ins(g, 13)}`, [
        'done-by-dtm',
        'saga',
        'succeed',
        '',
        'http',
        past,
        past,
        '{"concurrent":false}',
        '',
        10,
        past,
        '',
        '',
      ]);
      const b = 'gid, url, bin_data, branch_id, op, status, create_time, update_time';
      const rows: [string, string, string][] = [
        ['01', 'compensate', 'prepared'],
        ['01', 'action', 'succeed'],
        ['02', 'compensate', 'prepared'],
        ['02', 'action', 'prepared'],
      ];
      for (const [bid, op, status] of rows) {
        const url = svc.url(`/adopt/${op === 'action' ? 'A' : 'C'}${bid}`);
        await dtm.run(`INSERT INTO trans_branch_op ${ins(b, 8)}`, ['left-by-dtm', url, Buffer.from('{"amount":30}'), bid, op, status, past, past]);
      }
      await dtm.run("INSERT INTO kv (cat, k, v, version, create_time, update_time) VALUES ('topics', 'orders', ?, 1, ?, ?)", [
        JSON.stringify([{ url: svc.url('/adopt/subscriber'), remark: '' }]),
        past,
        past,
      ]);
    } finally {
      await dtm.close();
    }
    coordinator = await startInProcess(store);
  });
  afterAll(async () => {
    await coordinator?.close();
    await svc.stop();
  });

  it('keeps the rows, finishes the saga dtm left unfinished, and records the adoption', async () => {
    expect(coordinator.db.migration?.adopted).toBe(true);
    const dtm = new DtmHttp(`http://127.0.0.1:${coordinator.httpPort}`);
    const q = await dtm.waitStatus('left-by-dtm', 'succeed', 20_000);
    expect(svc.trail('left-by-dtm')).toEqual(['/adopt/A02:action']);
    expect(svc.callsTo('/adopt/A02', 'left-by-dtm')[0]?.body).toBe('{"amount":30}');
    expect(q.branches.map((x) => x.status)).toEqual(['prepared', 'succeed', 'prepared', 'succeed']);
    expect(await dtm.status('done-by-dtm')).toBe('succeed');
    const m = await coordinator.db.driver.query('SELECT migration_name, logs FROM _prisma_migrations ORDER BY migration_name');
    expect(m[0]).toMatchObject({ migration_name: '0001_init', logs: 'adopted an existing dtm schema' });
    expect(m.length).toBeGreaterThan(1);
    // dtm's finished rows are its users' history: retention stays off unless they turn it on.
    expect(await adoptedFromDtm(coordinator.db.driver)).toBe(true);
    expect(coordinator.retention).toBeNull();
    // the dashboard's models read the adopted tables
    const prisma = await coordinator.db.prisma();
    expect((await prisma.transGlobal.findFirst({ where: { gid: 'done-by-dtm' } }))?.options).toBe('{"concurrent":false}');
  });

  it("resolves dtm's topics and takes new transactions with millisecond times", async () => {
    const dtm = new DtmHttp(`http://127.0.0.1:${coordinator.httpPort}`);
    const r = await dtm.post('submit', {
      gid: 'after-adoption',
      trans_type: 'msg',
      steps: [{ action: 'topic://orders' }],
      payloads: ['{}'],
      wait_result: true,
    });
    expect(r.status).toBe(200);
    expect(svc.callsTo('/adopt/subscriber', 'after-adoption')).toHaveLength(1);
    const t = (await dtm.query('after-adoption')).transaction;
    expect(t?.status).toBe('succeed');
  });
}
