// Operator actions. Every state change goes through the engine's Admin (conditional updates, safe
// against running passes on any instance); this file adds who may do it, the audit trail, and
// bulk execution in chunks so a browser can show progress and a script can loop.
//
// Bulk protocol: preview (how many, frozen at the newest matching id) -> start (writes the audit
// row, returns its id) -> step, step, ... (each processes the next chunk, adds its outcomes to
// the audit row, returns the cursor of the next one). The target is read back from the audit
// row, never from the client, so a step cannot act on more than was previewed and recorded.
import { z } from 'zod';
import { TRPCError } from '@trpc/server';
import type { AdminAction, AdminResult } from '@dtx/engine';
import { filterSchema, storableText, type Filter } from '../filters.ts';
import type { ApiDeps } from '../deps.ts';
import { operatorProcedure, router, type SessionUser } from '../trpc.ts';
import { whereFor } from './transactions.ts';

export const ACTIONS = ['retry', 'abort', 'force-stop'] as const;
export const BULK_ACTIONS = ['retry', 'abort'] as const;
const gidSchema = storableText().min(1).max(128);
const reasonSchema = storableText().max(1000).default('');

export const targetSchema = z.union([z.object({ gids: z.array(gidSchema).min(1).max(10_000) }), z.object({ filter: filterSchema })]);
export type Target = z.infer<typeof targetSchema>;

type StoredTarget = { gids: string[] } | { filter: Filter; maxId: string };

/** Outcomes kept per audit row; counts stay exact beyond it. */
const DETAILS_LIMIT = 1000;
const CHUNK = 25;

async function writeAudit(
  deps: ApiDeps,
  row: { actor: string; action: string; reason: string; target: string; gidCount: number; results: AdminResult[] },
) {
  const ok = row.results.filter((r) => r.ok).length;
  const created = await deps.prisma.auditLog.create({
    data: {
      at: deps.clock.now(),
      actor: row.actor,
      action: row.action,
      reason: row.reason,
      target: row.target,
      gidCount: row.gidCount,
      succeeded: ok,
      failed: row.results.length - ok,
      details: JSON.stringify(row.results.slice(0, DETAILS_LIMIT)),
    },
  });
  return String(created.id);
}

export async function runOne(deps: ApiDeps, user: SessionUser, input: { action: AdminAction; gid: string; reason: string; confirmGid?: string }) {
  if (input.action === 'force-stop' && input.confirmGid !== input.gid) {
    throw new TRPCError({ code: 'BAD_REQUEST', message: 'force stop needs the gid typed as confirmation (confirmGid)' });
  }
  let result: AdminResult;
  try {
    result = await deps.admin.run(input.action, input.gid, input.reason, user.username);
  } catch (err) {
    result = { gid: input.gid, ok: false, message: (err as Error).message };
  }
  const auditId = await writeAudit(deps, {
    actor: user.username,
    action: input.action,
    reason: input.reason,
    target: input.gid,
    gidCount: 1,
    results: [result],
  });
  return { ...result, auditId };
}

async function newestId(deps: ApiDeps, filter: Filter): Promise<bigint | null> {
  const top = await deps.prisma.transGlobal.findFirst({ where: whereFor(deps, filter), orderBy: { id: 'desc' }, select: { id: true } });
  return top?.id ?? null;
}

export async function preview(deps: ApiDeps, target: Target) {
  if ('gids' in target) {
    const gids = [...new Set(target.gids)];
    return { total: gids.length, maxId: null as string | null, sample: gids.slice(0, 5) };
  }
  const maxId = await newestId(deps, target.filter);
  if (maxId === null) return { total: 0, maxId: null, sample: [] };
  const where = { AND: [whereFor(deps, target.filter), { id: { lte: maxId } }] };
  const [total, sample] = await Promise.all([
    deps.prisma.transGlobal.count({ where }),
    deps.prisma.transGlobal.findMany({ where, orderBy: { id: 'desc' }, take: 5, select: { gid: true } }),
  ]);
  return { total, maxId: String(maxId), sample: sample.map((s) => s.gid) };
}

export async function startBulk(
  deps: ApiDeps,
  user: SessionUser,
  input: { action: (typeof BULK_ACTIONS)[number]; reason: string; target: Target; maxId?: string },
) {
  let stored: StoredTarget;
  let total: number;
  if ('gids' in input.target) {
    const gids = [...new Set(input.target.gids)];
    stored = { gids };
    total = gids.length;
  } else {
    // Frozen at the previewed newest id: transactions created meanwhile are not touched.
    const maxId = input.maxId ?? String((await newestId(deps, input.target.filter)) ?? 0n);
    stored = { filter: input.target.filter, maxId };
    total = await deps.prisma.transGlobal.count({ where: { AND: [whereFor(deps, input.target.filter), { id: { lte: BigInt(maxId) } }] } });
  }
  const created = await deps.prisma.auditLog.create({
    data: {
      at: deps.clock.now(),
      actor: user.username,
      action: `bulk-${input.action}`,
      reason: input.reason,
      target: JSON.stringify(stored),
      gidCount: total,
      succeeded: 0,
      failed: 0,
      details: '[]',
    },
  });
  return { auditId: String(created.id), total };
}

export async function stepBulk(deps: ApiDeps, user: SessionUser, input: { auditId: string; cursor?: string | null }) {
  const audit = await deps.prisma.auditLog.findUnique({ where: { id: BigInt(input.auditId) } });
  if (!audit || !audit.action.startsWith('bulk-')) throw new TRPCError({ code: 'NOT_FOUND', message: `no bulk action ${input.auditId}` });
  if (audit.actor !== user.username) throw new TRPCError({ code: 'FORBIDDEN', message: 'this bulk action was started by someone else' });
  const action = audit.action.slice('bulk-'.length) as AdminAction;
  const target = JSON.parse(audit.target) as StoredTarget;
  let gids: string[];
  let nextCursor: string | null;
  if ('gids' in target) {
    const from = Number(input.cursor ?? 0);
    gids = target.gids.slice(from, from + CHUNK);
    nextCursor = from + CHUNK < target.gids.length ? String(from + CHUNK) : null;
  } else {
    const idCond = input.cursor ? { lt: BigInt(input.cursor), lte: BigInt(target.maxId) } : { lte: BigInt(target.maxId) };
    const rows = await deps.prisma.transGlobal.findMany({
      where: { AND: [whereFor(deps, target.filter), { id: idCond }] },
      orderBy: { id: 'desc' },
      take: CHUNK,
      select: { id: true, gid: true },
    });
    gids = rows.map((r) => r.gid);
    const last = rows.at(-1);
    nextCursor = rows.length === CHUNK && last ? String(last.id) : null;
  }
  const results: AdminResult[] = [];
  for (const gid of gids) {
    try {
      results.push(await deps.admin.run(action, gid, audit.reason, user.username));
    } catch (err) {
      results.push({ gid, ok: false, message: (err as Error).message });
    }
  }
  const ok = results.filter((r) => r.ok).length;
  const details = JSON.parse(audit.details) as AdminResult[];
  const kept = details.length < DETAILS_LIMIT ? [...details, ...results].slice(0, DETAILS_LIMIT) : details;
  const updated = await deps.prisma.auditLog.update({
    where: { id: audit.id },
    data: {
      succeeded: { increment: ok },
      failed: { increment: results.length - ok },
      details: kept === details ? undefined : JSON.stringify(kept),
    },
  });
  return {
    results,
    nextCursor,
    done: nextCursor === null,
    processed: updated.succeeded + updated.failed,
    succeeded: updated.succeeded,
    failed: updated.failed,
    total: updated.gidCount,
  };
}

/** Runs a whole bulk action server-side (the HTTP API for scripts). */
export async function runBulk(deps: ApiDeps, user: SessionUser, input: Parameters<typeof startBulk>[2]) {
  const { auditId, total } = await startBulk(deps, user, input);
  let cursor: string | null = null;
  const results: AdminResult[] = [];
  for (;;) {
    const s = await stepBulk(deps, user, { auditId, cursor });
    results.push(...s.results);
    if (s.done) return { auditId, total, succeeded: s.succeeded, failed: s.failed, results: results.slice(0, DETAILS_LIMIT) };
    cursor = s.nextCursor;
  }
}

export const actionsRouter = router({
  run: operatorProcedure
    .input(z.object({ action: z.enum(ACTIONS), gid: gidSchema, reason: reasonSchema, confirmGid: storableText().optional() }))
    .mutation(({ ctx, input }) => runOne(ctx.deps, ctx.user, input)),
  preview: operatorProcedure.input(z.object({ target: targetSchema })).query(({ ctx, input }) => preview(ctx.deps, input.target)),
  start: operatorProcedure
    .input(z.object({ action: z.enum(BULK_ACTIONS), reason: reasonSchema, target: targetSchema, maxId: z.string().regex(/^\d+$/).optional() }))
    .mutation(({ ctx, input }) => startBulk(ctx.deps, ctx.user, input)),
  step: operatorProcedure
    .input(z.object({ auditId: z.string().regex(/^\d+$/), cursor: z.string().regex(/^\d+$/).nullish() }))
    .mutation(({ ctx, input }) => stepBulk(ctx.deps, ctx.user, input)),
});
