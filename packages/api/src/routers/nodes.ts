// Coordinator instances, from the heartbeats they write every few seconds.
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
      // Index and size of its process group (docs/operations.md, "Workers"); null: not one of a group.
      worker: n.worker,
      workers: n.workers,
      alive: now - n.heartbeatAt.getTime() <= ctx.deps.settings.nodeTimeoutMs,
    }));
  }),
});
