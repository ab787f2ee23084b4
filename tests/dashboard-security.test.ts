// The dashboard's security over real HTTP (apps/web/server/http.ts, with a stand-in for Next's
// page handler) next to a real coordinator in the same process, on each store: server-side
// sessions (logout, revocation, several instances, admin ending sessions, idle and absolute
// timeouts), login limits under concurrency, error bodies, CSP and cache headers, and which
// forwarded headers are believed (docs/security.md, "Dashboard").
import { spawn } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCaller, createDashboard, hashesEvaluated, SESSION_COOKIE, type ApiDeps, type Dashboard } from '@dtx/api';
import type { Coordinator } from '@dtx/coordinator';
import type { Config } from '@dtx/config';
import { silentLogger } from '@dtx/engine';
import { startWebServer, type WebServer } from '../apps/web/server/http.ts';
import { BranchServer } from './support/branches.ts';
import { ManualClock } from './support/clock.ts';
import { DtmHttp, startInProcess, testConfig } from './support/coordinator.ts';
import { freshStore, testStores } from './support/stores.ts';

/** What Next would answer for a page (a static page's long cache header included), and what it was given. */
function fakeNext(seen: { csp?: string }) {
  return (req: IncomingMessage, res: ServerResponse) => {
    seen.csp = req.headers['content-security-policy'] as string | undefined;
    res.setHeader('cache-control', 's-maxage=31536000');
    res.setHeader('content-type', 'text/html');
    res.end('<html><body>page</body></html>');
    return Promise.resolve();
  };
}

interface Web {
  deps: Dashboard;
  web: WebServer;
  base: string;
  seen: { csp?: string };
}

async function startWeb(config: Config, coordinator: Coordinator, clock?: ManualClock): Promise<Web> {
  const deps = await createDashboard(config, { logger: silentLogger, db: coordinator.db, clock });
  const seen: { csp?: string } = {};
  const web = await startWebServer({ deps, next: fakeNext(seen), port: 0, host: '127.0.0.1' });
  return { deps, web, base: `http://127.0.0.1:${web.port}`, seen };
}

const CSRF = { 'x-dtx-csrf': '1', 'content-type': 'application/json' };

async function trpc(w: Web, path: string, input?: unknown, headers: Record<string, string> = {}) {
  const r = await fetch(`${w.base}/api/trpc/${path}`, { method: 'POST', headers: { ...CSRF, ...headers }, body: JSON.stringify(input ?? {}) });
  return {
    status: r.status,
    body: (await r.json()) as { result?: { data: unknown }; error?: { message: string; data: Record<string, unknown> } },
    res: r,
  };
}

async function me(w: Web, cookie: string) {
  const r = await fetch(`${w.base}/api/trpc/auth.me`, { headers: { cookie } });
  return ((await r.json()) as { result: { data: { user: { username: string } | null } } }).result.data.user;
}

async function login(w: Web, username: string, password: string, headers: Record<string, string> = {}) {
  const r = await trpc(w, 'auth.login', { username, password }, headers);
  const set = r.res.headers.get('set-cookie') ?? '';
  return { ...r, setCookie: set, cookie: set.split(';')[0] ?? '' };
}

/** A Prisma delegate whose every call fails the way a driver error does. */
const broken = new Proxy(
  {},
  {
    get: () => () => {
      throw new Error('connection lost at /work/dtx/node_modules/.pnpm/driver/index.ts:42');
    },
  },
);

const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))]!;

describe.each(testStores())('dashboard security on %s', (storeName) => {
  let coordinator: Coordinator;
  let config: Config;
  let a: Web;
  let b: Web;
  const svc = new BranchServer();

  const addUser = async (deps: ApiDeps, username: string, role = 'viewer') => {
    const caller = createCaller({ deps, user: { id: '0', username: 'admin', role: 'admin' }, setCookie: () => undefined, secure: false });
    await caller.users.create({ username, password: `${username}-password`, role: role as 'viewer' });
    return (await deps.prisma.dashboardUser.findUniqueOrThrow({ where: { username } })).id;
  };

  beforeAll(async () => {
    await svc.start();
    const store = await freshStore(storeName, 'websec');
    config = testConfig(store);
    config.Dashboard = {
      ...config.Dashboard,
      AdminPassword: 'admin-password',
      LoginUserAttempts: 5,
      LoginAddressAttempts: 1000,
      LoginWindowSeconds: 3,
      LoginHashConcurrency: 2,
    };
    coordinator = await startInProcess(store, config);
    // two dashboard instances on one database, as behind a load balancer
    a = await startWeb(config, coordinator);
    b = await startWeb(config, coordinator);
  });
  afterAll(async () => {
    await a?.web.close();
    await b?.web.close();
    await coordinator?.close();
    await svc.stop();
  });

  it('a cookie replayed after logout is refused, on every instance; the session table holds only a hash', async () => {
    const l = await login(a, 'admin', 'admin-password');
    expect(l.status).toBe(200);
    expect(l.setCookie).toMatch(new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{43}; Path=/; Max-Age=43200; HttpOnly; SameSite=Strict$`));
    const token = l.cookie.split('=')[1]!;
    const rows = await a.deps.prisma.dashboardSession.findMany();
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.some((r) => r.tokenHash === token || r.tokenHash.includes(token))).toBe(false);
    expect(await me(a, l.cookie)).toMatchObject({ username: 'admin' });
    expect(await me(b, l.cookie)).toMatchObject({ username: 'admin' }); // the other instance knows it
    const out = await trpc(b, 'auth.logout', {}, { cookie: l.cookie });
    expect(out.status).toBe(200);
    expect(out.res.headers.get('set-cookie')).toContain('Max-Age=0');
    expect(await me(a, l.cookie)).toBeNull();
    expect(await me(b, l.cookie)).toBeNull();
    const page = await fetch(`${a.base}/transactions`, { headers: { cookie: l.cookie }, redirect: 'manual' });
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/login?next=%2Ftransactions');
    const audit = await a.deps.prisma.auditLog.findMany({ where: { action: { in: ['login', 'logout'] }, target: 'admin' }, orderBy: { id: 'asc' } });
    expect(audit.map((r) => r.action)).toEqual(['login', 'logout']);
    expect(JSON.parse(audit[0]!.details)).toMatchObject({ address: '127.0.0.1' });
  });

  it('a role change, disabling, a password reset and a password change each end the sessions of that user', async () => {
    await addUser(a.deps, 'rita');
    const admin = await login(a, 'admin', 'admin-password');
    const cases: Array<[string, (id: string) => Promise<unknown>]> = [
      ['role change', (id) => trpc(a, 'users.update', { id, role: 'operator' }, { cookie: admin.cookie })],
      ['disable', (id) => trpc(a, 'users.update', { id, disabled: true }, { cookie: admin.cookie })],
      ['password reset', (id) => trpc(a, 'users.update', { id, disabled: false, password: 'rita-password' }, { cookie: admin.cookie })],
    ];
    const id = String((await a.deps.prisma.dashboardUser.findUniqueOrThrow({ where: { username: 'rita' } })).id);
    for (const [what, change] of cases) {
      const enable = await trpc(a, 'users.update', { id, disabled: false }, { cookie: admin.cookie });
      expect(enable.status, what).toBe(200);
      const rita = await login(b, 'rita', 'rita-password');
      expect(rita.status, what).toBe(200);
      expect(await me(b, rita.cookie), what).toMatchObject({ username: 'rita' });
      await change(id);
      expect(await me(b, rita.cookie), `${what}: the old cookie`).toBeNull();
    }
    // her own password change: every other session ends, the browser that changed it gets a new one
    const one = await login(a, 'rita', 'rita-password');
    const two = await login(b, 'rita', 'rita-password');
    const changed = await trpc(a, 'auth.changePassword', { current: 'rita-password', next: 'rita-password-2' }, { cookie: one.cookie });
    expect(changed.status).toBe(200);
    const fresh = (changed.res.headers.get('set-cookie') ?? '').split(';')[0]!;
    expect(await me(a, one.cookie)).toBeNull();
    expect(await me(b, two.cookie)).toBeNull();
    expect(await me(b, fresh)).toMatchObject({ username: 'rita' });
  });

  it('an admin sees where a user is logged in and ends one session or all of them', async () => {
    const id = String(await addUser(a.deps, 'sam'));
    const admin = await login(a, 'admin', 'admin-password');
    const s1 = await login(a, 'sam', 'sam-password', { 'user-agent': 'browser-one' });
    const s2 = await login(b, 'sam', 'sam-password', { 'user-agent': 'browser-two' });
    const list = await fetch(`${a.base}/api/trpc/users.sessions?input=${encodeURIComponent(JSON.stringify({ id }))}`, {
      headers: { cookie: admin.cookie },
    });
    const sessions = ((await list.json()) as { result: { data: Array<{ id: string; userAgent: string; remoteAddr: string }> } }).result.data;
    expect(sessions.map((s) => s.userAgent).sort()).toEqual(['browser-one', 'browser-two']);
    expect(sessions.every((s) => s.remoteAddr === '127.0.0.1')).toBe(true);
    const one = sessions.find((s) => s.userAgent === 'browser-one')!;
    // a viewer may not
    expect((await trpc(a, 'users.endSessions', { sessionId: one.id }, { cookie: s2.cookie })).status).toBe(403);
    expect((await trpc(a, 'users.endSessions', { sessionId: one.id }, { cookie: admin.cookie })).body.result?.data).toEqual({ ended: 1 });
    expect(await me(b, s1.cookie)).toBeNull();
    expect(await me(b, s2.cookie)).toMatchObject({ username: 'sam' });
    expect((await trpc(a, 'users.endSessions', { userId: id }, { cookie: admin.cookie })).body.result?.data).toEqual({ ended: 1 });
    expect(await me(a, s2.cookie)).toBeNull();
    const audit = await a.deps.prisma.auditLog.findMany({ where: { action: 'session-end', target: 'sam' } });
    expect(audit).toHaveLength(2);
  });

  it('a session ends after the idle timeout, and after its absolute lifetime however active', async () => {
    const clock = new ManualClock(new Date());
    const c = await startWeb({ ...config, Dashboard: { ...config.Dashboard, SessionIdleMinutes: 30, SessionHours: 2 } }, coordinator, clock);
    try {
      await addUser(c.deps, 'ivy');
      const idle = await login(c, 'ivy', 'ivy-password');
      clock.advance(29 * 60);
      expect(await me(c, idle.cookie)).toMatchObject({ username: 'ivy' });
      clock.advance(29 * 60); // used 29 minutes ago: still alive
      expect(await me(c, idle.cookie)).toMatchObject({ username: 'ivy' });
      clock.advance(31 * 60);
      expect(await me(c, idle.cookie)).toBeNull();
      const busy = await login(c, 'ivy', 'ivy-password');
      for (let i = 0; i < 4; i++) {
        clock.advance(25 * 60);
        expect(await me(c, busy.cookie)).toMatchObject({ username: 'ivy' });
      }
      clock.advance(25 * 60); // 2 h 5 min after login
      expect(await me(c, busy.cookie)).toBeNull();
    } finally {
      await c.web.close();
    }
  });

  it('200 concurrent wrong logins evaluate at most the configured number of hashes; the right password works after the window', async () => {
    // a clock of its own: the window passes without sleeping, however slow the machine
    const clock = new ManualClock(new Date());
    const c = await startWeb({ ...config, Dashboard: { ...config.Dashboard, LoginWindowSeconds: 300 } }, coordinator, clock);
    try {
      await addUser(c.deps, 'victim');
      const before = hashesEvaluated();
      const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => login(c, 'victim', `guess-${i}`)));
      const evaluated = hashesEvaluated() - before;
      const statuses = replies.map((r) => r.status);
      expect(evaluated).toBeLessThanOrEqual(5);
      expect(statuses.filter((s) => s === 401).length).toBe(evaluated);
      expect(statuses.filter((s) => s === 429).length).toBe(200 - evaluated);
      const refused = replies.find((r) => r.status === 429)!;
      expect(refused.body.error?.message).toMatch(/^Too many login attempts; try again in \d+ s\.$/);
      // the right password during the window is refused too, without a hash, on every instance
      const during = hashesEvaluated();
      expect((await login(c, 'victim', 'victim-password')).status).toBe(429);
      expect((await login(b, 'victim', 'victim-password')).status).toBe(429);
      expect(hashesEvaluated()).toBe(during);
      clock.advance(301);
      expect((await login(c, 'victim', 'victim-password')).status).toBe(200);
      const audit = await c.deps.prisma.auditLog.findMany({ where: { target: 'victim', action: { in: ['login-failed', 'login-locked', 'login'] } } });
      expect(audit.filter((r) => r.action === 'login-failed')).toHaveLength(evaluated);
      expect(audit.filter((r) => r.action === 'login')).toHaveLength(1);
      expect(audit.filter((r) => r.action === 'login-locked')).toHaveLength(1);
      for (const r of audit) expect(JSON.parse(r.details)).toMatchObject({ address: '127.0.0.1' });
    } finally {
      await c.web.close();
    }
  });

  it('a burst of 200 hashed logins does not stall a coordinator submit in the same process (p99 under 100 ms when the machine is idle)', async () => {
    svc.on('/burst/A', {});
    const dtm = new DtmHttp(`http://127.0.0.1:${coordinator.httpPort}`);
    // a host name, not an address: resolving it uses the thread pool that password hashing uses too
    const action = svc.url('/burst/A').replace('127.0.0.1', 'localhost');
    const submit = async (label: string, i: number) => {
      const gid = `${label}-${storeName}-${i}-${Date.now()}`;
      const t = performance.now();
      const r = await dtm.post('submit', { gid, trans_type: 'msg', steps: [{ action }], payloads: ['{}'] });
      expect(r.status).toBe(200);
      return performance.now() - t;
    };
    // the same submits without a burst: what this (shared, possibly busy) machine gives anyway
    const quiet: number[] = [];
    const quietLoop = monitorEventLoopDelay({ resolution: 10 });
    quietLoop.enable();
    for (let i = 0; i < 40; i++) quiet.push(await submit('quiet', i));
    quietLoop.disable();
    // The burst comes from another process, as from browsers: the measured process only serves
    // it. Distinct usernames: the per-user limit stops none of them, every attempt is hashed.
    const script = `
      const base = ${JSON.stringify(a.base)};
      Promise.all(Array.from({ length: 200 }, (_, i) => fetch(base + '/api/trpc/auth.login', {
        method: 'POST', headers: { 'x-dtx-csrf': '1', 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'nobody-' + i, password: 'wrong-password' }),
      }).then((r) => r.status))).then((s) => { console.log(JSON.stringify(s)); });`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    let done = false;
    void exited.then(() => (done = true));
    const before = hashesEvaluated();
    while (hashesEvaluated() === before && !done) await new Promise((r) => setTimeout(r, 5)); // the burst has begun
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const busy: number[] = [];
    for (let i = 0; (!done || busy.length < 20) && busy.length < 2000; i++) busy.push(await submit('busy', i));
    loop.disable();
    await exited;
    // and once more alone, after: the machine's state may have changed meanwhile
    for (let i = 0; i < 40; i++) quiet.push(await submit('after', i));
    const statuses = JSON.parse(out) as number[];
    expect(statuses.filter((s) => s === 401)).toHaveLength(200);
    expect(hashesEvaluated() - before).toBeGreaterThanOrEqual(200);
    const loopP99 = loop.percentile(99) / 1e6;
    const quietLoopP99 = quietLoop.percentile(99) / 1e6;
    console.log(
      `submits on ${storeName}: p99 ${p99(quiet).toFixed(1)} ms alone, ${p99(busy).toFixed(1)} ms during 200 hashed logins (${busy.length} submits); ` +
        `event-loop delay p99 ${quietLoopP99.toFixed(1)} ms alone, ${loopP99.toFixed(1)} ms during`,
    );
    // Under 100 ms p99 on an idle machine, for the submits and for the event loop's delay. On a
    // shared, busy machine (other processes, the burst's hashing threads, the database's disk)
    // the bound is three times what this machine gives without the burst; a stall (seconds, as
    // before hashing and login checks were bounded) fails either way.
    expect(loopP99).toBeLessThan(Math.max(100, 3 * quietLoopP99));
    expect(p99(busy)).toBeLessThan(Math.max(100, 3 * p99(quiet)));
  }, 240_000);

  it('error bodies carry no stack or file path; invalid input is described in sentences', async () => {
    const admin = await login(a, 'admin', 'admin-password');
    const bodies: string[] = [];
    const short = await trpc(a, 'users.create', { username: 'x1', password: 'short', role: 'viewer' }, { cookie: admin.cookie });
    expect(short.status).toBe(400);
    expect(short.body.error?.message).toBe('Password must be at least 8 characters.');
    bodies.push(JSON.stringify(short.body));
    const bad = await trpc(a, 'users.create', { username: 'no spaces', password: 'long-enough', role: 'boss' }, { cookie: admin.cookie });
    expect(bad.body.error?.message).toBe('Username may contain only letters, digits and . _ @ -. Role must be one of viewer, operator, admin.');
    bodies.push(JSON.stringify(bad.body));
    bodies.push(JSON.stringify((await trpc(a, 'users.list', {})).body));
    bodies.push(await (await fetch(`${a.base}/api/trpc/no.such`, { headers: { cookie: admin.cookie } })).text());
    bodies.push(await (await fetch(`${a.base}/api/trpc/transactions.get?input=%7B`, { headers: { cookie: admin.cookie } })).text());
    // an unexpected failure inside a procedure (here: a database client that throws with a path
    // in its message) is answered as an internal error, without the message or a stack
    const failing = { ...a.deps, prisma: new Proxy(a.deps.prisma, { get: (t, k): unknown => (k === 'auditLog' ? broken : Reflect.get(t, k)) }) };
    const crash = await startWebServer({ deps: failing, next: fakeNext({}), port: 0, host: '127.0.0.1' });
    try {
      const internal = await fetch(`http://127.0.0.1:${crash.port}/api/trpc/audit.list?input=%7B%7D`, { headers: { cookie: admin.cookie } });
      const internalBody = await internal.text();
      expect(internal.status).toBe(500);
      expect(JSON.parse(internalBody)).toMatchObject({ error: { message: 'internal error (the server log has the details)' } });
      bodies.push(internalBody);
    } finally {
      await crash.close();
    }
    const basic = `Basic ${Buffer.from('admin:admin-password').toString('base64')}`;
    const rest = await fetch(`${a.base}/api/v1/bulk`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/json' },
      body: '{"action":"x"}',
    });
    expect(rest.status).toBe(400);
    bodies.push(await rest.text());
    bodies.push(await (await fetch(`${a.base}/api/v1/transactions/x/nothing`, { headers: { authorization: basic } })).text());
    for (const body of bodies) {
      expect(body).not.toMatch(/"stack"|\bat \S+ \(|node_modules|\/work\/|\.ts:\d+/);
    }
    expect(bodies[6]).toContain('Action must be one of retry, abort.');
  });

  it('every response has a strict CSP with a per-request nonce handed to Next, and authenticated responses are not cached', async () => {
    const admin = await login(a, 'admin', 'admin-password');
    const page = await fetch(`${a.base}/transactions`, { headers: { cookie: admin.cookie } });
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]{24}' 'strict-dynamic'(;|$)/);
    expect(csp).not.toContain('unsafe-inline');
    expect(a.seen.csp).toBe(csp); // Next reads the nonce from the request
    expect(page.headers.get('cache-control')).toBe('no-store');
    const again = await fetch(`${a.base}/transactions`, { headers: { cookie: admin.cookie } });
    expect(again.headers.get('content-security-policy')).not.toBe(csp);
    const api = await fetch(`${a.base}/api/trpc/auth.me`, { headers: { cookie: admin.cookie } });
    expect(api.headers.get('cache-control')).toBe('no-store');
    expect(api.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const rest = await fetch(`${a.base}/api/v1/nodes`, {
      headers: { authorization: `Basic ${Buffer.from('admin:admin-password').toString('base64')}` },
    });
    expect(rest.headers.get('cache-control')).toBe('no-store');
  });

  it('X-Forwarded-Host, -For and -Proto are ignored unless Dashboard.TrustProxy says a proxy sends them', async () => {
    const forged = {
      origin: 'http://evil.example',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-for': '203.0.113.9',
      'x-forwarded-proto': 'https',
    };
    const refused = await login(a, 'admin', 'admin-password', forged);
    expect(refused.status).toBe(403);
    const plain = await login(a, 'admin', 'admin-password', { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' });
    expect(plain.status).toBe(200);
    expect(plain.setCookie).not.toContain('Secure');
    const rows = await a.deps.prisma.auditLog.findMany({ where: { action: 'login', target: 'admin' }, orderBy: { id: 'desc' }, take: 1 });
    expect(JSON.parse(rows[0]!.details)).toMatchObject({ address: '127.0.0.1' });

    const proxied = await startWeb({ ...config, Dashboard: { ...config.Dashboard, TrustProxy: 1 } }, coordinator);
    try {
      const p = await login(proxied, 'admin', 'admin-password', {
        origin: 'https://dtx.example',
        'x-forwarded-host': 'dtx.example',
        'x-forwarded-for': '198.51.100.1, 203.0.113.9',
        'x-forwarded-proto': 'https',
      });
      expect(p.status).toBe(200);
      expect(p.setCookie).toMatch(/; Secure$/);
      const row = await a.deps.prisma.auditLog.findMany({ where: { action: 'login', target: 'admin' }, orderBy: { id: 'desc' }, take: 1 });
      expect(JSON.parse(row[0]!.details)).toMatchObject({ address: '203.0.113.9' });
      expect((await login(proxied, 'admin', 'admin-password', { origin: 'https://evil.example', 'x-forwarded-host': 'dtx.example' })).status).toBe(
        403,
      );
    } finally {
      await proxied.web.close();
    }
  });
});
