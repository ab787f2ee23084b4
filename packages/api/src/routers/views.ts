// Saved views of the transactions list (docs/operations.md, "Sorting and saved views"): each
// dashboard user's named filter + sort order, kept as the list's query string. A view is its
// owner's preference, not an action on transactions, so viewers save them too; nobody sees or
// deletes another user's views.
import { z } from 'zod';
import { TRPCError } from '@trpc/server';
import type { ApiDeps } from '../deps.ts';
import { STORABLE } from '../filters.ts';
import { parseViewQuery } from '../list-query.ts';
import { router, viewerProcedure, type SessionUser } from '../trpc.ts';

/** Saved views per user: enough for a team's habits, not a growing table. */
export const MAX_VIEWS = 100;

export const viewName = () =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(80, 'must be at most 80 characters')
    .regex(STORABLE, 'contains a NUL character or an unpaired UTF-16 surrogate, which no store can hold');

export const saveViewInput = z.object({
  name: viewName(),
  /** the list's query string (filters and sort order), as in the page's URL */
  query: z.string().max(4000, 'must be at most 4000 characters'),
});

const shape = (v: { id: bigint; name: string; query: string; createdAt: Date }) => ({
  id: String(v.id),
  name: v.name,
  query: v.query,
  createdAt: v.createdAt.getTime(),
});

export async function listViews(deps: ApiDeps, user: SessionUser) {
  const rows = await deps.prisma.dashboardView.findMany({ where: { userId: BigInt(user.id) }, orderBy: { name: 'asc' } });
  return rows.map(shape);
}

/** Saves a view under its name (replacing the user's view of that name). */
export async function saveView(deps: ApiDeps, user: SessionUser, input: z.infer<typeof saveViewInput>) {
  const parsed = parseViewQuery(input.query);
  if (!parsed.ok) throw new TRPCError({ code: 'BAD_REQUEST', message: parsed.problems });
  const userId = BigInt(user.id);
  const existing = await deps.prisma.dashboardView.findUnique({ where: { userId_name: { userId, name: input.name } } });
  if (existing) {
    return shape(await deps.prisma.dashboardView.update({ where: { id: existing.id }, data: { query: parsed.query } }));
  }
  if ((await deps.prisma.dashboardView.count({ where: { userId } })) >= MAX_VIEWS) {
    throw new TRPCError({ code: 'BAD_REQUEST', message: `You have ${MAX_VIEWS} saved views, the most there can be: delete one first.` });
  }
  const created = await deps.prisma.dashboardView.create({
    data: { userId, name: input.name, query: parsed.query, createdAt: deps.clock.now() },
  });
  return shape(created);
}

export async function deleteView(deps: ApiDeps, user: SessionUser, id: string) {
  const n = await deps.prisma.dashboardView.deleteMany({ where: { id: BigInt(id), userId: BigInt(user.id) } });
  if (n.count === 0) throw new TRPCError({ code: 'NOT_FOUND', message: `You have no saved view with id ${id}.` });
  return { deleted: id };
}

export const viewsRouter = router({
  list: viewerProcedure.query(({ ctx }) => listViews(ctx.deps, ctx.user)),
  save: viewerProcedure.input(saveViewInput).mutation(({ ctx, input }) => saveView(ctx.deps, ctx.user, input)),
  delete: viewerProcedure
    .input(z.object({ id: z.string().regex(/^\d{1,19}$/, 'is not a view id') }))
    .mutation(({ ctx, input }) => deleteView(ctx.deps, ctx.user, input.id)),
});

export type SavedView = ReturnType<typeof shape>;
