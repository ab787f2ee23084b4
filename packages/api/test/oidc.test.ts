// Single sign-on against a real OpenID Connect provider (oidc-provider on 127.0.0.1), on each
// store: SSO users created on first login and found again by subject with the role the claim gives
// now, refusals (no mapped role, disabled, a name already taken, a tampered state) with their audit
// rows, and a provider that cannot be reached (the dashboard starts, SSO says unavailable).
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '@dtx/db';
import { silentLogger, systemClock, type Logger } from '@dtx/engine';
import {
  authenticate,
  createCaller,
  createDashboard,
  handleOidc,
  hashPassword,
  upsertSsoUser,
  userFromCookie,
  type Dashboard,
  type SsoIdentity,
} from '@dtx/api';
import { testConfig } from '../../../tests/support/coordinator.ts';
import { startTestProvider, TEST_ROLE_VALUES, type TestProvider } from '../../../tests/support/oidc-provider.ts';
import { freePort } from '../../../tests/support/processes.ts';
import { freshStore, testStores } from '../../../tests/support/stores.ts';

/** A browser's cookie jar and redirect following, enough for the code flow. */
class Browser {
  private jar = new Map<string, Map<string, string>>();

  cookieHeader(url: string): string {
    return [...(this.jar.get(new URL(url).host) ?? new Map<string, string>())].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), cookie: this.cookieHeader(url) },
    });
    const host = new URL(url).host;
    const cookies = this.jar.get(host) ?? new Map<string, string>();
    this.jar.set(host, cookies);
    for (const c of res.headers.getSetCookie()) {
      const [pair = ''] = c.split(';');
      const eq = pair.indexOf('=');
      const [name, value] = [pair.slice(0, eq).trim(), pair.slice(eq + 1).trim()];
      if (!value || /max-age=0\b/i.test(c) || /expires=Thu, 01 Jan 1970/i.test(c)) cookies.delete(name);
      else cookies.set(name, value);
    }
    return res;
  }

  /** Follows redirects until a page answers; returns it and the URL it came from. */
  async follow(url: string, init: RequestInit = {}, stopAt?: (u: string) => boolean): Promise<{ res: Response; url: string }> {
    let res = await this.request(url, init);
    for (let hops = 0; res.status >= 300 && res.status < 400 && hops < 10; hops++) {
      url = new URL(res.headers.get('location')!, url).href;
      if (stopAt?.(url)) break;
      res = await this.request(url);
    }
    return { res, url };
  }
}

describe.each(testStores())('single sign-on on %s', (storeName) => {
  let db: Database;
  let dash: Dashboard;
  let idp: TestProvider;
  let web: Server;
  let base: string;

  beforeAll(async () => {
    const store = await freshStore(storeName, 'oidc');
    db = await openDatabase(store);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    idp = await startTestProvider([`${base}/api/auth/oidc/callback`]);
    const config = testConfig(store);
    config.Dashboard.Oidc = {
      ...config.Dashboard.Oidc,
      Issuer: idp.issuer,
      ClientId: idp.clientId,
      ClientSecret: idp.clientSecret,
      DashboardUrl: base,
      Name: 'Test IdP',
      Scopes: 'openid profile email groups',
      AdminValues: TEST_ROLE_VALUES.admin,
      OperatorValues: TEST_ROLE_VALUES.operator,
      ViewerValues: TEST_ROLE_VALUES.viewer,
    };
    dash = await createDashboard(config, { logger: silentLogger, db });
    web = createServer((req, res) => {
      const url = new URL(req.url ?? '/', base);
      handleOidc(dash, req, res, {
        path: url.pathname,
        query: url.searchParams,
        client: { remoteAddress: req.socket.remoteAddress ?? '', userAgent: String(req.headers['user-agent'] ?? ''), https: false },
      })
        .then((handled) => {
          if (!handled) res.writeHead(404).end();
        })
        .catch((err: Error) => res.writeHead(500).end(err.message));
    });
    await new Promise<void>((resolve) => web.listen(port, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => web?.close(resolve));
    await idp?.close();
    await db?.close();
  });

  /** The whole flow in one browser: dashboard -> provider login -> callback. */
  async function signIn(username: string, password: string, tamper?: (callback: URL) => void) {
    const b = new Browser();
    const start = await b.follow(`${base}/api/auth/oidc/login?next=${encodeURIComponent('/transactions?status=failed')}`, {}, (u) =>
      u.includes('/interaction/'),
    );
    const loginPage = start.url;
    expect(loginPage).toContain(`${idp.issuer}/interaction/`);
    const form = new URLSearchParams({ username, password });
    const back = await b.follow(
      `${loginPage}/login`,
      { method: 'POST', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      (u) => u.startsWith(base),
    );
    const callback = new URL(back.url);
    expect(callback.pathname).toBe('/api/auth/oidc/callback');
    tamper?.(callback);
    const res = await b.request(callback.href);
    return { res, body: await res.text(), session: b.cookieHeader(base), callback };
  }

  const auditRows = (action: string) => dash.prisma.auditLog.findMany({ where: { action }, orderBy: { id: 'asc' } });

  it('an account whose groups hold the admin value signs in as a new admin, sent on to the page it asked for', async () => {
    const { res, body, session, callback } = await signIn('alice', 'alice-password');
    // the provider's answer carries the code and the state it was given, and PKCE was required
    expect(callback.searchParams.get('code')).toBeTruthy();
    expect(callback.searchParams.get('state')).toBeTruthy();
    expect(res.status).toBe(200);
    expect(body).toContain('url=/transactions?status=failed');
    const me = await userFromCookie(dash, session);
    expect(me).toMatchObject({ username: 'alice', role: 'admin' });
    const row = await dash.prisma.dashboardUser.findUniqueOrThrow({ where: { username: 'alice' } });
    expect(row).toMatchObject({ oidcIssuer: idp.issuer, oidcSubject: 'sub-alice', role: 'admin' });
    const [audit] = await auditRows('user-sso-login');
    expect(audit).toMatchObject({ actor: 'alice', target: 'alice', succeeded: 1 });
    expect(JSON.parse(audit!.details)).toMatchObject({ subject: 'sub-alice', role: 'admin', created: true });
    // an SSO user has no password: the password login never accepts it
    expect(await authenticate(dash, 'alice', '!oidc')).toBeNull();
  });

  it('the next login finds the same user by subject, takes the role the claim gives now and ends the sessions of the old role', async () => {
    const before = (await signIn('alice', 'alice-password')).session;
    expect(await userFromCookie(dash, before)).toMatchObject({ username: 'alice', role: 'admin' });
    idp.setGroups('sub-alice', ['dtx-viewers']);
    const { session } = await signIn('alice', 'alice-password');
    idp.setGroups('sub-alice', ['staff', 'dtx-admins']);
    const me = await userFromCookie(dash, session);
    expect(me).toMatchObject({ username: 'alice', role: 'viewer' });
    expect(await userFromCookie(dash, before)).toBeNull();
    expect(await dash.prisma.dashboardUser.count({ where: { oidcSubject: 'sub-alice' } })).toBe(1);
    const viewer = createCaller({ deps: dash, user: me, setCookie: () => undefined, secure: false });
    await expect(viewer.users.list()).rejects.toThrow(/needs the admin role/);
    // an admin sees the SSO user as such and cannot give it a password
    const adminRow = await dash.prisma.dashboardUser.findUniqueOrThrow({ where: { username: 'admin' } });
    const admin = createCaller({
      deps: dash,
      user: { id: String(adminRow.id), username: 'admin', role: 'admin' },
      setCookie: () => undefined,
      secure: false,
    });
    expect((await admin.users.list()).find((u) => u.username === 'alice')).toMatchObject({ sso: true });
    await expect(admin.users.update({ id: me!.id, password: 'a-new-password' })).rejects.toThrow(/single sign-on/);
    expect((await dash.prisma.dashboardUser.findUniqueOrThrow({ where: { username: 'alice' } })).passwordHash).toBe('!oidc');
  });

  it('an account whose claim maps to no role is refused, with a reason on the login page and in the audit log', async () => {
    const { res, session } = await signIn('carol', 'carol-password');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/login?sso=no-role');
    expect(await userFromCookie(dash, session)).toBeNull();
    expect(await dash.prisma.dashboardUser.findUnique({ where: { username: 'carol' } })).toBeNull();
    const [audit] = await auditRows('user-sso-refused');
    expect(audit).toMatchObject({ actor: 'carol', succeeded: 0, failed: 1, reason: 'claim groups maps to no dashboard role' });
    expect(JSON.parse(audit!.details)).toMatchObject({ subject: 'sub-carol', values: ['contractors'] });
  });

  it('a callback whose state was changed is refused: no session, no user', async () => {
    const { res, session } = await signIn('bob', 'bob-password', (u) => u.searchParams.set('state', 'forged-state'));
    expect(res.headers.get('location')).toBe('/login?sso=failed');
    expect(await userFromCookie(dash, session)).toBeNull();
    expect(await dash.prisma.dashboardUser.findUnique({ where: { username: 'bob' } })).toBeNull();
    const refusals = await auditRows('user-sso-refused');
    expect(refusals.at(-1)?.reason).toMatch(/could not be verified: .*state/);
  });

  it('a callback without the pending-login cookie (another browser) is refused', async () => {
    const { callback } = await signIn('bob', 'bob-password', () => undefined);
    // replaying the provider's answer in a fresh browser: no pending login there
    const res = await new Browser().request(callback.href);
    expect(res.headers.get('location')).toBe('/login?sso=expired');
  });

  it('a viewer account signs in as viewer; a disabled SSO user is refused', async () => {
    const { session } = await signIn('bob', 'bob-password');
    expect(await userFromCookie(dash, session)).toMatchObject({ username: 'bob', role: 'viewer' });
    await dash.prisma.dashboardUser.update({ where: { username: 'bob' }, data: { disabled: true } });
    const again = await signIn('bob', 'bob-password');
    expect(again.res.headers.get('location')).toBe('/login?sso=disabled');
    expect(await userFromCookie(dash, again.session)).toBeNull();
  });

  describe('the SSO user rows', () => {
    const who = (subject: string, username: string, role: SsoIdentity['role'] = 'viewer'): SsoIdentity => ({
      issuer: 'https://idp.example.test',
      subject,
      username,
      role,
    });

    it('never take over a local user of the same name', async () => {
      const now = new Date();
      await dash.prisma.dashboardUser.create({
        data: { username: 'dave', passwordHash: await hashPassword('dave-password'), role: 'viewer', createdAt: now, updatedAt: now },
      });
      const r = await upsertSsoUser(dash.prisma, systemClock, who('sub-dave', 'dave', 'admin'));
      expect(r).toMatchObject({ ok: false, refusal: 'name-taken' });
      expect(await dash.prisma.dashboardUser.findUniqueOrThrow({ where: { username: 'dave' } })).toMatchObject({ role: 'viewer', oidcSubject: null });
    });

    it('are one per issuer and subject, also when the first logins race', async () => {
      const results = await Promise.all([1, 2, 3].map(() => upsertSsoUser(dash.prisma, systemClock, who('sub-erin', 'erin', 'operator'))));
      expect(results.filter((r) => r.ok && r.created)).toHaveLength(1);
      expect(results.every((r) => r.ok && r.user.username === 'erin')).toBe(true);
      expect(await dash.prisma.dashboardUser.count({ where: { oidcSubject: 'sub-erin' } })).toBe(1);
      // the same subject at another issuer is another person: its name is taken
      const other = await upsertSsoUser(dash.prisma, systemClock, { ...who('sub-erin', 'erin'), issuer: 'https://other.example.test' });
      expect(other).toMatchObject({ ok: false, refusal: 'name-taken' });
      // a renamed account at the provider keeps its dashboard user
      const renamed = await upsertSsoUser(dash.prisma, systemClock, who('sub-erin', 'erin.new', 'admin'));
      expect(renamed).toMatchObject({ ok: true, created: false, user: { username: 'erin', role: 'admin' } });
    });
  });
});

describe('single sign-on with an issuer that cannot be reached', () => {
  it('starts the dashboard, logs the key, says SSO is unavailable, and local login still works', async () => {
    const store = await freshStore('sqlite', 'oidc_down');
    const config = testConfig(store);
    config.Dashboard.AdminPassword = 'admin-password';
    const closedPort = await freePort(); // nothing listens there
    config.Dashboard.Oidc = {
      ...config.Dashboard.Oidc,
      Issuer: `http://127.0.0.1:${closedPort}`,
      ClientId: 'dtx',
      DashboardUrl: 'http://127.0.0.1:1',
      AdminValues: 'admins',
    };
    const warnings: Array<{ obj: object; msg?: string }> = [];
    const logger: Logger = { ...silentLogger, warn: (obj, msg) => warnings.push({ obj, msg }) };
    const dash = await createDashboard(config, { logger });
    try {
      expect(warnings[0]?.obj).toMatchObject({ key: 'Dashboard.Oidc.Issuer' });
      expect(warnings[0]?.msg).toContain('local login still works');
      const caller = createCaller({ deps: dash, user: null, setCookie: () => undefined, secure: false });
      expect(await caller.sso.status()).toEqual({ name: 'SSO', roleClaim: 'groups', available: false });
      let cookie = '';
      const local = createCaller({ deps: dash, user: null, setCookie: (h) => (cookie = h), secure: false });
      expect(await local.auth.login({ username: 'admin', password: 'admin-password' })).toMatchObject({ role: 'admin' });
      expect(await userFromCookie(dash, cookie.split(';')[0])).toMatchObject({ username: 'admin' });
    } finally {
      await dash.close();
    }
  });
});
