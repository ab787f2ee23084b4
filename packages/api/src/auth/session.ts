// Session cookies: a signed (HMAC-SHA256), HTTP-only, SameSite=Strict cookie holding the user id,
// an expiry and a fingerprint of the password hash (changing a password ends old sessions). The
// user's role is read from the database on every request, so a demotion applies at once.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'dtx_session';
/** Mutations must carry this header: a cross-site form cannot set it (CSRF). */
export const CSRF_HEADER = 'x-dtx-csrf';

export interface SessionClaims {
  /** user id */
  uid: string;
  /** expiry, epoch ms */
  exp: number;
  /** fingerprint of the password hash at login */
  pw: string;
}

export function passwordFingerprint(passwordHash: string): string {
  return createHash('sha256').update(passwordHash).digest('base64url').slice(0, 12);
}

export function signSession(claims: SessionClaims, secret: string): string {
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const mac = createHmac('sha256', secret).update(body).digest('base64url');
  return `${body}.${mac}`;
}

export function verifySession(token: string | undefined, secret: string, now = Date.now()): SessionClaims | null {
  if (!token) return null;
  const dot = token.indexOf('.');
  if (dot <= 0) return null;
  const body = token.slice(0, dot);
  const mac = Buffer.from(token.slice(dot + 1), 'base64url');
  const expected = createHmac('sha256', secret).update(body).digest();
  if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) return null;
  try {
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as SessionClaims;
    if (typeof claims.uid !== 'string' || typeof claims.exp !== 'number' || claims.exp <= now) return null;
    return claims;
  } catch {
    return null;
  }
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
