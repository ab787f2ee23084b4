// Reading transactions: the list (filters, keyset paging), counts per status, and one
// transaction with its branches and the attempt timeline.
import { z } from 'zod';
import { TRPCError } from '@trpc/server';
import { allowedActions, type GlobalStatus } from '@dtx/engine';
import {
  filterSchema,
  STATUSES,
  storableText,
  stuckReason,
  stuckWhere,
  thresholdsOf,
  UNFINISHED,
  whereOf,
  type Filter,
  type TransWhere,
} from '../filters.ts';
import type { ApiDeps } from '../deps.ts';
import { listAudit } from './audit.ts';
import { router, viewerProcedure } from '../trpc.ts';

const ms = (d: Date | null | undefined) => (d ? d.getTime() : null);
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…` : s);

export const listInput = filterSchema.extend({
  /** id of the last row of the previous page */
  cursor: z.string().regex(/^\d+$/).optional(),
  limit: z.number().int().min(1).max(500).default(50),
});

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

export async function listTransactions(deps: ApiDeps, input: z.infer<typeof listInput>) {
  // Ids first, then the rows: the id query can be answered from an index alone, and MariaDB
  // otherwise intersects two indexes and sorts (370 ms instead of 2 ms for "failed sagas").
  const page = async (f: Filter) => {
    const where = whereFor(deps, f);
    return deps.prisma.transGlobal.findMany({
      where: input.cursor ? { AND: [where, { id: { lt: BigInt(input.cursor) } }] } : where,
      // One status: ordering by it too (a constant) spells out the (status, id) index's order, so
      // MariaDB walks that index instead of the primary key when few rows match (1.5 s -> ms).
      orderBy: f.status?.length === 1 ? [{ status: 'desc' }, { id: 'desc' }] : { id: 'desc' },
      take: input.limit + 1,
      select: { id: true },
    });
  };
  // A few statuses (the stuck view, "unfinished"): one keyset query per status, merged. Each
  // walks the (status, id) index, so a page costs the same however rare the matches are; a
  // single `status IN (...)` query leaves MySQL scanning the primary key (1.7 s on 1M rows).
  const statuses = statusesOf(input);
  const rowsOf =
    statuses.length > 1 && statuses.length < STATUSES.length
      ? (await Promise.all(statuses.map((s) => page({ ...input, status: [s as (typeof STATUSES)[number]] }))))
          .flat()
          .sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
          .slice(0, input.limit + 1)
      : await page(input);
  const ids = rowsOf.slice(0, input.limit).map((r) => r.id);
  const rows = ids.length ? await deps.prisma.transGlobal.findMany({ where: { id: { in: ids } }, orderBy: { id: 'desc' }, select: listSelect }) : [];
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
    nextCursor: rowsOf.length > input.limit ? String(ids[ids.length - 1]) : null,
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
