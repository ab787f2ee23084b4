// tRPC setup: the request context (who is calling, how to set the session cookie) and the
// procedure levels. Roles are enforced here, on the server: viewer < operator < admin.
import { initTRPC, TRPCError } from '@trpc/server';
import { ZodError } from 'zod';
import type { ApiDeps } from './deps.ts';
import { findSession, type ClientInfo } from './auth/session.ts';
import { describeZodError, isDevelopment } from './errors.ts';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface SessionUser {
  id: string;
  username: string;
  role: Role;
}

export interface Context {
  deps: ApiDeps;
  user: SessionUser | null;
  /** Sets a response cookie (login, logout); a no-op for callers without a response (REST, tests). */
  setCookie: (header: string) => void;
  /** The request came over HTTPS (directly or through a trusted proxy): cookies get the Secure flag. */
  secure: boolean;
  /** Where the request came from (audit rows, login limits); absent for in-process callers. */
  client?: ClientInfo;
  /** The session the request carried (logout ends it). */
  sessionId?: string;
}

const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
export const hasRole = (user: SessionUser | null, role: Role) => !!user && rank[user.role] >= rank[role];

/** The session and user behind a cookie, read afresh from the database (disabled users are out). */
export async function sessionFromCookie(
  deps: ApiDeps,
  cookieHeader: string | undefined | null,
): Promise<{ user: SessionUser; sessionId: string } | null> {
  const session = await findSession(deps, cookieHeader);
  if (!session) return null;
  const u = await deps.prisma.dashboardUser.findUnique({ where: { id: BigInt(session.userId) } });
  if (!u || u.disabled) return null;
  return { user: { id: String(u.id), username: u.username, role: u.role as Role }, sessionId: session.id };
}

/** The user behind a session cookie, or null. */
export async function userFromCookie(deps: ApiDeps, cookieHeader: string | undefined | null): Promise<SessionUser | null> {
  return (await sessionFromCookie(deps, cookieHeader))?.user ?? null;
}

export interface RequestInfo {
  cookie?: string | null;
  /** x-forwarded-proto (behind a trusted proxy) or the socket's protocol */
  https: boolean;
  /** the client's address (Dashboard.TrustProxy decides which) */
  remoteAddress?: string;
  userAgent?: string;
  setCookie?: (header: string) => void;
}

export async function createContext(deps: ApiDeps, req: RequestInfo): Promise<Context> {
  const found = await sessionFromCookie(deps, req.cookie);
  return {
    deps,
    user: found?.user ?? null,
    sessionId: found?.sessionId,
    setCookie: req.setCookie ?? (() => undefined),
    secure: req.https,
    client: { remoteAddress: req.remoteAddress ?? '', userAgent: req.userAgent ?? '', https: req.https },
  };
}

/** The request's client, or an in-process one (tests, scripts calling the router directly). */
export const clientOf = (ctx: Context): ClientInfo => ctx.client ?? { remoteAddress: 'in-process', userAgent: '', https: ctx.secure };

// Error bodies (packages/api/src/errors.ts): invalid input as sentences, and outside development
// mode no stack and no internal message.
const t = initTRPC.context<Context>().create({
  isDev: isDevelopment(),
  errorFormatter: ({ shape, error }) => {
    const dev = isDevelopment();
    let message = shape.message;
    if (error.cause instanceof ZodError) message = describeZodError(error.cause);
    else if (error.code === 'INTERNAL_SERVER_ERROR' && !dev) message = 'internal error (the server log has the details)';
    const { stack, ...data } = shape.data;
    return { ...shape, message, data: dev ? { ...data, stack } : data };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure;

const requireRole = (role: Role) =>
  t.middleware(({ ctx, next }) => {
    if (!ctx.user) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'log in first' });
    if (!hasRole(ctx.user, role)) {
      throw new TRPCError({ code: 'FORBIDDEN', message: `this needs the ${role} role; you are ${ctx.user.role}` });
    }
    return next({ ctx: { ...ctx, user: ctx.user } });
  });

export const viewerProcedure = t.procedure.use(requireRole('viewer'));
export const operatorProcedure = t.procedure.use(requireRole('operator'));
export const adminProcedure = t.procedure.use(requireRole('admin'));
