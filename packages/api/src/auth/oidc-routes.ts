// The single sign-on routes of the dashboard's web server (docs/security.md, "Single sign-on"):
//   GET <base>/api/auth/oidc/login?next=/path   redirect to the provider (PKCE, state, nonce)
//   GET <base>/api/auth/oidc/callback           the provider's answer: code exchange, role from
//                                               the claim, user found or created, session issued
// A login that cannot complete goes back to the login page with `?sso=<reason>`, which the page
// explains; every SSO login and refusal is written to the audit log.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiDeps } from '../deps.ts';
import type { SessionUser } from '../trpc.ts';
import { CALLBACK_PATH, LOGIN_PATH, roleFromClaims, upsertSsoUser, usernameFrom, type OidcLogin } from './oidc.ts';
import { createSession, endUserSessions, parseCookies, type ClientInfo } from './session.ts';

/** Carries the pending login (PKCE verifier, state, nonce) from the redirect to the callback. */
const PENDING_COOKIE = 'dtx_oidc';

/** Why an SSO login went back to the login page (the page has a sentence for each). */
export type SsoRefusal = 'unavailable' | 'expired' | 'failed' | 'no-role' | 'disabled' | 'name-taken';

export interface OidcRequest {
  /** the path below the base path */
  path: string;
  query: URLSearchParams;
  /** who is asking (address, browser, HTTPS: cookies get the Secure flag), as the server's trust-proxy rule decides */
  client: ClientInfo;
}

/** A same-origin dashboard path: starts with one slash, no `//` or `/\`, no backslash or control character. */
export function safeNext(next: string | null): string {
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  return next && /^\/(?![/\\])[^\\\u0000-\u001f\u007f]*$/.test(next) ? next : '/';
}

/**
 * Answers the SSO routes; false for any other path (and when SSO is not configured, so the paths
 * fall through to the usual 404).
 */
export async function handleOidc(deps: ApiDeps, req: IncomingMessage, res: ServerResponse, r: OidcRequest): Promise<boolean> {
  const oidc = deps.oidc;
  if (!oidc || req.method !== 'GET' || (r.path !== LOGIN_PATH && r.path !== CALLBACK_PATH)) return false;
  if (r.path === LOGIN_PATH) await beginLogin(deps, oidc, res, r);
  else await callback(deps, oidc, req, res, r);
  return true;
}

function pendingCookie(deps: ApiDeps, value: string, https: boolean, maxAge: number): string {
  // SameSite=Lax, not Strict: the callback is a navigation coming from the provider's site.
  const attrs = [`Path=${deps.settings.basePath}/api/auth/oidc`, `Max-Age=${maxAge}`, 'HttpOnly', 'SameSite=Lax', ...(https ? ['Secure'] : [])];
  return [`${PENDING_COOKIE}=${value}`, ...attrs].join('; ');
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { location, 'cache-control': 'no-store' });
  res.end();
}

const toLogin = (deps: ApiDeps, res: ServerResponse, why: SsoRefusal) => redirect(res, `${deps.settings.basePath}/login?sso=${why}`);

async function beginLogin(deps: ApiDeps, oidc: OidcLogin, res: ServerResponse, r: OidcRequest): Promise<void> {
  const started = await oidc.begin(safeNext(r.query.get('next')));
  if (!started) return toLogin(deps, res, 'unavailable');
  res.appendHeader('set-cookie', pendingCookie(deps, started.pending, r.client.https, 600));
  redirect(res, started.url.href);
}

async function callback(deps: ApiDeps, oidc: OidcLogin, req: IncomingMessage, res: ServerResponse, r: OidcRequest): Promise<void> {
  const pending = await oidc.readPending(parseCookies(req.headers.cookie)[PENDING_COOKIE]);
  res.appendHeader('set-cookie', pendingCookie(deps, '', r.client.https, 0)); // one use only
  const ip = r.client.remoteAddress;
  const refuse = async (why: SsoRefusal, reason: string, actor: string, details: Record<string, unknown> = {}) => {
    deps.logger.warn({ reason, actor, ip, ...details }, 'single sign-on refused');
    await audit(deps, { actor, action: 'user-sso-refused', target: actor, reason, ok: false, details: { ...details, ip } });
    toLogin(deps, res, why);
  };
  if (!pending) return refuse('expired', 'no pending sign-in in this browser (expired, or started in another tab)', 'sso');
  if (r.query.get('error')) {
    const e = r.query.get('error_description') || r.query.get('error') || '';
    return refuse('failed', `the provider answered: ${e.slice(0, 200)}`, 'sso');
  }
  let issuer: string;
  let claims: Record<string, unknown>;
  try {
    ({ issuer, claims } = await oidc.finish(r.query, pending));
  } catch (err) {
    return refuse('failed', `sign-in could not be verified: ${describe(err)}`, 'sso');
  }
  const s = oidc.settings;
  const subject = String(claims.sub);
  const username = usernameFrom(claims, s.usernameClaim);
  const who = { issuer, subject, claim: s.roleClaim, values: claims[s.roleClaim] ?? null };
  const role = roleFromClaims(claims, s);
  if (!role) return refuse('no-role', `claim ${s.roleClaim} maps to no dashboard role`, username, who);
  const found = await upsertSsoUser(deps.prisma, deps.clock, { issuer, subject, username, role });
  if (!found.ok) return refuse(found.refusal, found.message, username, who);
  const session = await issueSessionFor(deps, found, r.client, res);
  await audit(deps, {
    actor: found.user.username,
    action: 'user-sso-login',
    target: found.user.username,
    reason: '',
    ok: true,
    details: { issuer, subject, role, created: found.created, ip, session },
  });
  landOn(res, `${deps.settings.basePath}${pending.next}`);
}

/** openid-client's message and the check that failed (its cause), e.g. `unexpected "state" response parameter value`. */
function describe(err: unknown): string {
  const e = err as Error;
  return e.cause instanceof Error && e.cause.message !== e.message ? `${e.message}: ${e.cause.message}` : e.message;
}

/**
 * The one place an SSO login gets its dashboard session: a stored session, as the password
 * login's (auth/session.ts). A role the provider changed ends the user's other sessions first,
 * as a role change on the Users page does.
 */
export async function issueSessionFor(
  deps: ApiDeps,
  found: { user: SessionUser; roleChanged: boolean },
  client: ClientInfo,
  res: ServerResponse,
): Promise<string> {
  if (found.roleChanged) await endUserSessions(deps, found.user.id);
  const s = await createSession(deps, found.user.id, client);
  res.appendHeader('set-cookie', s.cookie);
  return s.session.id;
}

/**
 * A page that moves on to the dashboard itself: the session cookie is SameSite=Strict, and a
 * browser does not send it on a redirect chain that started at the provider's site, but does on
 * a navigation this page (same site) starts.
 */
function landOn(res: ServerResponse, path: string): void {
  const href = path.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(
    `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${href}"><title>Signed in</title><a href="${href}">Continue</a>`,
  );
}

async function audit(
  deps: ApiDeps,
  e: { actor: string; action: string; target: string; reason: string; ok: boolean; details: unknown },
): Promise<void> {
  await deps.prisma.auditLog.create({
    data: {
      at: deps.clock.now(),
      actor: e.actor.slice(0, 128),
      action: e.action,
      reason: e.reason,
      target: e.target,
      gidCount: 0,
      succeeded: e.ok ? 1 : 0,
      failed: e.ok ? 0 : 1,
      details: JSON.stringify(e.details),
    },
  });
}
