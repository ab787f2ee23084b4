// Single sign-on with OpenID Connect (docs/security.md, "Single sign-on"): the provider's
// configuration (discovered at start-up, retried while it cannot be reached), the authorization
// code flow with PKCE, state and nonce (openid-client), the mapping of a claim to a dashboard role,
// and the SSO users of dashboard_user, matched by issuer and subject. The HTTP routes that use it
// are in oidc-routes.ts.
import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import { EncryptJWT, jwtDecrypt } from 'jose';
import type { Config } from '@dtx/config';
import type { PrismaClient } from '@dtx/db';
import type { Clock, Logger } from '@dtx/engine';
import type { Role, SessionUser } from '../trpc.ts';

/** Where the provider sends the browser back, under the dashboard's URL. */
export const CALLBACK_PATH = '/api/auth/oidc/callback';
export const LOGIN_PATH = '/api/auth/oidc/login';
/** Stored as the password hash of SSO users: no scrypt hash, so no password ever matches it. */
export const SSO_PASSWORD_HASH = '!oidc';

export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** DashboardUrl + CALLBACK_PATH, registered at the provider. */
  redirectUri: string;
  name: string;
  scopes: string;
  roleClaim: string;
  /** claim values per role */
  values: Record<Role, string[]>;
  usernameClaim: string;
}

export function oidcSettingsOf(config: Config): OidcSettings | null {
  const o = config.Dashboard.Oidc;
  if (!o.Issuer) return null;
  const list = (v: string) => (v ? v.split(',') : []);
  return {
    issuer: o.Issuer,
    clientId: o.ClientId,
    clientSecret: o.ClientSecret,
    redirectUri: `${o.DashboardUrl}${CALLBACK_PATH}`,
    name: o.Name,
    scopes: o.Scopes,
    roleClaim: o.RoleClaim,
    values: { admin: list(o.AdminValues), operator: list(o.OperatorValues), viewer: list(o.ViewerValues) },
    usernameClaim: o.UsernameClaim,
  };
}

/** The highest role one of whose values the claim holds (a string or a list of strings), else null. */
export function roleFromClaims(claims: Record<string, unknown>, s: Pick<OidcSettings, 'roleClaim' | 'values'>): Role | null {
  const raw = claims[s.roleClaim];
  const held = new Set((Array.isArray(raw) ? raw : [raw]).filter((v): v is string => typeof v === 'string'));
  for (const role of ['admin', 'operator', 'viewer'] as const) if (s.values[role].some((v) => held.has(v))) return role;
  return null;
}

/** What the browser carries between the redirect to the provider and the callback (encrypted). */
export interface PendingLogin {
  codeVerifier: string;
  state: string;
  nonce: string;
  /** dashboard path to land on */
  next: string;
}

const PENDING_SECONDS = 600;
/** A failed discovery is retried at most this often (on a login page view or a sign-in). */
const RETRY_MS = 15_000;

export class OidcLogin {
  private config: client.Configuration | null = null;
  private lastTry = 0;
  private trying: Promise<client.Configuration | null> | null = null;
  private readonly key: Uint8Array;

  constructor(
    readonly settings: OidcSettings,
    private readonly log: Logger,
    sessionSecret: string,
  ) {
    this.key = createHash('sha256').update(`${sessionSecret}:oidc-pending-login`).digest();
  }

  /** The provider's configuration, discovered now if it is not known yet (null: unreachable). */
  async provider(): Promise<client.Configuration | null> {
    if (this.config) return this.config;
    if (this.trying) return this.trying;
    if (this.lastTry && Date.now() - this.lastTry < RETRY_MS) return null;
    this.lastTry = Date.now();
    this.trying = this.discover().finally(() => (this.trying = null));
    return this.trying;
  }

  private async discover(): Promise<client.Configuration | null> {
    const s = this.settings;
    const issuer = new URL(s.issuer);
    try {
      this.config = await client.discovery(
        issuer,
        s.clientId,
        undefined,
        // client_secret_basic: what a client registered without a stated method uses (OpenID Connect Registration 1.0)
        s.clientSecret ? client.ClientSecretBasic(s.clientSecret) : client.None(),
        // http is accepted by the configuration only for a provider on a loopback address
        { timeout: 5, execute: issuer.protocol === 'http:' ? [client.allowInsecureRequests] : [] },
      );
      this.log.info({ issuer: s.issuer }, 'single sign-on: provider configuration loaded');
      return this.config;
    } catch (err) {
      this.log.warn(
        { key: 'Dashboard.Oidc.Issuer', issuer: s.issuer, err: (err as Error).message },
        'single sign-on unavailable: the OpenID Connect issuer (Dashboard.Oidc.Issuer) cannot be reached; local login still works, retrying',
      );
      return null;
    }
  }

  /** The provider's authorization URL for a new login, and what the browser keeps until the callback. */
  async begin(next: string): Promise<{ url: URL; pending: string } | null> {
    const config = await this.provider();
    if (!config) return null;
    const p: PendingLogin = { codeVerifier: client.randomPKCECodeVerifier(), state: client.randomState(), nonce: client.randomNonce(), next };
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.settings.redirectUri,
      scope: this.settings.scopes,
      code_challenge: await client.calculatePKCECodeChallenge(p.codeVerifier),
      code_challenge_method: 'S256',
      state: p.state,
      nonce: p.nonce,
    });
    const pending = await new EncryptJWT({ ...p })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .setIssuedAt()
      .setExpirationTime(`${PENDING_SECONDS}s`)
      .encrypt(this.key);
    return { url, pending };
  }

  async readPending(token: string | undefined): Promise<PendingLogin | null> {
    if (!token) return null;
    try {
      const { payload } = await jwtDecrypt(token, this.key);
      const { codeVerifier, state, nonce, next } = payload;
      if (typeof codeVerifier !== 'string' || typeof state !== 'string' || typeof nonce !== 'string' || typeof next !== 'string') return null;
      return { codeVerifier, state, nonce, next };
    } catch {
      return null;
    }
  }

  /**
   * Exchanges the code of the callback (`query`: its query string) for tokens, checking state,
   * nonce, PKCE and the ID token, and returns the ID token's claims merged with the userinfo's.
   */
  async finish(query: URLSearchParams, p: PendingLogin): Promise<{ issuer: string; claims: Record<string, unknown> }> {
    const config = await this.provider();
    if (!config) throw new Error('the OpenID Connect provider cannot be reached');
    const current = new URL(this.settings.redirectUri);
    current.search = query.toString();
    const tokens = await client.authorizationCodeGrant(config, current, {
      pkceCodeVerifier: p.codeVerifier,
      expectedState: p.state,
      expectedNonce: p.nonce,
      idTokenExpected: true,
    });
    const idClaims = tokens.claims();
    if (!idClaims) throw new Error('the provider sent no ID token');
    let userinfo: Record<string, unknown> = {};
    if (config.serverMetadata().userinfo_endpoint) userinfo = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
    return { issuer: config.serverMetadata().issuer, claims: { ...userinfo, ...idClaims } };
  }
}

/** Created when Dashboard.Oidc.Issuer is set; an unreachable provider is logged, not fatal. */
export async function startOidc(config: Config, log: Logger, sessionSecret: string): Promise<OidcLogin | null> {
  const settings = oidcSettingsOf(config);
  if (!settings) return null;
  const oidc = new OidcLogin(settings, log, sessionSecret);
  await oidc.provider();
  return oidc;
}

const USERNAME = /^[A-Za-z0-9._@-]{1,64}$/;

/** The dashboard username for a new SSO user: the configured claim, else email, else the subject. */
export function usernameFrom(claims: Record<string, unknown>, usernameClaim: string): string {
  for (const c of [claims[usernameClaim], claims.email, claims.sub]) if (typeof c === 'string' && USERNAME.test(c)) return c;
  return String(claims.sub)
    .replace(/[^A-Za-z0-9._@-]/g, '_')
    .slice(0, 64);
}

export interface SsoIdentity {
  issuer: string;
  subject: string;
  /** used when the user is created */
  username: string;
  role: Role;
}

export type SsoUserResult =
  | { ok: true; user: SessionUser & { passwordHash: string }; created: boolean; roleChanged: boolean }
  | { ok: false; refusal: 'disabled' | 'name-taken'; message: string };

/**
 * The dashboard user of an SSO identity: found by issuer and subject (its role set to the one the
 * claim gives now), or created on its first login. Never takes over an existing user of the same
 * name (a local user or another identity): that login is refused.
 */
export async function upsertSsoUser(prisma: PrismaClient, clock: Clock, who: SsoIdentity): Promise<SsoUserResult> {
  const where = { oidcIssuer: who.issuer, oidcSubject: who.subject };
  const now = clock.now();
  let created = false;
  const taken = { ok: false, refusal: 'name-taken', message: `a dashboard user named ${who.username} already exists` } as const;
  // the same identity's first login may be running in another request or instance at this moment
  const mine = (u: { oidcIssuer: string | null; oidcSubject: string | null } | null) =>
    !!u && u.oidcIssuer === who.issuer && u.oidcSubject === who.subject;
  let u = await prisma.dashboardUser.findFirst({ where });
  if (!u) {
    const named = await prisma.dashboardUser.findUnique({ where: { username: who.username } });
    if (named && !mine(named)) return taken;
    u = named;
  }
  if (!u) {
    try {
      u = await prisma.dashboardUser.create({
        data: { username: who.username, passwordHash: SSO_PASSWORD_HASH, role: who.role, createdAt: now, updatedAt: now, ...where },
      });
      created = true;
    } catch {
      u = await prisma.dashboardUser.findFirst({ where });
      if (!u) return taken;
    }
  }
  if (u.disabled) return { ok: false, refusal: 'disabled', message: `the dashboard user ${u.username} is disabled` };
  const roleChanged = !created && u.role !== who.role;
  if (roleChanged) u = await prisma.dashboardUser.update({ where: { id: u.id }, data: { role: who.role, updatedAt: now } });
  return { ok: true, created, roleChanged, user: { id: String(u.id), username: u.username, role: u.role as Role, passwordHash: u.passwordHash } };
}
