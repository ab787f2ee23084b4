// The overview: transactions per minute by outcome, how many are stuck and unfinished, and how
// long transactions take to finish (p50/p99). Per-minute counts are grouped in SQL by
// countPerMinute of @dtx/db (one row per minute and outcome, via the create/finish/rollback time
// indexes); durations are a sample of the newest finished transactions.
import { z } from 'zod';
import { countPerMinute, endpointStats } from '@dtx/db';
import { stuckWhere, UNFINISHED } from '../filters.ts';
import { router, viewerProcedure } from '../trpc.ts';
import type { ApiDeps } from '../deps.ts';

const SAMPLE = 5000;

export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? null;
}

/** The windows the overview offers, in minutes. */
export const WINDOWS = { '15m': 15, '1h': 60, '6h': 360, '24h': 1440, '7d': 10_080 } as const;
export type OverviewWindow = keyof typeof WINDOWS;
/** Points of the chart at most: longer windows add up several minutes per point. */
const MAX_POINTS = 180;

export async function overview(deps: ApiDeps, minutes: number) {
  const now = deps.clock.now();
  const since = new Date(Math.floor(now.getTime() / 60_000 - minutes + 1) * 60_000);
  const driver = deps.db.driver;
  const [created, succeeded, failed, stuck, unfinished, finished] = await Promise.all([
    countPerMinute(driver, 'create_time', since),
    countPerMinute(driver, 'finish_time', since),
    countPerMinute(driver, 'rollback_time', since),
    deps.prisma.transGlobal.count({ where: stuckWhere(deps.settings.stuck, now) }),
    deps.prisma.transGlobal.count({ where: { status: { in: [...UNFINISHED] } } }),
    deps.prisma.transGlobal.findMany({
      where: { finishTime: { gte: since } },
      orderBy: { finishTime: 'desc' },
      take: SAMPLE,
      select: { createTime: true, finishTime: true },
    }),
  ]);
  const series = [];
  const first = Math.floor(since.getTime() / 60_000);
  const step = Math.ceil(minutes / MAX_POINTS);
  const sum = (m: Map<number, number>, from: number) => {
    let n = 0;
    for (let i = from; i < from + step && i < first + minutes; i++) n += m.get(i) ?? 0;
    return n;
  };
  for (let m = first; m < first + minutes; m += step) {
    series.push({ minute: m * 60_000, created: sum(created, m), succeeded: sum(succeeded, m), failed: sum(failed, m) });
  }
  const durations = finished
    .filter((r) => r.createTime && r.finishTime)
    .map((r) => r.finishTime!.getTime() - r.createTime!.getTime())
    .sort((a, b) => a - b);
  const kept = await deps.db.store.finishedStats();
  return {
    since: since.getTime(),
    /** minutes per point of the series */
    step,
    series,
    /** Finished transactions kept (retention deletes them past Store.FinishedDataExpire), and the oldest's finish time. */
    retained: { finished: kept.count, oldestFinished: kept.oldest?.getTime() ?? null },
    stuck,
    unfinished,
    timeToFinish: { p50: percentile(durations, 50), p99: percentile(durations, 99), sample: durations.length },
    thresholds: deps.settings.stuck,
  };
}

/** The branch endpoints of the window, most failed calls first (packages/db dashboard/endpoints.ts). */
export async function endpoints(deps: ApiDeps, window: OverviewWindow) {
  const since = new Date(deps.clock.now().getTime() - WINDOWS[window] * 60_000);
  const rows = await endpointStats(deps.db.driver, since, 50);
  return {
    since: since.getTime(),
    endpoints: rows.map((r) => ({
      ...r,
      lastError: r.lastError && { ...r.lastError, at: r.lastError.at.getTime(), text: r.lastError.text.slice(0, 300) },
    })),
  };
}

export const overviewRouter = router({
  /** Whether the database holds any transaction at all (the empty states show a first one to run). */
  hasTransactions: viewerProcedure.query(async ({ ctx }) => (await ctx.deps.prisma.transGlobal.findFirst({ select: { id: true } })) !== null),
  endpoints: viewerProcedure
    .input(z.object({ window: z.enum(Object.keys(WINDOWS) as [OverviewWindow, ...OverviewWindow[]]).default('1h') }))
    .query(({ ctx, input }) => endpoints(ctx.deps, input.window)),
  stats: viewerProcedure
    .input(
      z.object({
        minutes: z
          .number()
          .int()
          .min(5)
          .max(7 * 24 * 60)
          .default(60),
      }),
    )
    .query(({ ctx, input }) => overview(ctx.deps, input.minutes)),
});
