// The stuck rule and the list's narrower filters, as queries on real databases: rows carry chosen
// runs of failed or ongoing calls (the columns a pass keeps: migration 0020), and the clock is
// fixed, so each expected answer and reason text is known.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type CallStreak, type Database, type NewGlobal } from '@dtx/db';
import { NO_STREAK, silentLogger } from '@dtx/engine';
import { createCaller, createDashboard, type ApiDeps, type Context } from '@dtx/api';
import { testConfig } from '../../../tests/support/coordinator.ts';
import { freshStore, testStores } from '../../../tests/support/stores.ts';
import { globalRow } from '../../../tests/support/rows.ts';

const S = 1000;
const MIN = 60 * S;
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

const row = (gid: string, extra: Partial<NewGlobal> = {}): NewGlobal => globalRow(gid, new Date(NOW + 10 * MIN), extra);

const failing = (sinceMs: number, calls: number, endpoint = 'stock-srv:8080/api/TransIn', detail = '500'): CallStreak => ({
  ...NO_STREAK,
  failSince: new Date(NOW - sinceMs),
  failStreak: calls,
  failEndpoint: endpoint,
  failDetail: detail,
});

describe.each(testStores())('the stuck rule on %s', (storeName) => {
  let db: Database;
  let deps: ApiDeps;
  let viewer: ReturnType<typeof createCaller>;

  async function add(gid: string, createdAgoMs: number, streak?: CallStreak, extra: Partial<NewGlobal> = {}, lastError = '') {
    await db.store.insertTrans(row(gid, extra), [], new Date(NOW - createdAgoMs));
    if (streak || lastError) {
      await db.store.changeStatus(gid, extra.status ?? 'submitted', extra.status ?? 'submitted', new Date(NOW - createdAgoMs / 2), {
        streak,
        lastError,
        errors: streak?.failStreak,
      });
    }
  }

  beforeAll(async () => {
    const store = await freshStore(storeName, 'stuck');
    db = await openDatabase(store);
    deps = await createDashboard(testConfig(store), { logger: silentLogger, db, clock: { now: () => new Date(NOW) } });
    const u = await deps.prisma.dashboardUser.findUniqueOrThrow({ where: { username: 'admin' } });
    const user: Context['user'] = { id: String(u.id), username: 'admin', role: 'viewer' };
    viewer = createCaller({ deps, user, setCookie: () => undefined, secure: false });

    await add('fail-long', 6 * MIN, failing(4 * MIN, 2), {}, '01/action http://stock-srv:8080/api/TransIn: boom');
    await add('fail-short', 1 * MIN, failing(20 * S, 2));
    await add('fail-many', 1 * MIN, failing(40 * S, 5, 'pay-srv:9090/busi.Pay/Charge', 'gRPC UNAVAILABLE'));
    await add('ongoing-long', 20 * MIN, {
      ...NO_STREAK,
      ongoingSince: new Date(NOW - 15 * MIN),
      failEndpoint: 'bank:80/TransIn',
      failDetail: 'ongoing',
    });
    await add('ongoing-short', 5 * MIN, {
      ...NO_STREAK,
      ongoingSince: new Date(NOW - 2 * MIN),
      failEndpoint: 'bank:80/TransIn',
      failDetail: 'ongoing',
    });
    await add('overdue', 10 * MIN, undefined, { nextCronTime: new Date(NOW - 5 * MIN) });
    await add('old', 2 * 3600 * S);
    await add('fine', 1 * MIN);
    // a run that ended: the branch answered again
    await add('recovered', 10 * MIN, failing(8 * MIN, 9));
    await db.store.changeStatus('recovered', 'submitted', 'submitted', new Date(NOW - MIN), { streak: { ...NO_STREAK } });
    // finished transactions are never stuck, whatever their columns say
    await add('done', 10 * MIN, failing(8 * MIN, 9), {}, 'x');
    await db.store.changeStatus('done', 'submitted', 'succeed', new Date(NOW - 2 * MIN));
  });
  afterAll(async () => {
    await db?.close();
  });

  const gidsOf = (r: { items: { gid: string }[] }) => r.items.map((t) => t.gid).sort();

  it('default thresholds: failing for over 60 s, over 3 failed calls in a row, ongoing for over 10 min, overdue, old', async () => {
    const r = await viewer.transactions.list({ stuck: true });
    expect(gidsOf(r)).toEqual(['fail-long', 'fail-many', 'old', 'ongoing-long', 'overdue']);
    const reason = Object.fromEntries(r.items.map((t) => [t.gid, t.stuckReason]));
    expect(reason).toEqual({
      'fail-long': 'failing for 4 min: 500 from stock-srv:8080/api/TransIn',
      'fail-many': '5 failed calls in a row (for 40 s): gRPC UNAVAILABLE from pay-srv:9090/busi.Pay/Charge',
      'ongoing-long': 'ongoing for 15 min at bank:80/TransIn',
      overdue: 'past due by 5 min: the scheduler has not run it',
      old: 'unfinished after 2 h',
    });
    expect((await viewer.transactions.counts({})).stuck).toBe(5);
    expect((await viewer.overview.stats({ minutes: 60 })).stuck).toBe(5);
  });

  it('each threshold is adjustable per view', async () => {
    const none = { stuckFailingSeconds: 3600, stuckFailedCalls: 100, stuckOngoingSeconds: 3600, stuckOverdueSeconds: 3600, stuckAgeSeconds: 86400 };
    expect(gidsOf(await viewer.transactions.list({ stuck: true, ...none }))).toEqual([]);
    expect(gidsOf(await viewer.transactions.list({ stuck: true, ...none, stuckFailingSeconds: 10 }))).toEqual([
      'fail-long',
      'fail-many',
      'fail-short',
    ]);
    expect(gidsOf(await viewer.transactions.list({ stuck: true, ...none, stuckFailedCalls: 1 }))).toEqual(['fail-long', 'fail-many', 'fail-short']);
    expect(gidsOf(await viewer.transactions.list({ stuck: true, ...none, stuckFailedCalls: 4 }))).toEqual(['fail-many']);
    expect(gidsOf(await viewer.transactions.list({ stuck: true, ...none, stuckOngoingSeconds: 60 }))).toEqual(['ongoing-long', 'ongoing-short']);
    expect(gidsOf(await viewer.transactions.list({ stuck: true, ...none, stuckOverdueSeconds: 60 }))).toEqual(['overdue']);
    expect(gidsOf(await viewer.transactions.list({ stuck: true, ...none, stuckAgeSeconds: 540 }))).toEqual([
      'old',
      'ongoing-long',
      'overdue',
      'recovered',
    ]);
    expect((await viewer.transactions.counts({ stuck: true, ...none, stuckFailingSeconds: 10 })).stuck).toBe(3);
    // the reason follows the view's thresholds
    const short = await viewer.transactions.list({ stuck: true, ...none, stuckFailingSeconds: 10, gid: 'fail-short' });
    expect(short.items[0]?.stuckReason).toBe('failing for 20 s: 500 from stock-srv:8080/api/TransIn');
  });

  it('filters by the endpoint a transaction is failing at, error text, retry count, update and finish time', async () => {
    expect(gidsOf(await viewer.transactions.list({ failingAt: 'stock-srv:8080/api/TransIn' }))).toEqual(['fail-long', 'fail-short']);
    expect(gidsOf(await viewer.transactions.list({ failingAt: 'bank:80/TransIn' }))).toEqual(['ongoing-long', 'ongoing-short']);
    expect(gidsOf(await viewer.transactions.list({ errorText: 'TransIn: bo' }))).toEqual(['fail-long']);
    expect(gidsOf(await viewer.transactions.list({ retryMin: 5, retryMax: 9 }))).toEqual(['done', 'fail-many', 'recovered']);
    expect(gidsOf(await viewer.transactions.list({ retryMin: 6, retryMax: 8 }))).toEqual([]);
    // updated within the last 90 s: fail-short and fail-many (half their age ago), recovered (1 min ago)
    expect(gidsOf(await viewer.transactions.list({ updatedFrom: NOW - 90 * S, updatedTo: NOW }))).toEqual(
      ['fail-many', 'fail-short', 'recovered', 'fine'].sort(),
    );
    expect(gidsOf(await viewer.transactions.list({ finishedFrom: NOW - 3 * MIN }))).toEqual(['done']);
    expect(gidsOf(await viewer.transactions.list({ finishedTo: NOW - 3 * MIN }))).toEqual([]);
  });

  it('the detail page gives the same reason', async () => {
    const d = await viewer.transactions.get({ gid: 'fail-long' });
    expect(d.transaction).toMatchObject({
      stuckReason: 'failing for 4 min: 500 from stock-srv:8080/api/TransIn',
      failStreak: 2,
      failSince: NOW - 4 * MIN,
      failEndpoint: 'stock-srv:8080/api/TransIn',
    });
    expect((await viewer.transactions.get({ gid: 'recovered' })).transaction).toMatchObject({ stuckReason: '', failSince: null, failStreak: 0 });
  });
});
