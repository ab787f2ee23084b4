// The dashboard's tRPC procedures against real databases: filters, keyset paging, the stuck view,
// counts, roles, and the audit trail. Rows are written through the store port with chosen
// statuses and times, so every expected answer is known.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRPCError } from '@trpc/server';
import { openDatabase, type Database, type NewGlobal } from '@dtx/db';
import { silentLogger } from '@dtx/engine';
import { createCaller, createDashboard, hashPassword, type ApiDeps, type Context, type Role } from '@dtx/api';
import { nth } from '../../../tests/support/checked.ts';
import { testConfig } from '../../../tests/support/coordinator.ts';
import { freshStore, testStores } from '../../../tests/support/stores.ts';
import { attemptRow, globalRow } from '../../../tests/support/rows.ts';

const MIN = 60_000;
const NOW = Date.now();

const row = (gid: string, extra: Partial<NewGlobal> = {}): NewGlobal => globalRow(gid, new Date(NOW + 10 * MIN), extra);

describe.each(testStores())('dashboard procedures on %s', (storeName) => {
  let db: Database;
  let deps: ApiDeps;
  const users: Record<Role, Context['user']> = { viewer: null, operator: null, admin: null };
  const as = (role: Role) => createCaller({ deps, user: users[role], setCookie: () => undefined, secure: false });

  beforeAll(async () => {
    const store = await freshStore(storeName, 'api');
    db = await openDatabase(store);
    deps = await createDashboard(testConfig(store), { logger: silentLogger, db });
    for (const role of ['viewer', 'operator'] as const) {
      const u = await deps.prisma.dashboardUser.create({
        data: { username: `${role}1`, passwordHash: await hashPassword('password-1'), role, createdAt: new Date(), updatedAt: new Date() },
      });
      users[role] = { id: String(u.id), username: u.username, role };
    }
    const admin = await deps.prisma.dashboardUser.findUniqueOrThrow({ where: { username: 'admin' } });
    users.admin = { id: String(admin.id), username: 'admin', role: 'admin' };

    // 30 finished sagas, one a minute, the oldest 40 minutes ago
    for (let i = 0; i < 30; i++) {
      const gid = `page-${String(i).padStart(2, '0')}`;
      await db.store.insertTrans(row(gid), [], new Date(NOW - (40 - i) * MIN));
      await db.store.changeStatus(gid, 'submitted', i % 3 === 0 ? 'failed' : 'succeed', new Date(NOW - (39 - i) * MIN));
    }
    // unfinished ones with known stuck properties
    await db.store.insertTrans(row('tcc-prepared', { transType: 'tcc', status: 'prepared' }), [], new Date(NOW - MIN));
    await db.store.insertTrans(row('stuck-overdue', { nextCronTime: new Date(NOW - 10 * MIN) }), [], new Date(NOW - 11 * MIN));
    await db.store.insertTrans(row('stuck-retried'), [], new Date(NOW - 2 * MIN));
    await db.store.changeStatus('stuck-retried', 'submitted', 'submitted', new Date(NOW), {
      errors: 7,
      lastError: '01/action http://svc/A1: 503',
      // 7 failed calls in a row, the first 30 s ago
      streak: { failSince: new Date(NOW - 30_000), failStreak: 7, ongoingSince: null, failEndpoint: 'svc/A1', failDetail: '503' },
    });
    await db.store.insertTrans(row('stuck-old', { transType: 'msg' }), [], new Date(NOW - 3 * 3600_000));
    // gids with LIKE wildcards: a prefix search must take them literally
    await db.store.insertTrans(row('pre_1'), [], new Date(NOW - MIN));
    await db.store.insertTrans(row('prex1'), [], new Date(NOW - MIN));
    await db.store.insertTrans(row('pre%2'), [], new Date(NOW - MIN));
  });
  afterAll(async () => {
    await db?.close();
  });

  const gids = (r: { items: { gid: string }[] }) => r.items.map((t) => t.gid);

  it('lists newest first, and keyset pages visit every row exactly once', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await as('viewer').transactions.list({ limit: 7, cursor });
      seen.push(...gids(page));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    expect(seen).toHaveLength(37);
    expect(new Set(seen).size).toBe(37);
    expect(seen[0]).toBe('pre%2'); // inserted last
    expect(seen.indexOf('page-29')).toBeLessThan(seen.indexOf('page-00'));
    expect(pages).toBe(6);
  });

  it('filters by exact gid, by literal prefix, by status and type, and by creation time', async () => {
    const v = as('viewer');
    expect(gids(await v.transactions.list({ gid: 'page-07' }))).toEqual(['page-07']);
    expect(gids(await v.transactions.list({ gid: 'page-0' }))).toEqual([]);
    expect(gids(await v.transactions.list({ gid: 'page-0', gidMode: 'prefix' })).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `page-0${i}`));
    expect(gids(await v.transactions.list({ gid: 'pre_', gidMode: 'prefix' }))).toEqual(['pre_1']);
    expect(gids(await v.transactions.list({ gid: 'pre%', gidMode: 'prefix' }))).toEqual(['pre%2']);
    const failed = gids(await v.transactions.list({ status: ['failed'], limit: 100 }));
    expect(failed.sort()).toEqual(['page-00', 'page-03', 'page-06', 'page-09', 'page-12', 'page-15', 'page-18', 'page-21', 'page-24', 'page-27']);
    expect(gids(await v.transactions.list({ transType: ['tcc', 'msg'] }))).toEqual(['stuck-old', 'tcc-prepared']);
    const window = await v.transactions.list({ createdFrom: NOW - 40.5 * MIN, createdTo: NOW - 37.5 * MIN });
    expect(gids(window)).toEqual(['page-02', 'page-01', 'page-00']);
    expect(gids(await v.transactions.list({ status: ['failed'], createdFrom: NOW - 40.5 * MIN, createdTo: NOW - 37.5 * MIN }))).toEqual(['page-00']);
  });

  it('the stuck view: overdue, failed too often in a row, or too old; thresholds can be changed per view', async () => {
    const v = as('viewer');
    // configured defaults: overdue 60 s, more than 3 failed calls in a row, older than 1 h
    const stuck = gids(await v.transactions.list({ stuck: true }));
    expect(stuck.sort()).toEqual(['stuck-old', 'stuck-overdue', 'stuck-retried']);
    expect(gids(await v.transactions.list({ stuck: true, stuckFailedCalls: 7, stuckFailingSeconds: 3600, stuckAgeSeconds: 4 * 3600 }))).toEqual([
      'stuck-overdue',
    ]);
    expect(gids(await v.transactions.list({ stuck: true, stuckOverdueSeconds: 3600, stuckFailedCalls: 100, stuckAgeSeconds: 30 })).sort()).toEqual(
      ['pre%2', 'pre_1', 'prex1', 'stuck-old', 'stuck-overdue', 'stuck-retried', 'tcc-prepared'].sort(),
    );
    const r = (await v.transactions.list({ gid: 'stuck-retried' })).items[0];
    expect(r).toMatchObject({ retryCount: 7, lastError: '01/action http://svc/A1: 503', status: 'submitted' });
  });

  it('counts per status for the current filter, and how many of them are stuck', async () => {
    const c = await as('viewer').transactions.counts({});
    expect(c.byStatus).toEqual({ prepared: 1, submitted: 6, aborting: 0, succeed: 20, failed: 10 });
    expect(c.total).toBe(37);
    expect(c.stuck).toBe(3);
    const sagas = await as('viewer').transactions.counts({ transType: ['saga'], status: ['failed'] });
    expect(sagas.byStatus).toEqual({ prepared: 0, submitted: 5, aborting: 0, succeed: 20, failed: 10 });
    expect(sagas.stuck).toBe(2);
  });

  it('reading needs a session; acting needs the operator role, and is refused before anything changes', async () => {
    const anonymous = createCaller({ deps, user: null, setCookie: () => undefined, secure: false });
    await expect(anonymous.transactions.list({})).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const refused = as('viewer').actions.run({ action: 'force-stop', gid: 'stuck-old', reason: 'x', confirmGid: 'stuck-old' });
    await expect(refused).rejects.toBeInstanceOf(TRPCError);
    await expect(refused).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(as('viewer').actions.start({ action: 'abort', target: { gids: ['stuck-old'] } })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(as('operator').users.list()).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect((await db.store.findGlobal('stuck-old'))?.status).toBe('submitted');
    expect(await deps.prisma.auditLog.count({ where: { target: 'stuck-old' } })).toBe(0);
  });

  it('force stop needs the gid typed back; done, it fails the transaction and is audited', async () => {
    await expect(as('operator').actions.run({ action: 'force-stop', gid: 'stuck-old', reason: 'bad data' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    const r = await as('operator').actions.run({ action: 'force-stop', gid: 'stuck-old', reason: 'bad data', confirmGid: 'stuck-old' });
    expect(r).toMatchObject({ ok: true, from: 'submitted', to: 'failed' });
    const g = await db.store.findGlobal('stuck-old');
    expect(g?.status).toBe('failed');
    expect(g?.rollbackReason).toBe('force stopped by operator1: bad data');
    const audit = await as('viewer').audit.list({});
    expect(audit.items[0]).toMatchObject({
      actor: 'operator1',
      action: 'force-stop',
      target: 'stuck-old',
      reason: 'bad data',
      gidCount: 1,
      succeeded: 1,
      failed: 0,
    });
    expect(audit.items[0]?.details[0]).toMatchObject({ gid: 'stuck-old', ok: true, from: 'submitted', to: 'failed' });
  });

  it('an action that cannot run is audited as not done, with the reason', async () => {
    const r = await as('operator').actions.run({ action: 'abort', gid: 'page-05', reason: 'too late' });
    expect(r).toMatchObject({ ok: false, message: 'already succeed' });
    const a = await deps.prisma.auditLog.findUniqueOrThrow({ where: { id: BigInt(r.auditId) } });
    expect(a).toMatchObject({ action: 'abort', succeeded: 0, failed: 1, target: 'page-05' });
    const unknown = await as('operator').actions.run({ action: 'retry', gid: 'no-such-gid', reason: '' });
    expect(unknown).toMatchObject({ ok: false, message: 'no such transaction' });
  });

  it('bulk over a filter: the preview count is frozen, chunks report progress, and one audit row sums it up', async () => {
    for (let i = 0; i < 30; i++)
      await db.store.insertTrans(row(`bulk-${String(i).padStart(2, '0')}`, { status: 'prepared', transType: 'msg' }), [], new Date(NOW));
    const target = { filter: { gid: 'bulk-', gidMode: 'prefix' as const } };
    const p = await as('operator').actions.preview({ target });
    expect(p.total).toBe(30);
    expect(p.sample).toEqual(['bulk-29', 'bulk-28', 'bulk-27', 'bulk-26', 'bulk-25']);
    // created after the preview: not part of the action
    await db.store.insertTrans(row('bulk-late', { status: 'prepared', transType: 'msg' }), [], new Date(NOW));

    const { auditId, total } = await as('operator').actions.start({ action: 'abort', reason: 'cleanup', target, maxId: p.maxId! });
    expect(total).toBe(30);
    const progress: number[] = [];
    let cursor: string | null = null;
    for (;;) {
      const s = await as('operator').actions.step({ auditId, cursor });
      progress.push(s.processed);
      if (s.done) break;
      cursor = s.nextCursor;
    }
    expect(progress).toEqual([25, 30]);
    const rows = await deps.prisma.transGlobal.findMany({ where: { gid: { startsWith: 'bulk-' } } });
    expect(
      rows
        .filter((r) => r.status === 'failed')
        .map((r) => r.gid)
        .sort(),
    ).toEqual(Array.from({ length: 30 }, (_, i) => `bulk-${String(i).padStart(2, '0')}`));
    expect(rows.find((r) => r.gid === 'bulk-late')?.status).toBe('prepared');
    const a = await deps.prisma.auditLog.findUniqueOrThrow({ where: { id: BigInt(auditId) } });
    expect(a).toMatchObject({ actor: 'operator1', action: 'bulk-abort', reason: 'cleanup', gidCount: 30, succeeded: 30, failed: 0 });
    expect(JSON.parse(a.target)).toMatchObject({ filter: { gid: 'bulk-', gidMode: 'prefix' }, maxId: p.maxId });
    // another operator cannot drive someone else's bulk action
    const other = createCaller({ deps, user: { ...users.operator!, username: 'mallory' }, setCookie: () => undefined, secure: false });
    await expect(other.actions.step({ auditId, cursor: null })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('bulk over selected gids skips finished ones and lists them as not done', async () => {
    const { auditId } = await as('operator').actions.start({ action: 'retry', reason: '', target: { gids: ['tcc-prepared', 'page-01', 'page-01'] } });
    const s = await as('operator').actions.step({ auditId, cursor: null });
    expect(s).toMatchObject({ done: true, total: 2, succeeded: 1, failed: 1 });
    expect(s.results.find((r) => r.gid === 'page-01')).toMatchObject({ ok: false, message: 'already succeed' });
  });

  it('the detail shows fields, branches with pretty payloads, and the attempt log', async () => {
    const now = new Date();
    await db.store.insertTrans(
      row('detail-1', { options: '{"retry_interval":600}' }),
      [
        { gid: 'detail-1', url: 'http://svc/C1', binData: Buffer.from('{"amount":30}'), branchId: '01', op: 'compensate', status: 'prepared' },
        { gid: 'detail-1', url: 'http://svc/A1', binData: Buffer.from('{"amount":30}'), branchId: '01', op: 'action', status: 'prepared' },
      ],
      now,
    );
    await db.store.insertAttempts([
      {
        gid: 'detail-1',
        branchId: '01',
        op: 'action',
        url: 'http://svc/A1',
        protocol: 'http',
        startedAt: now,
        durationMs: 12,
        httpStatus: 503,
        grpcCode: null,
        outcome: 'error',
        response: 'down',
        error: 'HTTP 503',
        owner: 'x',
      },
    ]);
    const d = await as('viewer').transactions.get({ gid: 'detail-1' });
    expect(d.transaction).toMatchObject({ gid: 'detail-1', status: 'submitted', transType: 'saga' });
    expect(JSON.parse(d.transaction.options)).toEqual({ retry_interval: 600 });
    expect(d.branches.map((b) => `${b.branchId}:${b.op}`)).toEqual(['01:compensate', '01:action']);
    expect(d.branches[1]?.payload).toEqual({ format: 'json', text: '{\n  "amount": 30\n}' });
    expect(d.attempts).toHaveLength(1);
    expect(d.attempts[0]).toMatchObject({ httpStatus: 503, outcome: 'error', response: 'down', durationMs: 12 });
    await expect(as('viewer').transactions.get({ gid: 'nope' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('nodes: alive from recent heartbeats, lost after missing them; topics read from the kv table', async () => {
    const beat = (instanceId: string, agoMs: number, inFlight: number, worker?: number) =>
      db.store.heartbeat({
        instanceId,
        address: `http://${instanceId}:36789`,
        version: 'v1',
        hostname: instanceId,
        pid: 1,
        store: storeName,
        startedAt: new Date(NOW - 3600_000),
        heartbeatAt: new Date(Date.now() - agoMs),
        inFlight,
        ...(worker === undefined ? {} : { worker, workers: 2 }),
      });
    await beat('node-a', 1000, 7, 1);
    await beat('node-b', 60_000, 0);
    const nodes = await as('viewer').nodes.list();
    expect(nodes.map((n) => [n.instanceId, n.alive, n.inFlight, n.worker, n.workers])).toEqual([
      ['node-a', true, 7, 1, 2],
      ['node-b', false, 0, null, 1],
    ]);
  });

  it('topics: listed from the kv table; operators subscribe, unsubscribe and delete, audited', async () => {
    expect(await as('viewer').topics.list()).toEqual([]);
    await expect(as('viewer').topics.subscribe({ topic: 'orders', url: 'http://svc/on-order' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await as('operator').topics.subscribe({ topic: 'orders', url: 'http://svc/on-order', remark: 'billing' });
    await as('operator').topics.subscribe({ topic: 'orders', url: 'http://svc/stock' });
    await expect(as('operator').topics.subscribe({ topic: 'orders', url: 'http://svc/stock' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(await as('viewer').topics.list()).toMatchObject([
      {
        topic: 'orders',
        subscribers: [
          { url: 'http://svc/on-order', remark: 'billing' },
          { url: 'http://svc/stock', remark: '' },
        ],
      },
    ]);
    // dtm's own kv format, as the coordinator reads it
    const kv = await db.store.kvFind('topics', 'orders');
    expect(JSON.parse(nth(kv, 0).v!)).toEqual([
      { url: 'http://svc/on-order', remark: 'billing' },
      { url: 'http://svc/stock', remark: '' },
    ]);
    await as('operator').topics.unsubscribe({ topic: 'orders', url: 'http://svc/on-order' });
    expect((await as('viewer').topics.list())[0]?.subscribers).toEqual([{ url: 'http://svc/stock', remark: '' }]);
    await as('operator').topics.delete({ topic: 'orders' });
    expect(await as('viewer').topics.list()).toEqual([]);
    const audit = await deps.prisma.auditLog.findMany({ where: { action: { startsWith: 'topic-' } }, orderBy: { id: 'asc' } });
    expect(audit.map((a) => `${a.actor}:${a.action}:${a.target}:${a.succeeded}`)).toEqual([
      'operator1:topic-subscribe:orders:1',
      'operator1:topic-subscribe:orders:1',
      'operator1:topic-subscribe:orders:0',
      'operator1:topic-unsubscribe:orders:1',
      'operator1:topic-delete:orders:1',
    ]);
  });

  it('topics: a viewer reads the deliveries to each subscriber URL in the window asked', async () => {
    await as('operator').topics.subscribe({ topic: 'paid', url: 'http://svc/mail' });
    await as('operator').topics.subscribe({ topic: 'paid', url: 'http://svc/ledger' });
    const call = (url: string, outcome: string, agoMs: number) =>
      attemptRow('paid-1', url, outcome, new Date(NOW - agoMs), outcome === 'success' ? {} : { error: 'ledger down' });
    // in the order of their start times, as the coordinator writes them (the newest error has the highest id)
    await db.store.insertAttempts([
      call('http://svc/ledger', 'error', 3 * 3600_000),
      call('http://svc/mail', 'success', MIN),
      call('http://svc/ledger', 'error', 2 * MIN),
    ]);
    const day = await as('viewer').topics.deliveries({ window: '24h' });
    expect(day.urls).toEqual([
      { url: 'http://svc/mail', succeeded: 1, failed: 0, ongoing: 0, lastError: null },
      { url: 'http://svc/ledger', succeeded: 0, failed: 2, ongoing: 0, lastError: { at: NOW - 2 * MIN, answer: '500', text: 'ledger down' } },
    ]);
    expect((await as('viewer').topics.deliveries({ window: '1h' })).urls.map((u) => u.failed)).toEqual([0, 1]);
    await as('operator').topics.delete({ topic: 'paid' });
  });

  it('hasTransactions: whether the database holds any transaction (the empty states)', async () => {
    expect(await as('viewer').overview.hasTransactions()).toBe(true);
  });

  it('topics: a subscriber URL that is not a branch URL, or that BranchCallPolicy refuses, is refused and not stored', async () => {
    for (const [url, why] of [
      ['ftp://nope', "url is not a gRPC target (host:port/package.Service/Method) or an http(s) URL: 'ftp://nope'"],
      ['http://169.254.169.254/latest/meta-data', "is refused by BranchCallPolicy.Deny entry '169.254.0.0/16'"],
    ] as const) {
      const err: unknown = await as('operator')
        .topics.subscribe({ topic: 'refused', url })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'BAD_REQUEST' });
      expect((err as Error).message).toContain(why);
    }
    expect(await db.store.kvFind('topics', 'refused')).toEqual([]);
  });

  it('overview: succeeded per minute, and the time to finish of the finished ones', async () => {
    const o = await as('viewer').overview.stats({ minutes: 60 });
    expect(o.series).toHaveLength(60);
    // the 20 sagas that succeeded, each one minute after it was created, one a minute
    expect(o.series.reduce((n, m) => n + m.succeeded, 0)).toBe(20);
    expect(Math.max(...o.series.map((m) => m.succeeded))).toBe(1);
    expect(o.timeToFinish).toEqual({ p50: 60_000, p99: 60_000, sample: 20 });
    // stuck-overdue and stuck-retried (stuck-old was force-stopped above)
    expect(o.stuck).toBe(2);
    // what retention keeps: every finished row, and the oldest finish or rollback time
    const finished = await deps.prisma.transGlobal.findMany({ where: { status: { in: ['succeed', 'failed'] } } });
    const oldest = Math.min(...finished.map((r) => (r.finishTime ?? r.rollbackTime)!.getTime()));
    expect(o.retained).toEqual({ finished: finished.length, oldestFinished: oldest });
  });
});
