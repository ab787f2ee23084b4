// Server-side sessions (docs/security.md, "Dashboard"). The cookie holds a random 256-bit token;
// the `dashboard_session` table holds only its SHA-256, the user, the times and where the login
// came from, so every dashboard instance on the database sees the same sessions and a session
// ends everywhere at once: on logout, when an admin ends it, and when the user's password, role or
// status changes. A session ends after `Dashboard.SessionIdleMinutes` without use and after
// `Dashboard.SessionHours` in any case. The cookie is HTTP-only, SameSite=Strict, and Secure
// whenever the dashboard is reached over HTTPS.
import { createHash, randomBytes } from 'node:crypto';
import type { ApiDeps } from '../deps.ts';

export const SESSION_COOKIE = 'dtx_session';
/** Mutations must carry this header: a cross-site form cannot set it (CSRF). */
export const CSRF_HEADER = 'x-dtx-csrf';

/** Where a request came from, as the web server determined it (Dashboard.TrustProxy). */
export interface ClientInfo {
  /** The client's address: the socket's, or the forwarded one behind a trusted proxy. */
  remoteAddress: string;
  userAgent: string;
  /** Reached over HTTPS (directly or through a trusted proxy): cookies get the Secure flag. */
  https: boolean;
}

export interface Session {
  id: string;
  userId: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  remoteAddr: string;
  userAgent: string;
}

export interface NewSession {
  /** The Set-Cookie header value that hands the session to the browser. */
  cookie: string;
  /** The raw token (the cookie's value); never stored. */
  token: string;
  session: Session;
}

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** Last-seen times are written at most this often per session (one write, not one per request). */
const TOUCH_EVERY_MS = 60_000;

function toSession(r: {
  id: bigint;
  userId: bigint;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  remoteAddr: string;
  userAgent: string;
}): Session {
  return { ...r, id: String(r.id), userId: String(r.userId) };
}

/**
 * Starts a session for a user who has just proven who they are (password login, or single
 * sign-on): stores the token's hash and returns the cookie to send. The caller writes the audit
 * row. This is the one way to log someone in.
 */
export async function createSession(deps: ApiDeps, userId: string | bigint, client: ClientInfo): Promise<NewSession> {
  const now = deps.clock.now();
  const token = randomBytes(32).toString('base64url');
  const { sessionHours } = deps.settings;
  // ended sessions of anyone (past their lifetime or idle too long) are cleared on the way
  const idleSince = new Date(now.getTime() - deps.settings.sessionIdleMinutes * 60_000);
  await deps.prisma.dashboardSession.deleteMany({ where: { OR: [{ expiresAt: { lte: now } }, { lastSeenAt: { lte: idleSince } }] } });
  const row = await deps.prisma.dashboardSession.create({
    data: {
      tokenHash: hashToken(token),
      userId: BigInt(userId),
      createdAt: now,
      lastSeenAt: now,
      expiresAt: new Date(now.getTime() + sessionHours * 3600_000),
      remoteAddr: client.remoteAddress.slice(0, 128),
      userAgent: client.userAgent.slice(0, 1024),
    },
  });
  return { token, cookie: sessionCookie(deps, token, sessionHours * 3600, client.https), session: toSession(row) };
}

/**
 * The session a cookie header names, if it is still valid (not ended, not idle too long, not past
 * its lifetime); marks it used. Expired rows found on the way are deleted.
 */
export async function findSession(deps: ApiDeps, cookieHeader: string | undefined | null): Promise<Session | null> {
  const token = parseCookies(cookieHeader)[SESSION_COOKIE];
  if (!token || token.length > 100) return null;
  const row = await deps.prisma.dashboardSession.findUnique({ where: { tokenHash: hashToken(token) } });
  if (!row) return null;
  const now = deps.clock.now().getTime();
  if (row.expiresAt.getTime() <= now || row.lastSeenAt.getTime() + deps.settings.sessionIdleMinutes * 60_000 <= now) {
    await deps.prisma.dashboardSession.deleteMany({ where: { id: row.id } });
    return null;
  }
  if (now - row.lastSeenAt.getTime() >= TOUCH_EVERY_MS) {
    await deps.prisma.dashboardSession.updateMany({ where: { id: row.id }, data: { lastSeenAt: new Date(now) } });
  }
  return toSession(row);
}

/** Ends one session by id; false when there was none. */
export async function endSession(deps: ApiDeps, sessionId: string | bigint): Promise<boolean> {
  return (await deps.prisma.dashboardSession.deleteMany({ where: { id: BigInt(sessionId) } })).count > 0;
}

/** Ends every session of a user (but `exceptId`); returns how many ended. */
export async function endUserSessions(deps: ApiDeps, userId: string | bigint, exceptId?: string): Promise<number> {
  const r = await deps.prisma.dashboardSession.deleteMany({
    where: { userId: BigInt(userId), ...(exceptId ? { NOT: { id: BigInt(exceptId) } } : {}) },
  });
  return r.count;
}

/** A user's live sessions, newest first. */
export async function listSessions(deps: ApiDeps, userId: string | bigint): Promise<Session[]> {
  const now = deps.clock.now();
  const idleLimit = new Date(now.getTime() - deps.settings.sessionIdleMinutes * 60_000);
  const rows = await deps.prisma.dashboardSession.findMany({
    where: { userId: BigInt(userId), expiresAt: { gt: now }, lastSeenAt: { gt: idleLimit } },
    orderBy: { id: 'desc' },
  });
  return rows.map(toSession);
}

export function sessionCookie(deps: ApiDeps, token: string, maxAgeSeconds: number, secure: boolean): string {
  return serializeCookie(SESSION_COOKIE, token, { path: deps.settings.basePath || '/', secure, maxAge: maxAgeSeconds });
}

export function parseCookies(header: string | undefined | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const k = part.slice(0, eq).trim();
    if (!(k in out)) {
      try {
        out[k] = decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        // malformed value: ignore the cookie
      }
    }
  }
  return out;
}

export interface CookieOptions {
  path: string;
  secure: boolean;
  /** seconds; 0 deletes the cookie */
  maxAge: number;
}

export function serializeCookie(name: string, value: string, o: CookieOptions): string {
  return [
    `${name}=${encodeURIComponent(value)}`,
    `Path=${o.path || '/'}`,
    `Max-Age=${o.maxAge}`,
    'HttpOnly',
    'SameSite=Strict',
    ...(o.secure ? ['Secure'] : []),
  ].join('; ');
}
