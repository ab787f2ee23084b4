// Logging in and out, who am I, and (admin) user management. Login sets the session cookie;
// every user change is written to the audit log like the transaction actions.
import { z } from 'zod';
import { TRPCError } from '@trpc/server';
import { hashPassword, verifyPassword } from '../auth/password.ts';
import { passwordFingerprint, signSession } from '../auth/session.ts';
import type { ApiDeps } from '../deps.ts';
import { adminProcedure, publicProcedure, ROLES, router, sessionCookie, viewerProcedure, type SessionUser } from '../trpc.ts';
import { storableText } from '../filters.ts';

const username = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._@-]+$/, 'letters, digits and . _ @ - only');
const password = z.string().min(8, 'at least 8 characters').max(200);

// A password check costs ~50 ms of scrypt; a dummy hash keeps unknown users from answering faster.
let dummyHash: Promise<string> | null = null;

// Password guessing: after FREE_TRIES wrong passwords in a row for one username, each further
// attempt for it must wait 2, 4, 8 ... (at most 60) seconds after the last failure. Per dashboard
// process; a correct password resets it.
const FREE_TRIES = 5;
type Failure = { count: number; until: number };
const failuresOf = new WeakMap<ApiDeps, Map<string, Failure>>();

export class ThrottledError extends TRPCError {
  constructor(readonly retryAfterSeconds: number) {
    super({ code: 'TOO_MANY_REQUESTS', message: `too many wrong passwords; try again in ${retryAfterSeconds} s` });
  }
}

/**
 * Checks a username and password (login form, HTTP Basic for scripts). Null when wrong; throws
 * ThrottledError while the username is cooling down after repeated failures.
 */
export async function authenticate(deps: ApiDeps, name: string, pass: string): Promise<(SessionUser & { passwordHash: string }) | null> {
  const now = Date.now();
  let failures = failuresOf.get(deps);
  if (!failures) failuresOf.set(deps, (failures = new Map<string, Failure>()));
  const f = failures.get(name);
  if (f && f.until > now) throw new ThrottledError(Math.ceil((f.until - now) / 1000));
  const u = await deps.prisma.dashboardUser.findUnique({ where: { username: name } });
  let ok = false;
  if (!u || u.disabled) await verifyPassword(pass, await (dummyHash ??= hashPassword('dummy-password')));
  else ok = await verifyPassword(pass, u.passwordHash);
  if (!u || u.disabled || !ok) {
    const count = (f?.count ?? 0) + 1;
    const wait = count > FREE_TRIES ? Math.min(2 ** (count - FREE_TRIES) * 1000, 60_000) : 0;
    failures.set(name, { count, until: Date.now() + wait });
    if (failures.size > 10_000) failures.delete(failures.keys().next().value!);
    return null;
  }
  failures.delete(name);
  return { id: String(u.id), username: u.username, role: u.role as SessionUser['role'], passwordHash: u.passwordHash };
}

async function audit(deps: ApiDeps, actor: string, action: string, target: string, details: unknown) {
  await deps.prisma.auditLog.create({
    data: { at: deps.clock.now(), actor, action, reason: '', target, gidCount: 0, succeeded: 1, failed: 0, details: JSON.stringify(details) },
  });
}

export const authRouter = router({
  me: publicProcedure.query(({ ctx }) => ({
    user: ctx.user,
    settings: {
      refreshSeconds: ctx.deps.settings.refreshSeconds,
      stuck: ctx.deps.settings.stuck,
      store: ctx.deps.db.config.driver,
    },
  })),
  login: publicProcedure.input(z.object({ username: storableText().max(128), password: z.string().max(200) })).mutation(async ({ ctx, input }) => {
    const u = await authenticate(ctx.deps, input.username.trim(), input.password);
    if (!u) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'wrong username or password' });
    const hours = ctx.deps.settings.sessionHours;
    const token = signSession(
      { uid: u.id, exp: ctx.deps.clock.now().getTime() + hours * 3600_000, pw: passwordFingerprint(u.passwordHash) },
      ctx.deps.sessionSecret,
    );
    ctx.setCookie(sessionCookie(ctx, token, hours * 3600));
    return { username: u.username, role: u.role };
  }),
  logout: publicProcedure.mutation(({ ctx }) => {
    ctx.setCookie(sessionCookie(ctx, '', 0));
    return { ok: true };
  }),
  changePassword: viewerProcedure.input(z.object({ current: z.string(), next: password })).mutation(async ({ ctx, input }) => {
    if (!(await authenticate(ctx.deps, ctx.user.username, input.current))) {
      throw new TRPCError({ code: 'BAD_REQUEST', message: 'the current password is wrong' });
    }
    const passwordHash = await hashPassword(input.next);
    await ctx.deps.prisma.dashboardUser.update({ where: { id: BigInt(ctx.user.id) }, data: { passwordHash, updatedAt: ctx.deps.clock.now() } });
    // the old cookie no longer matches the password: issue a new one
    const hours = ctx.deps.settings.sessionHours;
    const token = signSession(
      { uid: ctx.user.id, exp: ctx.deps.clock.now().getTime() + hours * 3600_000, pw: passwordFingerprint(passwordHash) },
      ctx.deps.sessionSecret,
    );
    ctx.setCookie(sessionCookie(ctx, token, hours * 3600));
    await audit(ctx.deps, ctx.user.username, 'user-password', ctx.user.username, {});
    return { ok: true };
  }),
});

export const usersRouter = router({
  list: adminProcedure.query(async ({ ctx }) => {
    const rows = await ctx.deps.prisma.dashboardUser.findMany({ orderBy: { username: 'asc' } });
    return rows.map((u) => ({ id: String(u.id), username: u.username, role: u.role, disabled: u.disabled, createdAt: u.createdAt.getTime() }));
  }),
  create: adminProcedure.input(z.object({ username, password, role: z.enum(ROLES) })).mutation(async ({ ctx, input }) => {
    const now = ctx.deps.clock.now();
    try {
      await ctx.deps.prisma.dashboardUser.create({
        data: { username: input.username, passwordHash: await hashPassword(input.password), role: input.role, createdAt: now, updatedAt: now },
      });
    } catch {
      throw new TRPCError({ code: 'CONFLICT', message: `user ${input.username} exists` });
    }
    await audit(ctx.deps, ctx.user.username, 'user-create', input.username, { role: input.role });
    return { ok: true };
  }),
  update: adminProcedure
    .input(
      z.object({ id: z.string().regex(/^\d+$/), role: z.enum(ROLES).optional(), disabled: z.boolean().optional(), password: password.optional() }),
    )
    .mutation(async ({ ctx, input }) => {
      const u = await ctx.deps.prisma.dashboardUser.findUnique({ where: { id: BigInt(input.id) } });
      if (!u) throw new TRPCError({ code: 'NOT_FOUND', message: 'no such user' });
      if (u.id === BigInt(ctx.user.id) && ((input.role && input.role !== 'admin') || input.disabled)) {
        throw new TRPCError({ code: 'BAD_REQUEST', message: 'you cannot demote or disable yourself' });
      }
      await ctx.deps.prisma.dashboardUser.update({
        where: { id: u.id },
        data: {
          role: input.role,
          disabled: input.disabled,
          passwordHash: input.password ? await hashPassword(input.password) : undefined,
          updatedAt: ctx.deps.clock.now(),
        },
      });
      await audit(ctx.deps, ctx.user.username, 'user-update', u.username, {
        role: input.role,
        disabled: input.disabled,
        password: input.password ? 'reset' : undefined,
      });
      return { ok: true };
    }),
});
