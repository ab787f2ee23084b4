// The transactions list's sort orders, its branch URL prefix filter and saved views, through the
// tRPC procedures against real databases. The rows' sort values are chosen here (with ties and
// missing values), so each expected order is known without asking the database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { TRPCError } from '@trpc/server';
import { openDatabase, type Database, type NewBranch } from '@dtx/db';
import { silentLogger } from '@dtx/engine';
import { createCaller, createDashboard, describeZodError, hashPassword, type ApiDeps, type Context, type SortKey } from '@dtx/api';
import { testConfig } from '../../../tests/support/coordinator.ts';
import { freshStore, testStores } from '../../../tests/support/stores.ts';
import { globalRow } from '../../../tests/support/rows.ts';

const MIN = 60_000;
const NOW = Date.UTC(2026, 0, 15, 12);
const at = (minutes: number | null) => (minutes === null ? null : new Date(NOW + minutes * MIN));

/** Each row's sort values (minutes from NOW, null: none) and status; inserted in this order. */
const ROWS: {
  gid: string;
  created: number;
  updated: number | null;
  next: number | null;
  retries: number;
  status: 'submitted' | 'failed' | 'succeed';
}[] = [
  { gid: 's-00', created: -60, updated: -5, next: 30, retries: 3, status: 'submitted' },
  { gid: 's-01', created: -59, updated: -50, next: 10, retries: 0, status: 'succeed' },
  { gid: 's-02', created: -58, updated: -5, next: null, retries: 5, status: 'failed' },
  { gid: 's-03', created: -57, updated: -20, next: 10, retries: 3, status: 'submitted' },
  { gid: 's-04', created: -56, updated: null, next: 50, retries: 0, status: 'submitted' },
  { gid: 's-05', created: -55, updated: -1, next: 20, retries: 1, status: 'failed' },
  { gid: 's-06', created: -54, updated: -30, next: null, retries: 3, status: 'succeed' },
  { gid: 's-07', created: -53, updated: -5, next: 10, retries: 0, status: 'submitted' },
  { gid: 's-08', created: -52, updated: -40, next: 40, retries: 5, status: 'submitted' },
  { gid: 's-09', created: -51, updated: null, next: 20, retries: 2, status: 'failed' },
  { gid: 's-10', created: -50, updated: -10, next: 60, retries: 0, status: 'succeed' },
];
const VALUE: Record<SortKey, (r: (typeof ROWS)[number]) => number | null> = {
  created: (r) => r.created,
  updated: (r) => r.updated,
  nextRetry: (r) => r.next,
  retries: (r) => r.retries,
};

/** The order the list promises: by value in the direction asked, rows without one last; ties by insertion (id) in the same direction. */
function expectedOrder(key: SortKey, dir: 'asc' | 'desc', rows = ROWS): string[] {
  const s = dir === 'asc' ? 1 : -1;
  return rows
    .map((r, i) => ({ gid: r.gid, v: VALUE[key](r), i }))
    .sort((a, b) => {
      if (a.v === b.v) return s * (a.i - b.i);
      if (a.v === null) return 1;
      if (b.v === null) return -1;
      return s * (a.v - b.v);
    })
    .map((r) => r.gid);
}

const branch = (gid: string, url: string, branchId = '01'): NewBranch => ({ gid, url, binData: null, branchId, op: 'action', status: 'prepared' });

/** The sentence a refused input gets (what the dashboard shows). */
async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof TRPCError)) throw err;
    return err.cause instanceof ZodError ? describeZodError(err.cause) : err.message;
  }
  throw new Error('expected a refusal');
}

describe.each(testStores())('transactions list on %s: sort orders, branch URL prefix, saved views', (storeName) => {
  let db: Database;
  let deps: ApiDeps;
  const users: Record<'viewer' | 'viewer2' | 'operator', Context['user']> = { viewer: null, viewer2: null, operator: null };
  const as = (who: keyof typeof users) => createCaller({ deps, user: users[who], setCookie: () => undefined, secure: false });

  beforeAll(async () => {
    const store = await freshStore(storeName, 'listview');
    db = await openDatabase(store);
    deps = await createDashboard(testConfig(store), { logger: silentLogger, db });
    for (const [key, role] of [
      ['viewer', 'viewer'],
      ['viewer2', 'viewer'],
      ['operator', 'operator'],
    ] as const) {
      const u = await deps.prisma.dashboardUser.create({
        data: { username: key, passwordHash: await hashPassword('password-1'), role, createdAt: new Date(), updatedAt: new Date() },
      });
      users[key] = { id: String(u.id), username: u.username, role };
    }
    for (const r of ROWS) {
      await db.store.insertTrans(globalRow(r.gid, new Date(NOW)), [branch(r.gid, `http://sorted/${r.gid}`)], at(r.created)!);
      if (r.status !== 'submitted') await db.store.changeStatus(r.gid, 'submitted', r.status, at(r.created)!);
      // the sort values as chosen (missing ones as adopted dtm rows may have them)
      await deps.prisma.transGlobal.update({
        where: { gid: r.gid },
        data: { updateTime: at(r.updated), nextCronTime: at(r.next), retryCount: r.retries },
      });
    }
    // branch URLs with LIKE's wildcards and escape character, which a prefix takes literally
    const urls: [string, string[]][] = [
      ['u-underscore', ['http://pay.svc/api_v1/TransIn', 'http://other/x']],
      ['u-letter', ['http://pay.svc/apixv1/TransIn']],
      ['u-percent', ['http://pay.svc/api%v1/TransIn']],
      ['u-backslash', ['http://pay.svc/api\\v1/TransIn']],
      ['u-upper', ['HTTP://PAY.SVC/api_v1/TransIn']],
      ['u-second', ['http://stock.svc/TransOut', 'http://pay.svc/api_v1/TransOut']],
    ];
    for (const [gid, list] of urls) {
      await db.store.insertTrans(
        globalRow(gid, new Date(NOW), { transType: 'msg' }),
        list.map((u, i) => branch(gid, u, `0${i + 1}`)),
        new Date(NOW),
      );
    }
  });
  afterAll(async () => {
    await db?.close();
  });

  /** Every page of a sorted list, in order, `limit` rows a page. */
  async function allPages(input: Parameters<ReturnType<typeof as>['transactions']['list']>[0], limit: number) {
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await as('viewer').transactions.list({ ...input, cursor, limit });
      pages.push(page.items.map((t) => t.gid));
      cursor = page.nextCursor ?? undefined;
      expect(pages.length).toBeLessThan(20);
    } while (cursor);
    return pages;
  }

  const sorted = { gid: 's-', gidMode: 'prefix' } as const;

  it.each(['created', 'updated', 'nextRetry', 'retries'] as const)(
    'sorts by %s both ways, and keyset pages of 3 visit every row once, in order',
    async (sort) => {
      for (const dir of ['asc', 'desc'] as const) {
        const pages = await allPages({ ...sorted, sort, dir }, 3);
        expect(pages.flat()).toEqual(expectedOrder(sort, dir));
        expect(pages.map((p) => p.length)).toEqual([3, 3, 3, 2]);
      }
    },
  );

  it('sorting by retry count, most first: ties keep the newest first, and the first page is the most retried', async () => {
    const page = await as('viewer').transactions.list({ ...sorted, sort: 'retries', limit: 4 });
    expect(page.items.map((t) => [t.gid, t.retryCount])).toEqual([
      ['s-08', 5],
      ['s-02', 5],
      ['s-06', 3],
      ['s-03', 3],
    ]);
    // descending is the default direction
    expect((await as('viewer').transactions.list({ ...sorted, sort: 'retries', dir: 'desc', limit: 4 })).items.map((t) => t.gid)).toEqual(
      page.items.map((t) => t.gid),
    );
  });

  it('sorts a few statuses (one query per status, merged) and one status in the same order, page after page', async () => {
    const of = (statuses: string[]) => ROWS.filter((r) => statuses.includes(r.status));
    const two = await allPages({ ...sorted, status: ['submitted', 'failed'], sort: 'nextRetry', dir: 'asc' }, 2);
    expect(two.flat()).toEqual(expectedOrder('nextRetry', 'asc', of(['submitted', 'failed'])));
    const one = await allPages({ ...sorted, status: ['submitted'], sort: 'updated', dir: 'desc' }, 2);
    expect(one.flat()).toEqual(expectedOrder('updated', 'desc', of(['submitted'])));
    // filters and sort together: retried at least once, least retried first
    const retried = await allPages({ ...sorted, retryMin: 1, sort: 'retries', dir: 'asc' }, 4);
    expect(retried.flat()).toEqual(
      expectedOrder(
        'retries',
        'asc',
        ROWS.filter((r) => r.retries >= 1),
      ),
    );
  });

  it('refuses a cursor of another sort order, and a malformed one', async () => {
    const v = as('viewer');
    const byId = await v.transactions.list({ ...sorted, limit: 2 });
    const byRetries = await v.transactions.list({ ...sorted, sort: 'retries', limit: 2 });
    expect(await refusal(v.transactions.list({ ...sorted, sort: 'retries', cursor: byId.nextCursor! }))).toBe(
      'Cursor belongs to another sort order.',
    );
    expect(await refusal(v.transactions.list({ ...sorted, cursor: byRetries.nextCursor! }))).toBe('Cursor belongs to another sort order.');
    expect(await refusal(v.transactions.list({ sort: 'retries', cursor: '1;drop' }))).toBe('Cursor is not a page cursor of this list.');
    expect(await refusal(v.transactions.list({ sort: 'colour' as SortKey }))).toMatch(/^Sort must be one of created, updated, nextRetry, retries\.$/);
  });

  it('filters by branch URL prefix, taking %, _ and \\ literally and case as it is', async () => {
    const v = as('viewer');
    const gids = async (branchUrl: string) => (await v.transactions.list({ branchUrl, limit: 100 })).items.map((t) => t.gid).sort();
    expect(await gids('http://pay.svc/api_')).toEqual(['u-second', 'u-underscore']);
    expect(await gids('http://pay.svc/api%')).toEqual(['u-percent']);
    expect(await gids('http://pay.svc/api\\')).toEqual(['u-backslash']);
    expect(await gids('http://pay.svc/api')).toEqual(['u-backslash', 'u-letter', 'u-percent', 'u-second', 'u-underscore']);
    expect(await gids('http://stock.svc/')).toEqual(['u-second']);
    expect(await gids('HTTP://PAY')).toEqual(['u-upper']);
    expect(await gids('http://nowhere/')).toEqual([]);
    // a transaction with two matching branches is listed once; counts and sort apply the same filter
    const c = await v.transactions.counts({ branchUrl: 'http://pay.svc/api_' });
    expect(c.total).toBe(2);
    expect(c.byStatus.submitted).toBe(2);
    const page = await v.transactions.list({ branchUrl: 'http://sorted/s-0', sort: 'retries', dir: 'asc', limit: 100 });
    expect(page.items.map((t) => t.gid)).toEqual(expectedOrder('retries', 'asc', ROWS.slice(0, 10)));
  });

  it('saved views: a viewer saves, lists, replaces and deletes their own, stored as the canonical query', async () => {
    const v = as('viewer');
    const saved = await v.views.save({ name: '  Most retried sagas ', query: '?type=saga&sort=retries&cursor=5_12&status=submitted,failed' });
    expect(saved).toMatchObject({ name: 'Most retried sagas', query: 'status=submitted%2Cfailed&type=saga&sort=retries' });
    await v.views.save({ name: 'Pay branches', query: 'branchUrl=http%3A%2F%2Fpay.svc%2Fapi_&sort=updated&dir=asc' });
    expect((await v.views.list()).map((x) => [x.name, x.query])).toEqual([
      ['Most retried sagas', 'status=submitted%2Cfailed&type=saga&sort=retries'],
      ['Pay branches', 'branchUrl=http%3A%2F%2Fpay.svc%2Fapi_&sort=updated&dir=asc'],
    ]);
    // the same name again replaces the view
    const replaced = await v.views.save({ name: 'Most retried sagas', query: 'sort=retries&dir=asc' });
    expect(replaced.id).toBe(saved.id);
    expect((await v.views.list()).map((x) => x.query)).toEqual([
      'sort=retries&dir=asc',
      'branchUrl=http%3A%2F%2Fpay.svc%2Fapi_&sort=updated&dir=asc',
    ]);
    // views are their owner's: another user neither sees nor deletes them
    expect(await as('viewer2').views.list()).toEqual([]);
    expect(await refusal(as('viewer2').views.delete({ id: saved.id }))).toBe(`You have no saved view with id ${saved.id}.`);
    await as('viewer2').views.save({ name: 'Most retried sagas', query: '' });
    expect((await as('viewer2').views.list()).map((x) => x.query)).toEqual(['']);
    expect(await v.views.delete({ id: saved.id })).toEqual({ deleted: saved.id });
    expect((await v.views.list()).map((x) => x.name)).toEqual(['Pay branches']);
    expect((await deps.prisma.dashboardView.findMany()).map((x) => x.name).sort()).toEqual(['Most retried sagas', 'Pay branches']);
  });

  it('refuses a view name that is empty or too long, and a query that is not a view of the list, saving nothing', async () => {
    const v = as('operator');
    expect(await refusal(v.views.save({ name: '   ', query: '' }))).toBe('Name must not be empty.');
    expect(await refusal(v.views.save({ name: 'x'.repeat(81), query: '' }))).toBe('Name must be at most 80 characters.');
    expect(await refusal(v.views.save({ name: 'a', query: 'colour=red' }))).toBe("There is no parameter colour in the list's query.");
    expect(await refusal(v.views.save({ name: 'a', query: 'status=stuck-ish' }))).toBe(
      'The status parameter must be some of prepared, submitted, aborting, succeed, failed.',
    );
    expect(await refusal(v.views.save({ name: 'a', query: 'sort=colour&retryMin=-1' }))).toBe(
      'The retryMin parameter must be a whole number. The sort parameter must be one of created, updated, nextRetry, retries.',
    );
    expect(await refusal(v.views.save({ name: 'a', query: `gid=${'g'.repeat(129)}` }))).toBe('Gid must be at most 128 characters.');
    expect(await v.views.list()).toEqual([]);
    const anonymous = createCaller({ deps, user: null, setCookie: () => undefined, secure: false });
    await expect(anonymous.views.save({ name: 'a', query: '' })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });
});
