// tRPC setup: the request context (who is calling, how to set the session cookie) and the
// procedure levels. Roles are enforced here, on the server: viewer < operator < admin.
import { initTRPC, TRPCError } from '@trpc/server';
import type { ApiDeps } from './deps.ts';
import { parseCookies, SESSION_COOKIE, verifySession, passwordFingerprint, serializeCookie } from './auth/session.ts';

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
  /** The request came over HTTPS (directly or through a proxy): cookies get the Secure flag. */
  secure: boolean;
}

const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
export const hasRole = (user: SessionUser | null, role: Role) => !!user && rank[user.role] >= rank[role];

/** The user behind a session cookie, read afresh from the database (disabled users are out). */
export async function userFromCookie(deps: ApiDeps, cookieHeader: string | undefined | null): Promise<SessionUser | null> {
  const claims = verifySession(parseCookies(cookieHeader)[SESSION_COOKIE], deps.sessionSecret, deps.clock.now().getTime());
  if (!claims) return null;
  let id: bigint;
  try {
    id = BigInt(claims.uid);
  } catch {
    return null;
  }
  const u = await deps.prisma.dashboardUser.findUnique({ where: { id } });
  if (!u || u.disabled || passwordFingerprint(u.passwordHash) !== claims.pw) return null;
  return { id: String(u.id), username: u.username, role: u.role as Role };
}

export interface RequestInfo {
  cookie?: string | null;
  /** x-forwarded-proto or the socket's protocol */
  https: boolean;
  setCookie?: (header: string) => void;
}

export async function createContext(deps: ApiDeps, req: RequestInfo): Promise<Context> {
  return {
    deps,
    user: await userFromCookie(deps, req.cookie),
    setCookie: req.setCookie ?? (() => undefined),
    secure: req.https,
  };
}

export function sessionCookie(ctx: Context, token: string, maxAgeSeconds: number): string {
  return serializeCookie(SESSION_COOKIE, token, { path: ctx.deps.settings.basePath || '/', secure: ctx.secure, maxAge: maxAgeSeconds });
}

const t = initTRPC.context<Context>().create({
  errorFormatter: ({ shape }) => shape,
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
