// Coordinator instances, from the heartbeats they write every few seconds; and the topics kept in
// the kv table (read-only: the coordinator does not serve topics yet).
import { router, viewerProcedure } from '../trpc.ts';

export const nodesRouter = router({
  list: viewerProcedure.query(async ({ ctx }) => {
    const now = ctx.deps.clock.now().getTime();
    const rows = await ctx.deps.prisma.coordinatorNode.findMany({ orderBy: { startedAt: 'asc' } });
    return rows.map((n) => ({
      instanceId: n.instanceId,
      address: n.address,
      version: n.version,
      hostname: n.hostname,
      pid: n.pid,
      store: n.store,
      startedAt: n.startedAt.getTime(),
      heartbeatAt: n.heartbeatAt.getTime(),
      inFlight: n.inFlight,
      alive: now - n.heartbeatAt.getTime() <= ctx.deps.settings.nodeTimeoutMs,
    }));
  }),
  topics: viewerProcedure.query(async ({ ctx }) => {
    const rows = await ctx.deps.prisma.kv.findMany({ where: { cat: 'topics' }, orderBy: { k: 'asc' }, take: 1000 });
    return rows.map((r) => {
      let subscribers: { url?: string; remark?: string }[] = [];
      try {
        const v = JSON.parse(r.v ?? '[]');
        if (Array.isArray(v)) subscribers = v;
      } catch {
        // not a list: shown as no subscribers
      }
      return { topic: r.k, version: Number(r.version), subscribers, updateTime: r.updateTime?.getTime() ?? null };
    });
  }),
});
