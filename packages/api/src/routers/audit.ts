// The audit trail: every operator action (and user change), newest first, keyset paged, filtered
// by actor, action, transaction and time.
import { z } from 'zod';
import { router, viewerProcedure } from '../trpc.ts';
import type { ApiDeps } from '../deps.ts';
import { storableText } from '../filters.ts';

export const auditInput = z.object({
  cursor: z.string().regex(/^\d+$/).optional(),
  limit: z.number().int().min(1).max(200).default(50),
  actor: storableText().max(128).optional(),
  /** entries whose target or per-transaction outcomes mention this gid */
  gid: storableText().max(128).optional(),
  /** e.g. retry, abort, force-stop, login (exact) */
  action: storableText().max(45).optional(),
  /** time range, epoch ms */
  from: z.number().int().nonnegative().optional(),
  to: z.number().int().nonnegative().optional(),
});

export async function listAudit(deps: ApiDeps, input: z.infer<typeof auditInput>) {
  const and = [];
  if (input.cursor) and.push({ id: { lt: BigInt(input.cursor) } });
  if (input.actor) and.push({ actor: input.actor });
  if (input.action) and.push({ action: input.action });
  if (input.from !== undefined) and.push({ at: { gte: new Date(input.from) } });
  if (input.to !== undefined) and.push({ at: { lte: new Date(input.to) } });
  // a bulk action's target is its filter; its outcomes name each gid (as JSON strings)
  if (input.gid) and.push({ OR: [{ target: { contains: input.gid } }, { details: { contains: JSON.stringify(input.gid) } }] });
  const rows = await deps.prisma.auditLog.findMany({
    where: and.length ? { AND: and } : {},
    orderBy: { id: 'desc' },
    take: input.limit + 1,
  });
  const page = rows.slice(0, input.limit);
  const last = page.at(-1);
  return {
    items: page.map((r) => {
      let details: unknown;
      try {
        details = JSON.parse(r.details);
      } catch {
        details = r.details;
      }
      return {
        id: String(r.id),
        at: r.at.getTime(),
        actor: r.actor,
        action: r.action,
        reason: r.reason,
        target: r.target,
        gidCount: r.gidCount,
        succeeded: r.succeeded,
        failed: r.failed,
        details: details as { gid: string; ok: boolean; message: string; from?: string; to?: string }[],
      };
    }),
    nextCursor: rows.length > input.limit && last ? String(last.id) : null,
  };
}

export const auditRouter = router({
  list: viewerProcedure.input(auditInput).query(({ ctx, input }) => listAudit(ctx.deps, input)),
});
