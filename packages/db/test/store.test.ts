// The store port on real databases: conditions of every state change, lease claims, migrations,
// and agreement between the Prisma schema and each dialect's SQL migrations.
import BetterSqlite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connect,
  loadMigrations,
  migrate,
  openDatabase,
  SqlStore,
  StoreError,
  StoreUnavailableError,
  withStoreWait,
  type Database,
  type NewGlobal,
} from '@dtx/db';
import { globalRow } from '../../../tests/support/rows.ts';
import { freshStore, testStores } from '../../../tests/support/stores.ts';

const later = (ms: number) => new Date(Date.now() + ms);

const global = (gid: string, extra: Partial<NewGlobal> = {}) => globalRow(gid, later(10_000), extra);

describe.each(testStores())('store on %s', (storeName) => {
  let db: Database;
  let n = 0;
  const gid = () => `st-${++n}-${Date.now()}`;

  beforeAll(async () => {
    db = await openDatabase(await freshStore(storeName, 'store'));
  });
  afterAll(async () => {
    await db?.close();
  });

  it('batch runs its writes in one transaction: a failing statement leaves none of them', async () => {
    const g = gid();
    const put = (k: string) => ({
      sql: "INSERT INTO kv (cat, k, v, version, create_time, update_time) VALUES ('batch', ?, '1', 1, ?, ?)",
      params: [k, new Date(), new Date()],
    });
    expect(await db.driver.batch([put(`${g}-a`), put(`${g}-b`)])).toEqual([1, 1]);
    // The third collides with the first on (cat, k): the second must not stay either.
    await expect(db.driver.batch([put(`${g}-c`), put(`${g}-d`), put(`${g}-a`)])).rejects.toThrow();
    const rows = await db.driver.query("SELECT k FROM kv WHERE cat = 'batch' AND k LIKE ? ORDER BY k", [`${g}-%`]);
    expect(rows.map((r) => r.k)).toEqual([`${g}-a`, `${g}-b`]);
    // The connection is usable afterwards (no transaction left open on it).
    expect(await db.driver.batch([put(`${g}-e`)])).toEqual([1]);
  });

  it('insertTrans of a gid that exists returns false and adds no branch; a colliding branch fails the whole insert', async () => {
    const g = gid();
    const branch = (id: string) => ({
      gid: g,
      url: 'http://x/a',
      binData: Buffer.from('{}'),
      branchId: id,
      op: 'action',
      status: 'prepared' as const,
    });
    expect(await db.store.insertTrans(global(g), [branch('01')], new Date())).toBe(true);
    expect(await db.store.insertTrans(global(g), [branch('02')], new Date())).toBe(false);
    expect((await db.store.findBranches(g)).map((b) => b.branchId)).toEqual(['01']);
    const h = gid();
    const dup = { ...branch('01'), gid: h };
    await expect(db.store.insertTrans(global(h), [dup, dup], new Date())).rejects.toThrow();
    expect(await db.store.findGlobal(h)).toBeNull();
  });

  it('migrations are recorded and re-running them applies nothing', async () => {
    const again = await migrate(db.driver);
    expect(again.applied).toEqual([]);
    const rows = await db.driver.query('SELECT migration_name FROM _prisma_migrations ORDER BY migration_name');
    expect(rows.map((r) => r.migration_name)).toContain('0001_init');
  });

  it('every Prisma model can be queried on the migrated database (schema and SQL agree)', async () => {
    const prisma = await db.prisma();
    const g = gid();
    await db.store.insertTrans(
      global(g),
      [{ gid: g, url: 'http://x/a', binData: Buffer.from('{}'), branchId: '01', op: 'action', status: 'prepared' as const }],
      new Date(),
    );
    await db.store.insertAttempts([
      {
        gid: g,
        branchId: '01',
        op: 'action',
        url: 'http://x/a',
        protocol: 'http',
        startedAt: new Date(),
        durationMs: 5,
        httpStatus: 200,
        grpcCode: null,
        outcome: 'success',
        response: 'ok',
        error: '',
        owner: 'o',
      },
    ]);
    await db.driver.run("INSERT INTO kv (cat, k, v, version, create_time, update_time) VALUES ('topics', 'k1', '[]', 1, ?, ?)", [
      new Date(),
      new Date(),
    ]);
    const tg = await prisma.transGlobal.findFirst({ where: { gid: g } });
    expect(tg?.status).toBe('submitted');
    expect(tg?.createTime).toBeInstanceOf(Date);
    const tb = await prisma.transBranchOp.findFirst({ where: { gid: g } });
    expect(Buffer.from(tb!.binData!).toString()).toBe('{}');
    expect((await prisma.branchAttempt.findFirst({ where: { gid: g } }))?.httpStatus).toBe(200);
    expect((await prisma.kv.findFirst({ where: { k: 'k1' } }))?.cat).toBe('topics');
    const now = new Date();
    await prisma.auditLog.create({
      data: { at: now, actor: 'a', action: 'retry', reason: '', target: g, gidCount: 1, succeeded: 1, failed: 0, details: '[]' },
    });
    expect((await prisma.auditLog.findFirst({ where: { target: g } }))?.actor).toBe('a');
    await prisma.dashboardUser.create({ data: { username: `u-${g}`, passwordHash: 'x', role: 'viewer', createdAt: now, updatedAt: now } });
    expect((await prisma.dashboardUser.findFirst({ where: { username: `u-${g}` } }))?.disabled).toBe(false);
    await db.store.heartbeat({
      instanceId: `n-${g}`,
      address: 'http://h:1',
      version: 'v',
      hostname: 'h',
      pid: 1,
      store: storeName,
      startedAt: now,
      heartbeatAt: now,
      inFlight: 3,
    });
    expect(await prisma.coordinatorNode.findFirst({ where: { instanceId: `n-${g}` } })).toMatchObject({ worker: null, workers: 1 });
    await db.store.heartbeat({
      instanceId: `n-${g}`,
      address: 'http://h:1',
      version: 'v',
      hostname: 'h',
      pid: 1,
      store: storeName,
      startedAt: now,
      heartbeatAt: now,
      inFlight: 4,
      worker: 1,
      workers: 3,
    });
    expect(await prisma.coordinatorNode.findFirst({ where: { instanceId: `n-${g}` } })).toMatchObject({ inFlight: 4, worker: 1, workers: 3 });
  });

  it('insertTrans writes nothing when the gid exists', async () => {
    const g = gid();
    const b = { gid: g, url: '', binData: null, branchId: '01', op: 'action', status: 'prepared' as const };
    expect(await db.store.insertTrans(global(g), [b], new Date())).toBe(true);
    expect(await db.store.insertTrans(global(g, { status: 'prepared' as const }), [{ ...b, branchId: '02' }], new Date())).toBe(false);
    expect((await db.store.findGlobal(g))?.status).toBe('submitted');
    expect((await db.store.findBranches(g)).map((x) => x.branchId)).toEqual(['01']);
  });

  it('writes issued together succeed or fail alone (SQLite runs them in one group commit)', async () => {
    const [g1, g2, g3, g4] = [gid(), gid(), gid(), gid()];
    await db.store.insertTrans(global(g1, { status: 'prepared', transType: 'tcc' }), [], new Date());
    const b = (id: string) => ({ gid: g1, url: 'http://x/c', binData: null, branchId: id, op: 'confirm', status: 'prepared' as const });
    // Its global's row is written, then its second branch collides with its first: the row must go too.
    const results = await Promise.allSettled([
      db.store.insertTrans(
        global(g4),
        [b('01'), b('01')].map((x) => ({ ...x, gid: g4 })),
        new Date(),
      ),
      db.store.registerBranches(g1, [b('01')], new Date()),
      db.store.registerBranches(g1, [b('01')], new Date()),
      db.store.insertTrans(global(g2), [], new Date()),
      db.store.insertTrans(global(g2), [], new Date()),
      db.store.registerBranches(g1, [b('02')], new Date()),
      db.store.insertTrans(global(g3), [], new Date()),
    ]);
    const [failsLate, r1, r2, i1, i2, r3, i3] = results;
    expect(failsLate?.status).toBe('rejected');
    expect(await db.store.findGlobal(g4)).toBeNull();
    expect([r1, r2].filter((r) => r.status === 'fulfilled' && r.value === 'ok')).toHaveLength(1);
    expect([r1, r2].filter((r) => r.status === 'rejected' && r.reason instanceof StoreError)).toHaveLength(1);
    expect([i1, i2].map((r) => (r as PromiseFulfilledResult<boolean>).value).sort()).toEqual([false, true]);
    expect(r3).toMatchObject({ status: 'fulfilled', value: 'ok' });
    expect(i3).toMatchObject({ status: 'fulfilled', value: true });
    expect((await db.store.findBranches(g1)).map((x) => x.branchId).sort()).toEqual(['01', '02']);
    expect(await db.store.findGlobal(g3)).not.toBeNull();
  });

  it('concurrent inserts and status changes are each answered as if alone, whether or not they shared a commit', async () => {
    const before = db.store instanceof SqlStore ? db.store.groupStats() : {};
    const gids = Array.from({ length: 20 }, () => gid());
    const branches = (g: string) => [
      { gid: g, url: 'http://x/a', binData: Buffer.from(`{"g":"${g}"}`), branchId: '01', op: 'compensate', status: 'prepared' as const },
      { gid: g, url: 'http://x/a', binData: null, branchId: '01', op: 'action', status: 'prepared' as const },
    ];
    const tooLong = 'x'.repeat(200); // over trans_global.gid's 128 characters on the server stores
    const inserts = await Promise.allSettled([
      ...gids.map((g) => db.store.insertTrans(global(g, { owner: `o-${g}`, leaseMs: 10_000 }), branches(g), new Date())),
      db.store.insertTrans(global(gids[3] as string, { owner: 'late' }), [], new Date()),
      db.store.insertTrans(global(tooLong), [], new Date()),
    ]);
    expect(inserts.slice(0, 20).map((r) => (r.status === 'fulfilled' ? r.value : String(r.reason)))).toEqual(gids.map(() => true));
    expect(inserts[20]).toMatchObject({ status: 'fulfilled', value: false });
    if (storeName !== 'sqlite') expect(inserts[21]?.status).toBe('rejected');
    for (const g of gids) {
      const bs = await db.store.findBranches(g);
      expect(bs.map((b) => `${b.branchId}/${b.op}/${b.binData?.toString() ?? ''}`)).toEqual([`01/compensate/{"g":"${g}"}`, '01/action/']);
    }
    expect((await db.store.findGlobal(gids[3] as string))?.owner).toBe(`o-${gids[3]}`);

    const at = new Date();
    const changes = await Promise.all(
      gids.map((g, i) =>
        db.store.changeStatus(g, 'submitted', i % 2 ? 'succeed' : 'failed', at, {
          owner: i === 5 ? 'not-the-owner' : `o-${g}`,
          release: true,
          errors: i,
          lastError: i ? `e${i}` : '',
          rollbackReason: i % 2 ? undefined : `r${i}`,
          branches: [{ branchId: '01', op: 'action', status: 'succeed' }],
          streak: { failSince: null, failStreak: 0, ongoingSince: null, failEndpoint: '', failDetail: '' },
        }),
      ),
    );
    expect(changes).toEqual(gids.map((_, i) => i !== 5));
    for (const [i, g] of gids.entries()) {
      const row = await db.store.findGlobal(g);
      if (i === 5) {
        expect(row).toMatchObject({ status: 'submitted', owner: `o-${g}`, retryCount: 0 });
      } else {
        expect(row).toMatchObject({
          status: i % 2 ? 'succeed' : 'failed',
          owner: '',
          leaseExpire: null,
          retryCount: i,
          lastError: i ? `e${i}` : '',
          rollbackReason: i % 2 ? '' : `r${i}`,
        });
        expect(i % 2 ? row?.finishTime : row?.rollbackTime).toBeInstanceOf(Date);
        expect(i % 2 ? row?.rollbackTime : row?.finishTime).toBeNull();
      }
      // branch results are facts: written whatever the compare-and-set did
      expect((await db.store.findBranches(g)).map((b) => `${b.op}:${b.status}`)).toEqual(['compensate:prepared', 'action:succeed']);
    }
    const after = db.store instanceof SqlStore ? db.store.groupStats() : {};
    const d = (k: string, f: 'batches' | 'members' | 'fallbacks') => (after[k]?.[f] ?? 0) - (before[k]?.[f] ?? 0);
    if (storeName === 'postgres') {
      // PostgreSQL carried them in batches (group-commit.ts); the too-long gid's batch fell back
      expect(d('inserts', 'members')).toBe(22);
      expect(d('inserts', 'batches')).toBeLessThan(22);
      expect(d('inserts', 'fallbacks')).toBeGreaterThanOrEqual(1);
      expect(d('statuses', 'members')).toBe(20);
      expect(d('statuses', 'batches')).toBeLessThan(20);
    }
    if (storeName === 'mysql') {
      // MySQL: every insert and status change is a driver batch, and batches went together
      expect(d('batch', 'members')).toBe(42);
      expect(d('batch', 'batches')).toBeLessThan(42);
      expect(d('batch', 'fallbacks')).toBeGreaterThanOrEqual(1);
    }
  });

  it('a status change records each branch result on its own row, over prepared rows only', async () => {
    const g = gid();
    const branches = ['01', '02', '03', '04'].map((id) => ({
      gid: g,
      url: 'http://x/a',
      binData: null,
      branchId: id,
      op: 'action',
      status: 'prepared' as const,
    }));
    await db.store.insertTrans(global(g, { owner: 'me:1', leaseMs: 10_000 }), branches, new Date());
    expect(await db.store.recordBranches(g, [{ branchId: '04', op: 'action', status: 'failed' }], new Date(), 'submitted', 'me:1')).toBe(true);
    const results = [
      { branchId: '01', op: 'action', status: 'succeed' as const },
      { branchId: '02', op: 'action', status: 'succeed' as const },
      { branchId: '03', op: 'action', status: 'failed' as const },
      { branchId: '04', op: 'action', status: 'succeed' as const },
    ];
    expect(await db.store.changeStatus(g, 'submitted', 'succeed', new Date(), { owner: 'me:1', release: true, branches: results })).toBe(true);
    expect((await db.store.findBranches(g)).map((b) => `${b.branchId}:${b.status}`)).toEqual(['01:succeed', '02:succeed', '03:failed', '04:failed']);
  });

  it('recordBranches writes the results and tells whether the global is still held in that status', async () => {
    const g = gid();
    const b = (id: string) => ({ gid: g, url: 'http://x/a', binData: null, branchId: id, op: 'action', status: 'prepared' as const });
    await db.store.insertTrans(global(g, { owner: 'me:1', leaseMs: 10_000 }), [b('01'), b('02'), b('03')], new Date());
    const result = (id: string) => [{ branchId: id, op: 'action', status: 'succeed' as const }];
    expect(await db.store.recordBranches(g, result('01'), new Date(), 'submitted', 'me:1')).toBe(true);
    expect(await db.store.recordBranches(g, result('02'), new Date(), 'submitted', 'other:1')).toBe(false);
    expect(await db.store.recordBranches(g, result('03'), new Date(), 'aborting', 'me:1')).toBe(false);
    expect((await db.store.findBranches(g)).find((r) => r.branchId === '01')?.status).toBe('succeed');
  });

  it('changeStatus is a compare-and-set on the status and, when given, the lease owner', async () => {
    const g = gid();
    await db.store.insertTrans(global(g, { owner: 'me:1', leaseMs: 10_000 }), [], new Date());
    expect(await db.store.changeStatus(g, 'prepared', 'succeed', new Date())).toBe(false);
    expect(await db.store.changeStatus(g, 'submitted', 'aborting', new Date(), { owner: 'other:1' })).toBe(false);
    expect(await db.store.changeStatus(g, 'submitted', 'aborting', new Date(), { owner: 'me:1', rollbackReason: 'why' })).toBe(true);
    expect(await db.store.changeStatus(g, 'aborting', 'failed', new Date(), { owner: 'me:1', release: true, errors: 2, lastError: 'x' })).toBe(true);
    const row = await db.store.findGlobal(g);
    expect(row).toMatchObject({ status: 'failed', rollbackReason: 'why', owner: '', leaseExpire: null, retryCount: 2, lastError: 'x' });
    expect(row?.rollbackTime).toBeInstanceOf(Date);
  });

  it('registerBranches needs a prepared global and refuses duplicates', async () => {
    const g = gid();
    const b = { gid: g, url: 'http://x/c', binData: Buffer.from('d'), branchId: '01', op: 'confirm', status: 'prepared' as const };
    expect(await db.store.registerBranches(g, [b], new Date())).toBe('not-prepared');
    await db.store.insertTrans(global(g, { status: 'prepared', transType: 'tcc' }), [], new Date());
    expect(await db.store.registerBranches(g, [b], new Date())).toBe('ok');
    await expect(db.store.registerBranches(g, [b], new Date())).rejects.toBeInstanceOf(StoreError);
    expect(await db.store.findBranches(g)).toHaveLength(1);
  });

  it('claimDue hands each due row to one claimer, and skips rows whose lease is live', async () => {
    const past = new Date(Date.now() - 1000);
    const gids = Array.from({ length: 30 }, () => gid());
    for (const g of gids) await db.store.insertTrans(global(g, { nextCronTime: past }), [], new Date());
    const held = gid();
    await db.store.insertTrans(global(held, { nextCronTime: past, owner: 'busy:1', leaseMs: 60_000 }), [], new Date());
    const now = new Date();
    const claims = await Promise.all(['a', 'b', 'c'].map((who) => db.store.claimDue(`${who}:1`, now, 10_000, later(10_000), 1000)));
    const claimed = claims
      .flat()
      .map((r) => r.gid)
      .filter((g) => gids.includes(g) || g === held);
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(claimed.sort()).toEqual([...gids].sort());
    // claimed rows are not due any more; the held row stays with its owner
    expect((await db.store.claimDue('d:1', new Date(), 10_000, later(10_000), 1000)).filter((r) => gids.includes(r.gid))).toEqual([]);
    expect((await db.store.findGlobal(held))?.owner).toBe('busy:1');
  });

  it('an expired lease can be taken over; endPass releases it and records the schedule', async () => {
    const g = gid();
    await db.store.insertTrans(global(g, { owner: 'dead:1', leaseMs: 1 }), [], new Date());
    await new Promise((r) => setTimeout(r, 20));
    const row = await db.store.acquireLease(g, 'new:1', 10_000);
    expect(row?.owner).toBe('new:1');
    expect(await db.store.acquireLease(g, 'third:1', 10_000)).toBeNull();
    expect(await db.store.renewLeases(['new:1', 'gone:1'], 20_000)).toEqual([{ gid: g, owner: 'new:1' }]);
    const next = later(40_000);
    await db.store.endPass(g, 'new:1', { status: 'submitted', nextCronTime: next, nextCronInterval: 40, errors: 1, lastError: 'boom' }, new Date());
    const after = await db.store.findGlobal(g);
    expect(after).toMatchObject({ owner: '', leaseExpire: null, nextCronInterval: 40, retryCount: 1, lastError: 'boom' });
    expect(Math.abs(after!.nextCronTime!.getTime() - next.getTime())).toBeLessThan(5);
  });

  it("leases are timed by the database's clock: a caller whose clock runs an hour ahead cannot take a live one", async () => {
    const g = gid();
    await db.store.insertTrans(global(g, { nextCronTime: new Date(Date.now() - 1000), owner: 'live:1', leaseMs: 60_000 }), [], new Date());
    const skewed = new Date(Date.now() + 3600_000);
    expect((await db.store.claimDue('skewed:1', skewed, 10_000, later(10_000), 1000)).map((r) => r.gid)).not.toContain(g);
    expect(await db.store.acquireLease(g, 'skewed:2', 10_000)).toBeNull();
    expect(await db.store.makeDue(g, skewed)).toBe(false);
    expect(await db.store.changeStatus(g, 'submitted', 'aborting', skewed, { leaseFree: true })).toBe(false);
    expect((await db.store.findGlobal(g))?.owner).toBe('live:1');
    // and a lease that has run out by the database's clock is free, whatever the caller's clock says
    await db.store.insertTrans(global(`${g}-x`, { owner: 'dead:1', leaseMs: 1 }), [], new Date());
    await new Promise((r) => setTimeout(r, 20));
    expect((await db.store.acquireLease(`${g}-x`, 'new:1', 10_000))?.owner).toBe('new:1');
  });

  // Several instances share PostgreSQL or MySQL; SQLite is the single-instance embedded store.
  it.skipIf(storeName === 'sqlite')('concurrent starters migrate a new database once', async () => {
    const config = await freshStore(storeName, 'mig');
    const [a, b] = await Promise.all([openDatabase(config), openDatabase(config)]);
    const rows = await a.driver.query('SELECT migration_name FROM _prisma_migrations');
    const names = rows.map((r) => String(r.migration_name));
    expect(names.sort()).toEqual(loadMigrations(storeName).map((m) => m.name));
    await Promise.all([a.close(), b.close()]);
  });
});

describe('store on an unreachable database', () => {
  it("waits for it up to the request's deadline, then fails with StoreUnavailableError carrying the driver error", async () => {
    const driver = connect({ dialect: 'postgres', url: 'postgres://nobody@127.0.0.1:1/x', poolSize: 1 });
    // the request's view of the store (Store.waiting) passes its wait to every statement
    const err: unknown = await withStoreWait(300, (wait) => new SqlStore(driver).waiting(wait).findGlobal('g')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as StoreUnavailableError).stored).toBe(false);
    expect((err as Error).message).toMatch(
      /database is unreachable \(connect ECONNREFUSED 127\.0\.0\.1:1; waited \d\.\d s for it\); the request was not processed and nothing was stored/,
    );
    await driver.close();
  });
});

describe('SQLite durability setting (Store.SqliteSync)', () => {
  it('is synchronous NORMAL by default and FULL when asked', async () => {
    const base = await freshStore('sqlite', 'sync');
    for (const [sqliteSync, expected] of [
      [undefined, 1],
      ['full', 2],
    ] as const) {
      const db = await openDatabase({ ...base, db: `${base.db}-${sqliteSync ?? 'default'}`, sqliteSync });
      try {
        expect((await db.driver.query('PRAGMA synchronous'))[0]).toEqual({ synchronous: expected });
      } finally {
        await db.close();
      }
    }
  });
});

describe('SQLite page size', () => {
  it('makes a new database of 1 KiB pages and leaves an existing one, and its rows, as they are', async () => {
    const fresh = await freshStore('sqlite', 'pages');
    const db = await openDatabase(fresh);
    try {
      expect((await db.driver.query('PRAGMA page_size'))[0]).toEqual({ page_size: 1024 });
      // the schema and a transaction fit in it
      expect(await db.store.insertTrans(globalRow(`pg-${Date.now()}`, later(10_000)), [], new Date())).toBe(true);
    } finally {
      await db.close();
    }

    // A database made before this setting (SQLite's default 4 KiB pages) keeps its page size.
    const old = await freshStore('sqlite', 'pages-old');
    const made = new BetterSqlite(old.db);
    made.exec("CREATE TABLE kept (v TEXT); INSERT INTO kept VALUES ('here')");
    expect(made.pragma('page_size', { simple: true })).toBe(4096);
    made.close();
    const reopened = await openDatabase(old);
    try {
      expect((await reopened.driver.query('PRAGMA page_size'))[0]).toEqual({ page_size: 4096 });
      expect(await reopened.driver.query('SELECT v FROM kept')).toEqual([{ v: 'here' }]);
      const g = `pg-old-${Date.now()}`;
      expect(await reopened.store.insertTrans(globalRow(g, later(10_000)), [], new Date())).toBe(true);
      expect((await reopened.store.findGlobal(g))?.status).toBe('submitted');
    } finally {
      await reopened.close();
    }
  });
});

describe('SQLite shared by several processes (Workers)', () => {
  it("waits for another connection's write lock without stopping the event loop, then writes", async () => {
    const base = await freshStore('sqlite', 'shared');
    const db = await openDatabase(base);
    const other = new BetterSqlite(base.db); // another process's connection, as far as SQLite knows
    try {
      other.exec('BEGIN IMMEDIATE');
      const g = `sh-${Date.now()}`;
      const inserting = db.store.insertTrans(globalRow(g, later(10_000)), [], new Date());
      // the writer waits for the lock, and this process goes on meanwhile
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 5);
      await new Promise((r) => setTimeout(r, 200));
      clearInterval(ticker);
      expect(ticks).toBeGreaterThan(10);
      expect(other.prepare('SELECT count(*) AS n FROM trans_global WHERE gid = ?').get(g)).toEqual({ n: 0 });
      other.exec('COMMIT');
      expect(await inserting).toBe(true);
      expect((await db.store.findGlobal(g))?.status).toBe('submitted');
    } finally {
      other.close();
      await db.close();
    }
  });

  it("fails a request's write with StoreUnavailableError when the lock stays taken past its deadline", async () => {
    const base = await freshStore('sqlite', 'shared2');
    const db = await openDatabase(base);
    const other = new BetterSqlite(base.db);
    try {
      other.exec('BEGIN IMMEDIATE');
      const g = `sh2-${Date.now()}`;
      const err: unknown = await withStoreWait(300, (wait) => db.store.waiting(wait).insertTrans(globalRow(g, later(10_000)), [], new Date())).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StoreUnavailableError);
      other.exec('ROLLBACK');
      expect(await db.store.findGlobal(g)).toBeNull();
    } finally {
      other.close();
      await db.close();
    }
  }, 15_000);
});
