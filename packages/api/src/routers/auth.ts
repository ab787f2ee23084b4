// Logging in and out, who am I, and (admin) user management and sessions. Login starts a
// server-side session (auth/session.ts) after the attempt limits (auth/limiter.ts) allowed the
// password check; every login, failed login, lock-out and logout, and every user change, is
// written to the audit log with the remote address.
import { z } from 'zod';
import { TRPCError } from '@trpc/server';
import { LoginGuard } from '../auth/limiter.ts';
import { hashPassword, logins, verifyPassword } from '../auth/password.ts';
import { createSession, endSession, endUserSessions, listSessions, sessionCookie, type ClientInfo } from '../auth/session.ts';
import type { ApiDeps } from '../deps.ts';
import { adminProcedure, clientOf, publicProcedure, ROLES, router, viewerProcedure, type SessionUser } from '../trpc.ts';
import { storableText } from '../filters.ts';

const username = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._@-]+$/, 'may contain only letters, digits and . _ @ -');
const password = z.string().min(8, 'must be at least 8 characters').max(200);

// A password check costs ~50 ms of scrypt; a dummy hash keeps unknown users from answering faster.
let dummyHash: Promise<string> | null = null;

const guards = new WeakMap<ApiDeps, LoginGuard>();
const guardOf = (deps: ApiDeps) => {
  let g = guards.get(deps);
  if (!g) guards.set(deps, (g = new LoginGuard(deps.db, deps.settings.login, deps.clock)));
  return g;
};

export class ThrottledError extends TRPCError {
  constructor(readonly retryAfterSeconds: number) {
    super({ code: 'TOO_MANY_REQUESTS', message: `Too many login attempts; try again in ${retryAfterSeconds} s.` });
  }
}

export interface AuthenticateOptions {
  /** Where the attempt came from (the login limits count per address; audit rows name it). */
  client: ClientInfo;
  /** `dashboard` (the login form) or `api` (HTTP Basic of /api/v1), for the audit rows. */
  via: 'dashboard' | 'api';
}

/**
 * Checks a username and password (login form, HTTP Basic for scripts). Null when wrong; throws
 * ThrottledError, without checking the password, while the username or the address is over its
 * attempt limit. Failed attempts and lock-outs are audited here; successful logins by the caller.
 */
export async function authenticate(
  deps: ApiDeps,
  name: string,
  pass: string,
  opts: AuthenticateOptions = { client: { remoteAddress: 'in-process', userAgent: '', https: false }, via: 'api' },
): Promise<(SessionUser & { passwordHash: string }) | null> {
  // the whole check waits its turn: a burst queues here, not in the database pool or thread pool
  return logins.run(async () => {
    const { client, via } = opts;
    const guard = guardOf(deps);
    const r = await guard.reserve(name, client.remoteAddress);
    if (!r.ok) {
      if (r.lockedNow) {
        await auditLogin(deps, 'login-locked', name, client, { via, limit: r.scope, retryAfterSeconds: r.retryAfterSeconds });
      }
      throw new ThrottledError(r.retryAfterSeconds);
    }
    const u = await deps.prisma.dashboardUser.findUnique({ where: { username: name } });
    let ok = false;
    if (!u || u.disabled) await verifyPassword(pass, await (dummyHash ??= hashPassword('dummy-password')));
    else ok = await verifyPassword(pass, u.passwordHash);
    if (!u || u.disabled || !ok) {
      await auditLogin(deps, 'login-failed', name, client, { via });
      return null;
    }
    await guard.succeeded(name, client.remoteAddress);
    return { id: String(u.id), username: u.username, role: u.role as SessionUser['role'], passwordHash: u.passwordHash };
  });
}

async function audit(deps: ApiDeps, actor: string, action: string, target: string, details: unknown) {
  await deps.prisma.auditLog.create({
    data: { at: deps.clock.now(), actor, action, reason: '', target, gidCount: 0, succeeded: 1, failed: 0, details: JSON.stringify(details) },
  });
}

/** Login events: the target is the username tried, the details say from where. */
async function auditLogin(deps: ApiDeps, action: string, name: string, client: ClientInfo, details: Record<string, unknown>) {
  const ok = action === 'login' || action === 'logout';
  await deps.prisma.auditLog.create({
    data: {
      at: deps.clock.now(),
      actor: ok ? name.slice(0, 128) : 'anonymous',
      action,
      reason: '',
      target: name.slice(0, 200),
      gidCount: 0,
      succeeded: ok ? 1 : 0,
      failed: ok ? 0 : 1,
      details: JSON.stringify({ address: client.remoteAddress, userAgent: client.userAgent.slice(0, 200), ...details }),
    },
  });
}

export const authRouter = router({
  me: publicProcedure.query(async ({ ctx }) => ({
    user: ctx.user,
    /** signs in with single sign-on: has no password of ours to change */
    sso:
      ctx.user !== null &&
      (await ctx.deps.prisma.dashboardUser.findUnique({ where: { id: BigInt(ctx.user.id) }, select: { oidcSubject: true } }))?.oidcSubject != null,
    settings: {
      refreshSeconds: ctx.deps.settings.refreshSeconds,
      stuck: ctx.deps.settings.stuck,
      store: ctx.deps.db.config.driver,
      // where services reach the coordinator, and whether it wants a token: for signed-in users only
      coordinator: ctx.user ? ctx.deps.settings.coordinator : null,
    },
  })),
  login: publicProcedure.input(z.object({ username: storableText().max(128), password: z.string().max(200) })).mutation(async ({ ctx, input }) => {
    const client = clientOf(ctx);
    const name = input.username.trim();
    const u = await authenticate(ctx.deps, name, input.password, { client, via: 'dashboard' });
    if (!u) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Wrong username or password.' });
    const s = await createSession(ctx.deps, u.id, client);
    ctx.setCookie(s.cookie);
    await auditLogin(ctx.deps, 'login', u.username, client, { via: 'dashboard', session: s.session.id });
    return { username: u.username, role: u.role };
  }),
  logout: publicProcedure.mutation(async ({ ctx }) => {
    if (ctx.sessionId) await endSession(ctx.deps, ctx.sessionId);
    ctx.setCookie(sessionCookie(ctx.deps, '', 0, ctx.secure));
    if (ctx.user) await auditLogin(ctx.deps, 'logout', ctx.user.username, clientOf(ctx), { session: ctx.sessionId });
    return { ok: true };
  }),
  changePassword: viewerProcedure.input(z.object({ current: z.string().max(200), next: password })).mutation(async ({ ctx, input }) => {
    if (!(await authenticate(ctx.deps, ctx.user.username, input.current, { client: clientOf(ctx), via: 'dashboard' }))) {
      throw new TRPCError({ code: 'BAD_REQUEST', message: 'The current password is wrong.' });
    }
    const passwordHash = await hashPassword(input.next);
    await ctx.deps.prisma.dashboardUser.update({ where: { id: BigInt(ctx.user.id) }, data: { passwordHash, updatedAt: ctx.deps.clock.now() } });
    // every session of the user ends, this one included; this browser gets a new one
    const ended = await endUserSessions(ctx.deps, ctx.user.id);
    const s = await createSession(ctx.deps, ctx.user.id, clientOf(ctx));
    ctx.setCookie(s.cookie);
    await audit(ctx.deps, ctx.user.username, 'user-password', ctx.user.username, { sessionsEnded: ended });
    return { ok: true };
  }),
});

export const usersRouter = router({
  list: adminProcedure.query(async ({ ctx }) => {
    const rows = await ctx.deps.prisma.dashboardUser.findMany({ orderBy: { username: 'asc' } });
    return rows.map((u) => ({
      id: String(u.id),
      username: u.username,
      role: u.role,
      disabled: u.disabled,
      createdAt: u.createdAt.getTime(),
      /** signs in with single sign-on (auth/oidc.ts): no password, role from the provider's claim */
      sso: u.oidcSubject !== null,
    }));
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
      // A password would open a second way in for an identity the provider vouches for.
      if (input.password && u.oidcSubject !== null) {
        throw new TRPCError({ code: 'BAD_REQUEST', message: `${u.username} signs in with single sign-on and has no password to reset.` });
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
      // A new role, a disabled account or a reset password ends the user's sessions everywhere.
      const changed =
        (input.role !== undefined && input.role !== u.role) || (input.disabled !== undefined && input.disabled !== u.disabled) || !!input.password;
      // (an admin resetting their own password keeps the session they are using)
      const ended = changed ? await endUserSessions(ctx.deps, u.id, u.id === BigInt(ctx.user.id) ? ctx.sessionId : undefined) : 0;
      await audit(ctx.deps, ctx.user.username, 'user-update', u.username, {
        role: input.role,
        disabled: input.disabled,
        password: input.password ? 'reset' : undefined,
        sessionsEnded: ended,
      });
      return { ok: true };
    }),
  /** A user's live sessions: when and from where they logged in, when last used. */
  sessions: adminProcedure.input(z.object({ id: z.string().regex(/^\d+$/) })).query(async ({ ctx, input }) => {
    const rows = await listSessions(ctx.deps, input.id);
    return rows.map((s) => ({
      id: s.id,
      createdAt: s.createdAt.getTime(),
      lastSeenAt: s.lastSeenAt.getTime(),
      expiresAt: s.expiresAt.getTime(),
      remoteAddr: s.remoteAddr,
      userAgent: s.userAgent,
      current: s.id === ctx.sessionId,
    }));
  }),
  /** Ends one session (`sessionId`) or all of a user's sessions (`userId`). */
  endSessions: adminProcedure
    .input(z.union([z.object({ sessionId: z.string().regex(/^\d+$/) }), z.object({ userId: z.string().regex(/^\d+$/) })]))
    .mutation(async ({ ctx, input }) => {
      let target: string;
      let ended: number;
      if ('sessionId' in input) {
        const row = await ctx.deps.prisma.dashboardSession.findUnique({ where: { id: BigInt(input.sessionId) } });
        if (!row) throw new TRPCError({ code: 'NOT_FOUND', message: 'That session has already ended.' });
        const owner = await ctx.deps.prisma.dashboardUser.findUnique({ where: { id: row.userId } });
        target = owner?.username ?? String(row.userId);
        ended = (await endSession(ctx.deps, row.id)) ? 1 : 0;
      } else {
        const owner = await ctx.deps.prisma.dashboardUser.findUnique({ where: { id: BigInt(input.userId) } });
        if (!owner) throw new TRPCError({ code: 'NOT_FOUND', message: 'No such user.' });
        target = owner.username;
        ended = await endUserSessions(ctx.deps, owner.id);
      }
      await audit(ctx.deps, ctx.user.username, 'session-end', target, { sessionsEnded: ended, address: clientOf(ctx).remoteAddress });
      return { ended };
    }),
});
