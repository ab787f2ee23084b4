// Topics of two-phase messages (a msg step `topic://NAME` fans out to the topic's subscribers),
// kept in the kv table by the coordinator. Reading needs a session; subscribing, unsubscribing
// and deleting go through the engine's Topics (version-checked kv updates) and are audited.
import { z } from 'zod';
import { TRPCError } from '@trpc/server';
import { deliveriesByUrl } from '@dtx/db';
import type { ApiDeps } from '../deps.ts';
import { operatorProcedure, router, viewerProcedure } from '../trpc.ts';
import { storableText } from '../filters.ts';
import { WINDOWS, type OverviewWindow } from './overview.ts';

const topicName = storableText().trim().min(1).max(128);
const url = storableText().trim().min(1).max(1024);

async function audited(deps: ApiDeps, actor: string, action: string, topic: string, details: Record<string, string>, run: () => Promise<void>) {
  let ok = true;
  let message = 'done';
  try {
    await run();
  } catch (err) {
    ok = false;
    message = (err as Error).message;
  }
  await deps.prisma.auditLog.create({
    data: {
      at: deps.clock.now(),
      actor,
      action,
      reason: '',
      target: topic,
      gidCount: 0,
      succeeded: ok ? 1 : 0,
      failed: ok ? 0 : 1,
      details: JSON.stringify({ ...details, ok, message }),
    },
  });
  if (!ok) throw new TRPCError({ code: 'BAD_REQUEST', message });
  return { ok };
}

async function readTopics(deps: ApiDeps) {
  const rows = await deps.prisma.kv.findMany({ where: { cat: 'topics' }, orderBy: { k: 'asc' }, take: 1000 });
  return rows.map((r) => {
    let subscribers: { url?: string; remark?: string }[] = [];
    try {
      const v: unknown = JSON.parse(r.v ?? '[]');
      // shown as stored: the coordinator writes this list (docs/protocol/http-api.md §4.13)
      if (Array.isArray(v)) subscribers = v as { url?: string; remark?: string }[];
    } catch {
      // not a list: shown as no subscribers
    }
    return { topic: r.k, version: Number(r.version), subscribers, updateTime: r.updateTime?.getTime() ?? null };
  });
}

export const topicsRouter = router({
  list: viewerProcedure.query(({ ctx }) => readTopics(ctx.deps)),
  /** Per subscriber URL of every topic, its calls in the window (packages/db dashboard/deliveries.ts). */
  deliveries: viewerProcedure
    .input(z.object({ window: z.enum(Object.keys(WINDOWS) as [OverviewWindow, ...OverviewWindow[]]).default('24h') }))
    .query(async ({ ctx, input }) => {
      const since = new Date(ctx.deps.clock.now().getTime() - WINDOWS[input.window] * 60_000);
      const urls = (await readTopics(ctx.deps)).flatMap((t) => t.subscribers.flatMap((s) => (typeof s.url === 'string' ? [s.url] : [])));
      const rows = await deliveriesByUrl(ctx.deps.db.driver, urls, since);
      return {
        since: since.getTime(),
        urls: rows.map((r) => ({
          ...r,
          lastError: r.lastError && { ...r.lastError, at: r.lastError.at.getTime(), text: r.lastError.text.slice(0, 300) },
        })),
      };
    }),
  subscribe: operatorProcedure
    .input(z.object({ topic: topicName, url, remark: storableText().max(1024).default('') }))
    .mutation(({ ctx, input }) =>
      audited(ctx.deps, ctx.user.username, 'topic-subscribe', input.topic, { url: input.url, remark: input.remark }, () =>
        ctx.deps.topics.subscribe(input.topic, input.url, input.remark),
      ),
    ),
  unsubscribe: operatorProcedure
    .input(z.object({ topic: topicName, url }))
    .mutation(({ ctx, input }) =>
      audited(ctx.deps, ctx.user.username, 'topic-unsubscribe', input.topic, { url: input.url }, () =>
        ctx.deps.topics.unsubscribe(input.topic, input.url),
      ),
    ),
  delete: operatorProcedure
    .input(z.object({ topic: topicName }))
    .mutation(({ ctx, input }) =>
      audited(ctx.deps, ctx.user.username, 'topic-delete', input.topic, {}, () => ctx.deps.topics.deleteTopic(input.topic)),
    ),
});
