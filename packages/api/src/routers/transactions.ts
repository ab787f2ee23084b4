// Reading transactions: the list (filters, sort orders, keyset paging), counts per status, and one
// transaction with its branches and the attempt timeline.
import { z } from 'zod';
import { TRPCError } from '@trpc/server';
import { allowedActions, type GlobalStatus } from '@dtx/engine';
import {
  filterSchema,
  SORT_COLUMNS,
  sortSchema,
  STATUSES,
  storableText,
  stuckReason,
  stuckWhere,
  thresholdsOf,
  UNFINISHED,
  whereOf,
  type Filter,
  type SortKey,
  type TransWhere,
} from '../filters.ts';
import type { ApiDeps } from '../deps.ts';
import { listAudit } from './audit.ts';
import { router, viewerProcedure } from '../trpc.ts';

const ms = (d: Date | null | undefined) => (d ? d.getTime() : null);
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…` : s);

const CURSOR = /^(?:\d+|\d*_\d+)$/;

export const listInput = filterSchema
  .extend(sortSchema.shape)
  .extend({
    /** where the previous page ended: its last row's id, or (sorted) its sort value and id, "<value>_<id>" */
    cursor: z.string().regex(CURSOR, 'is not a page cursor of this list').optional(),
    limit: z.number().int().min(1).max(500).default(50),
  })
  .refine((i) => !i.cursor || !CURSOR.test(i.cursor) || i.cursor.includes('_') === !!i.sort, {
    message: 'belongs to another sort order',
    path: ['cursor'],
  });
type ListInput = z.infer<typeof listInput>;

const listSelect = {
  id: true,
  gid: true,
  transType: true,
  status: true,
  protocol: true,
  createTime: true,
  updateTime: true,
  finishTime: true,
  rollbackTime: true,
  nextCronTime: true,
  retryCount: true,
  lastError: true,
  leaseExpire: true,
  failSince: true,
  failStreak: true,
  ongoingSince: true,
  failEndpoint: true,
  failDetail: true,
} as const;

export function whereFor(deps: ApiDeps, f: Filter, withoutStatus = false): TransWhere {
  return whereOf(f, { dialect: deps.db.config.driver, now: deps.clock.now(), stuck: deps.settings.stuck, withoutStatus });
}

/** The statuses a filter can match: its own list, narrowed to unfinished ones by the stuck view. */
function statusesOf(f: Filter): string[] {
  const all = f.status?.length ? [...f.status] : [...STATUSES];
  return f.stuck ? all.filter((s) => (UNFINISHED as readonly string[]).includes(s)) : all;
}

/** A row's place in the list's order: its id and, when sorted, its sort value (ms or count). */
interface Key {
  id: bigint;
  value: number | null;
}
interface Order {
  column: (typeof SORT_COLUMNS)[SortKey];
  dir: 'asc' | 'desc';
}

const keyValue = (v: unknown): number | null => (v instanceof Date ? v.getTime() : typeof v === 'number' ? v : null);

/** The list's order over keys: by id (newest first), or by value, rows without one last, then id. */
function compareKeys(order: Order | null) {
  const byId = (a: Key, b: Key) => (a.id === b.id ? 0 : a.id < b.id === (order?.dir === 'asc') ? -1 : 1);
  if (!order) return byId;
  return (a: Key, b: Key) => {
    if (a.value === b.value) return byId(a, b);
    if (a.value === null) return 1;
    if (b.value === null) return -1;
    return a.value < b.value === (order.dir === 'asc') ? -1 : 1;
  };
}

function cursorOf(k: Key, order: Order | null): string {
  return order ? `${k.value ?? ''}_${k.id}` : String(k.id);
}

function keyOfCursor(cursor: string): Key {
  const [value = '', id = cursor] = cursor.includes('_') ? cursor.split('_') : ['', cursor];
  return { id: BigInt(id), value: value === '' ? null : Number(value) };
}

/**
 * One page of keys of the rows matching `where`, after `after`. Sorted, it is keyset paging on
 * (column, id), each page a range on the column's (column, id) index (migration 0023): the rows
 * with a value first, in the order asked, then those without one (NULL, which the stores order
 * differently) by id. `column >= v AND (column > v OR id > last)` bounds the index range where
 * a row comparison would not be understood by every store.
 */
async function keysPage(
  deps: ApiDeps,
  where: TransWhere,
  single: boolean,
  order: Order | null,
  after: Key | undefined,
  take: number,
): Promise<Key[]> {
  const dir = order?.dir ?? 'desc';
  const beyond = dir === 'asc' ? 'gt' : 'lt';
  // One status: ordering by it too (a constant) spells out the (status, ...) index's order, so
  // MariaDB walks that index instead of the primary key when few rows match (1.5 s -> ms).
  const byStatus = single ? [{ status: dir }] : [];
  const find = async (extra: TransWhere | null, orderBy: Record<string, 'asc' | 'desc'>[], n: number): Promise<Key[]> => {
    const rows = await deps.prisma.transGlobal.findMany({
      where: extra ? { AND: [where, extra] } : where,
      // (computed keys widen to string: Prisma's order type cannot be named for them)
      orderBy: [...byStatus, ...orderBy] as never,
      take: n,
      select: { id: true, ...(order ? { [order.column]: true } : {}) },
    });
    return rows.map((r) => ({ id: r.id, value: order ? keyValue((r as Record<string, unknown>)[order.column]) : null }));
  };
  if (!order) return find(after ? { id: { [beyond]: after.id } } : null, [{ id: dir }], take);
  const col = order.column;
  const nullable = col !== 'retryCount';
  const db = (v: number) => (col === 'retryCount' ? v : new Date(v));
  const rows: Key[] = [];
  if (!after || after.value !== null) {
    const from = after?.value ?? null;
    const range =
      from !== null
        ? { [col]: { [dir === 'asc' ? 'gte' : 'lte']: db(from) }, OR: [{ [col]: { [beyond]: db(from) } }, { id: { [beyond]: after!.id } }] }
        : nullable
          ? { [col]: { not: null } }
          : null;
    rows.push(...(await find(range, [{ [col]: dir }, { id: dir }], take)));
  }
  if (nullable && rows.length < take) {
    const tail = { [col]: null, ...(after?.value === null ? { id: { [beyond]: after.id } } : {}) };
    rows.push(...(await find(tail, [{ [col]: dir }, { id: dir }], take - rows.length)));
  }
  return rows;
}

export async function listTransactions(deps: ApiDeps, input: ListInput) {
  const order: Order | null = input.sort ? { column: SORT_COLUMNS[input.sort], dir: input.dir ?? 'desc' } : null;
  const after = input.cursor ? keyOfCursor(input.cursor) : undefined;
  // Keys first, then the rows: the key query can be answered from an index alone, and MariaDB
  // otherwise intersects two indexes and sorts (370 ms instead of 2 ms for "failed sagas").
  const page = (f: Filter) => keysPage(deps, whereFor(deps, f), f.status?.length === 1, order, after, input.limit + 1);
  // A few statuses (the stuck view, "unfinished"): one keyset query per status, merged. Each
  // walks the (status, id) index, so a page costs the same however rare the matches are; a
  // single `status IN (...)` query leaves MySQL scanning the primary key (1.7 s on 1M rows).
  const statuses = statusesOf(input);
  const keys =
    statuses.length > 1 && statuses.length < STATUSES.length
      ? (await Promise.all(statuses.map((s) => page({ ...input, status: [s as (typeof STATUSES)[number]] }))))
          .flat()
          .sort(compareKeys(order))
          .slice(0, input.limit + 1)
      : await page(input);
  const shown = keys.slice(0, input.limit);
  const ids = shown.map((k) => k.id);
  const place = new Map(ids.map((id, i) => [id, i]));
  const rows = ids.length
    ? (await deps.prisma.transGlobal.findMany({ where: { id: { in: ids } }, select: listSelect })).sort((a, b) => place.get(a.id)! - place.get(b.id)!)
    : [];
  const nowDate = deps.clock.now();
  const now = nowDate.getTime();
  const thresholds = thresholdsOf(input, deps.settings.stuck);
  return {
    items: rows.map((r) => ({
      id: String(r.id),
      gid: r.gid,
      transType: r.transType,
      status: r.status,
      protocol: r.protocol,
      createTime: ms(r.createTime),
      updateTime: ms(r.updateTime),
      finishTime: ms(r.finishTime ?? (r.status === 'failed' ? r.rollbackTime : null)),
      nextCronTime: r.status === 'succeed' || r.status === 'failed' ? null : ms(r.nextCronTime),
      retryCount: r.retryCount,
      lastError: clip(r.lastError, 300),
      running: !!r.leaseExpire && r.leaseExpire.getTime() > now,
      /** Why the stuck rule matches it (with this view's thresholds); '' when it does not. */
      stuckReason: stuckReason(r, thresholds, nowDate),
      failEndpoint: r.failEndpoint,
    })),
    nextCursor: keys.length > input.limit ? cursorOf(shown[shown.length - 1]!, order) : null,
  };
}

export type ListItem = Awaited<ReturnType<typeof listTransactions>>['items'][number];

// Counting a million rows costs tens of milliseconds (SQLite, PostgreSQL) to a second or more
// (InnoDB counts row by row); every open dashboard polls it. Equal questions share one answer for
// a while: at least 2 s, and ten times as long as the count took, so a slow store is asked less.
type CountEntry = { until: number; value: Promise<Counts> };
const countCaches = new WeakMap<ApiDeps, Map<string, CountEntry>>();
const COUNT_TTL_MS = 2000;

interface Counts {
  byStatus: Record<(typeof STATUSES)[number], number>;
  total: number;
  stuck: number;
}

/** Counts without the short-lived cache (benchmarks). */
export async function countNow(deps: ApiDeps, f: Filter): Promise<Counts> {
  const where = whereFor(deps, f, true);
  const stuck = stuckWhere(thresholdsOf(f, deps.settings.stuck), deps.clock.now());
  const [groups, stuckCount] = await Promise.all([
    deps.prisma.transGlobal.groupBy({ by: ['status'], where, _count: { _all: true } }),
    deps.prisma.transGlobal.count({ where: { AND: [whereFor(deps, { ...f, stuck: false }, true), stuck] } }),
  ]);
  const byStatus = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Counts['byStatus'];
  let total = 0;
  for (const g of groups) {
    if (g.status in byStatus) byStatus[g.status as keyof Counts['byStatus']] = g._count._all;
    total += g._count._all;
  }
  return { byStatus, total, stuck: stuckCount };
}

export function countTransactions(deps: ApiDeps, f: Filter): Promise<Counts> {
  const key = JSON.stringify({ ...f, status: undefined });
  const now = Date.now();
  let countCache = countCaches.get(deps);
  if (!countCache) countCaches.set(deps, (countCache = new Map<string, CountEntry>()));
  for (const [k, v] of countCache) if (v.until < now) countCache.delete(k);
  const hit = countCache.get(key);
  if (hit) return hit.value;
  const value = countNow(deps, f);
  const entry = { until: now + 60_000, value };
  countCache.set(key, entry);
  value.then(
    () => (entry.until = Date.now() + Math.max(COUNT_TTL_MS, 10 * (Date.now() - now))),
    () => countCache.delete(key),
  );
  return value;
}

/** A branch payload as text: pretty JSON when it is JSON, else the text, else base64. */
export function payloadText(bin: Uint8Array | null): { text: string; format: 'json' | 'text' | 'base64' | 'empty' } {
  if (!bin || bin.length === 0) return { text: '', format: 'empty' };
  const buf = Buffer.from(bin);
  const text = buf.toString('utf8');
  if (Buffer.from(text, 'utf8').equals(buf)) {
    try {
      return { text: JSON.stringify(JSON.parse(text), null, 2), format: 'json' };
    } catch {
      return { text, format: 'text' };
    }
  }
  return { text: buf.toString('base64'), format: 'base64' };
}

/** JSON text pretty-printed (as is when it is not JSON). */
function prettyJson(s: string): string {
  if (!s) return '';
  try {
    return JSON.stringify(JSON.parse(s), null, 2);
  } catch {
    return s;
  }
}

const ATTEMPT_LIMIT = 1000;

export async function getTransaction(deps: ApiDeps, gid: string) {
  const g = await deps.prisma.transGlobal.findUnique({ where: { gid } });
  if (!g) throw new TRPCError({ code: 'NOT_FOUND', message: `no transaction with gid ${gid}` });
  const [branches, attemptsDesc, attemptCount, audit] = await Promise.all([
    deps.prisma.transBranchOp.findMany({ where: { gid }, orderBy: { id: 'asc' } }),
    deps.prisma.branchAttempt.findMany({ where: { gid }, orderBy: { id: 'desc' }, take: ATTEMPT_LIMIT }),
    deps.prisma.branchAttempt.count({ where: { gid } }),
    listAudit(deps, { gid, limit: 100 }),
  ]);
  const now = deps.clock.now().getTime();
  return {
    transaction: {
      id: String(g.id),
      gid: g.gid,
      transType: g.transType,
      status: g.status,
      protocol: g.protocol,
      createTime: ms(g.createTime),
      updateTime: ms(g.updateTime),
      finishTime: ms(g.finishTime),
      rollbackTime: ms(g.rollbackTime),
      nextCronTime: ms(g.nextCronTime),
      nextCronInterval: g.nextCronInterval,
      retryCount: g.retryCount,
      lastError: g.lastError,
      stuckReason: stuckReason(g, deps.settings.stuck, deps.clock.now()),
      failSince: ms(g.failSince),
      failStreak: g.failStreak,
      ongoingSince: ms(g.ongoingSince),
      failEndpoint: g.failEndpoint,
      failDetail: g.failDetail,
      rollbackReason: g.rollbackReason,
      queryPrepared: g.queryPrepared,
      customData: g.customData,
      result: g.result,
      options: prettyJson(g.options),
      extData: g.extData,
      running: !!g.leaseExpire && g.leaseExpire.getTime() > now,
      leaseExpire: ms(g.leaseExpire),
      /** Which operator actions apply now and what each will do (the engine's rules). */
      actions: allowedActions({ status: g.status as GlobalStatus, transType: g.transType }),
    },
    branches: branches.map((b) => ({
      id: String(b.id),
      branchId: b.branchId,
      op: b.op,
      status: b.status,
      url: b.url,
      createTime: ms(b.createTime),
      updateTime: ms(b.updateTime),
      finishTime: ms(b.finishTime),
      payload: payloadText(b.binData),
    })),
    attempts: attemptsDesc.reverse().map((a) => ({
      id: String(a.id),
      branchId: a.branchId,
      op: a.op,
      url: a.url,
      protocol: a.protocol,
      startedAt: a.startedAt.getTime(),
      durationMs: a.durationMs,
      httpStatus: a.httpStatus,
      grpcCode: a.grpcCode,
      outcome: a.outcome,
      response: clip(a.response, 8000),
      error: a.error,
      owner: a.owner,
    })),
    attemptCount,
    /** What operators did to it (newest first; bulk actions show only this transaction's outcome). */
    audit: audit.items.map((a) => ({ ...a, details: Array.isArray(a.details) ? a.details.filter((d) => d.gid === gid) : [] })),
  };
}

export type TransactionDetail = Awaited<ReturnType<typeof getTransaction>>;

export const transactionsRouter = router({
  list: viewerProcedure.input(listInput).query(({ ctx, input }) => listTransactions(ctx.deps, input)),
  counts: viewerProcedure.input(filterSchema).query(({ ctx, input }) => countTransactions(ctx.deps, input)),
  get: viewerProcedure.input(z.object({ gid: storableText().min(1).max(128) })).query(({ ctx, input }) => getTransaction(ctx.deps, input.gid)),
});
