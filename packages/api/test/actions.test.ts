// Operator actions through the dashboard's router against the real coordinator and real branch
// services: what each action does to the transaction and its branches, the audit row it leaves,
// races with the engine, and the same actions over the HTTP API for scripts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@dtx/engine';
import type { Coordinator } from '@dtx/coordinator';
import { createCaller, createContext, createDashboard, handleRest, hashPassword, SESSION_COOKIE, type ApiDeps, type SessionUser } from '@dtx/api';
import { BranchServer, eventually } from '../../../tests/support/branches.ts';
import { nth } from '../../../tests/support/checked.ts';
import { DtmHttp, startInProcess, testConfig } from '../../../tests/support/coordinator.ts';
import { freshStore, testStores } from '../../../tests/support/stores.ts';

describe.each(testStores())('dashboard actions on %s', (storeName) => {
  let coordinator: Coordinator;
  let deps: ApiDeps;
  let dtm: DtmHttp;
  const svc = new BranchServer();
  const op: SessionUser = { id: '0', username: 'olga', role: 'operator' };
  const caller = () => createCaller({ deps, user: op, setCookie: () => undefined, secure: false });
  let n = 0;
  const gid = (label: string) => `act-${label}-${++n}-${Date.now()}`;

  beforeAll(async () => {
    await svc.start();
    const store = await freshStore(storeName, 'actions');
    coordinator = await startInProcess(store);
    deps = await createDashboard(testConfig(store, { Dashboard: { ...testConfig(store).Dashboard, AdminPassword: 'admin-password' } }), {
      logger: silentLogger,
      db: coordinator.db,
    });
    dtm = new DtmHttp(`http://127.0.0.1:${coordinator.httpPort}`);
    for (const [username, role] of [
      ['olga', 'operator'],
      ['vic', 'viewer'],
    ] as const) {
      await deps.prisma.dashboardUser.create({
        data: { username, passwordHash: await hashPassword(`${username}-password`), role, createdAt: new Date(), updatedAt: new Date() },
      });
    }
  });
  afterAll(async () => {
    await coordinator?.close();
    await svc.stop();
  });

  const saga = (g: string, prefix: string, steps: number, extra: Record<string, unknown> = {}) => ({
    gid: g,
    trans_type: 'saga',
    steps: Array.from({ length: steps }, (_, i) => ({ action: svc.url(`/${prefix}/A${i + 1}`), compensate: svc.url(`/${prefix}/C${i + 1}`) })),
    payloads: Array.from({ length: steps }, () => '{}'),
    ...extra,
  });
  const idle = (g: string) => eventually(async () => (await coordinator.db.store.findGlobal(g))?.owner === '');

  it('retry now runs a saga stuck on a branch that came back, instead of waiting 10 minutes', async () => {
    let up = false;
    svc.on('/r/A2', () => (up ? {} : { status: 503 }));
    const g = gid('retry');
    await dtm.post('submit', saga(g, 'r', 2, { retry_interval: 600 }));
    await eventually(() => svc.callsTo('/r/A2', g).length === 1);
    await idle(g);
    up = true;
    const r = await caller().actions.run({ action: 'retry', gid: g, reason: 'provider back' });
    expect(r).toMatchObject({ ok: true, from: 'submitted' });
    await dtm.waitStatus(g, 'succeed', 10_000);
    expect(svc.callsTo('/r/A2', g)).toHaveLength(2);
    const a = await deps.prisma.auditLog.findUniqueOrThrow({ where: { id: BigInt(r.auditId) } });
    expect(a).toMatchObject({ actor: 'olga', action: 'retry', target: g, reason: 'provider back', succeeded: 1, failed: 0 });
  });

  it('abort with rollback compensates the steps that ran, in reverse order, and ends failed', async () => {
    svc.on('/ab/A3', { status: 503 });
    const g = gid('abort');
    await dtm.post('submit', saga(g, 'ab', 3, { retry_interval: 600 }));
    await eventually(() => svc.callsTo('/ab/A3', g).length === 1);
    await idle(g);
    const r = await caller().actions.run({ action: 'abort', gid: g, reason: 'customer cancelled' });
    expect(r).toMatchObject({ ok: true, from: 'submitted', to: 'aborting' });
    const q = await dtm.waitStatus(g, 'failed', 10_000);
    expect(svc.trail(g).filter((t) => t.endsWith(':compensate'))).toEqual(['/ab/C3:compensate', '/ab/C2:compensate', '/ab/C1:compensate']);
    expect(q.transaction.rollback_reason).toBe('aborted by olga: customer cancelled');
    const detail = await caller().transactions.get({ gid: g });
    expect(detail.branches.filter((b) => b.op === 'compensate').map((b) => b.status)).toEqual(['succeed', 'succeed', 'succeed']);
    expect(detail.attempts.filter((a) => a.op === 'action' && a.branchId === '03').map((a) => a.httpStatus)).toEqual([503]);
  });

  it('race: abort while a pass is inside a slow branch call; the pass is fenced, then that step is compensated too', async () => {
    svc.on('/race/A2', { delayMs: 1500 });
    const g = gid('race');
    await dtm.post('submit', saga(g, 'race', 3));
    await eventually(() => svc.callsTo('/race/A2', g).length === 1);
    const r = await caller().actions.run({ action: 'abort', gid: g, reason: 'stop it' });
    expect(r).toMatchObject({ ok: true, to: 'aborting' });
    await dtm.waitStatus(g, 'failed', 15_000);
    expect(svc.callsTo('/race/A3', g)).toHaveLength(0);
    // A2 answered and is recorded; A3 had become eligible, so by dtm's rule it "may have run" and
    // gets a (null) compensation too: compensations run for C3, C2, C1, in that order.
    expect(svc.trail(g).filter((t) => t.endsWith(':compensate'))).toEqual(['/race/C3:compensate', '/race/C2:compensate', '/race/C1:compensate']);
    expect(nth(svc.callsTo('/race/C2', g), 0).at).toBeGreaterThanOrEqual(nth(svc.callsTo('/race/A2', g), 0).at + 1500);
  });

  it('race: retry now while a pass holds the transaction is refused, and audited as not done', async () => {
    svc.on('/busy/A1', { delayMs: 1500 });
    const g = gid('busy');
    await dtm.post('submit', saga(g, 'busy', 1));
    await eventually(() => svc.callsTo('/busy/A1', g).length === 1);
    const r = await caller().actions.run({ action: 'retry', gid: g, reason: '' });
    expect(r).toMatchObject({ ok: false, message: 'a pass is running on it right now' });
    const a = await deps.prisma.auditLog.findUniqueOrThrow({ where: { id: BigInt(r.auditId) } });
    expect(a).toMatchObject({ succeeded: 0, failed: 1 });
    await dtm.waitStatus(g, 'succeed', 10_000);
    expect(svc.callsTo('/busy/A1', g)).toHaveLength(1);
  });

  it('race: two operators abort at once; exactly one moves it, both are audited', async () => {
    svc.on('/two/A1', { status: 503 });
    const g = gid('two');
    await dtm.post('submit', saga(g, 'two', 1, { retry_interval: 600 }));
    await eventually(() => svc.callsTo('/two/A1', g).length === 1);
    await idle(g);
    const [a, b] = await Promise.all([
      caller().actions.run({ action: 'abort', gid: g, reason: 'a' }),
      caller().actions.run({ action: 'abort', gid: g, reason: 'b' }),
    ]);
    // the other lost the conditional update, or (started a moment later) found it already aborting
    expect([a, b].filter((r) => r.ok && r.from === 'submitted' && r.to === 'aborting')).toHaveLength(1);
    expect([a, b].map((r) => r.message).join(' | ')).toMatch(/status changed to aborting|already rolling back/);
    await dtm.waitStatus(g, 'failed', 10_000);
    expect(svc.callsTo('/two/C1', g)).toHaveLength(1);
    expect(await deps.prisma.auditLog.count({ where: { target: g, action: 'abort' } })).toBe(2);
  });

  it('login sets an HTTP-only SameSite=Strict cookie; a password change or disabling the user ends the session', async () => {
    const cookies: string[] = [];
    const ctx = await createContext(deps, { cookie: null, https: false, setCookie: (h) => cookies.push(h) });
    await expect(createCaller(ctx).auth.login({ username: 'vic', password: 'wrong' })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(await createCaller(ctx).auth.login({ username: 'vic', password: 'vic-password' })).toEqual({ username: 'vic', role: 'viewer' });
    expect(cookies[0]).toMatch(new RegExp(`^${SESSION_COOKIE}=[^;]+; Path=/; Max-Age=\\d+; HttpOnly; SameSite=Strict$`));
    const cookie = nth(nth(cookies, 0).split(';'), 0);
    const viewer = createCaller(await createContext(deps, { cookie, https: false }));
    expect((await viewer.auth.me()).user).toMatchObject({ username: 'vic', role: 'viewer' });
    // where the coordinator is, and whether it wants a token: told to signed-in users only
    expect((await viewer.auth.me()).settings.coordinator).toMatchObject({ token: false });
    // a forged cookie is nobody
    const forged = await createCaller(await createContext(deps, { cookie: `${cookie.slice(0, -3)}abc`, https: false })).auth.me();
    expect(forged.user).toBeNull();
    expect(forged.settings.coordinator).toBeNull();

    const renewed: string[] = [];
    await createCaller(await createContext(deps, { cookie, https: true, setCookie: (h) => renewed.push(h) })).auth.changePassword({
      current: 'vic-password',
      next: 'vic-password-2',
    });
    expect(renewed[0]).toContain('; Secure');
    expect((await createCaller(await createContext(deps, { cookie, https: false })).auth.me()).user).toBeNull();
    const fresh = nth(nth(renewed, 0).split(';'), 0);
    expect((await createCaller(await createContext(deps, { cookie: fresh, https: false })).auth.me()).user?.username).toBe('vic');
    await deps.prisma.dashboardUser.update({ where: { username: 'vic' }, data: { disabled: true } });
    expect((await createCaller(await createContext(deps, { cookie: fresh, https: false })).auth.me()).user).toBeNull();
    await deps.prisma.dashboardUser.update({
      where: { username: 'vic' },
      data: { disabled: false, passwordHash: await hashPassword('vic-password') },
    });
  });

  it('attempts beyond the per-user limit are refused for that user, even with the right password', async () => {
    await deps.prisma.dashboardUser.create({
      data: { username: 'tess', passwordHash: await hashPassword('tess-password'), role: 'viewer', createdAt: new Date(), updatedAt: new Date() },
    });
    const anonymous = createCaller(await createContext(deps, { cookie: null, https: false }));
    for (let i = 0; i < deps.settings.login.userAttempts; i++) {
      await expect(anonymous.auth.login({ username: 'tess', password: `guess-${i}` })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    }
    await expect(anonymous.auth.login({ username: 'tess', password: 'tess-password' })).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    const rest = await handleRest(deps, {
      method: 'GET',
      path: '/nodes',
      query: new URLSearchParams(),
      headers: { authorization: `Basic ${Buffer.from('tess:tess-password').toString('base64')}` },
      body: '',
    });
    expect(rest.status).toBe(429);
    // other users are not affected
    expect(await anonymous.auth.login({ username: 'olga', password: 'olga-password' })).toMatchObject({ username: 'olga' });
  });

  it('the HTTP API for scripts: Basic authentication, roles, and the same audited actions', async () => {
    svc.on('/rest/A1', { status: 503 });
    const g = gid('rest');
    await dtm.post('submit', saga(g, 'rest', 1, { retry_interval: 600 }));
    await eventually(() => svc.callsTo('/rest/A1', g).length === 1);
    await idle(g);
    const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
    const call = (method: string, path: string, auth?: string, body?: unknown) =>
      handleRest(deps, {
        method,
        path: new URL(`http://x${path}`).pathname,
        query: new URL(`http://x${path}`).searchParams,
        headers: { authorization: auth, 'content-type': body === undefined ? undefined : 'application/json' },
        body: body === undefined ? '' : JSON.stringify(body),
      });
    expect((await call('GET', `/transactions/${g}`)).status).toBe(401);
    expect((await call('GET', `/transactions/${g}`, basic('olga', 'nope'))).status).toBe(401);
    const read = await call('GET', `/transactions/${g}`, basic('vic', 'vic-password'));
    expect(read.status).toBe(200);
    expect((read.body as { transaction: { status: string } }).transaction.status).toBe('submitted');
    expect((await call('POST', `/transactions/${g}/abort`, basic('vic', 'vic-password'), { reason: 'x' })).status).toBe(403);
    expect((await call('POST', `/transactions/${g}/force-stop`, basic('olga', 'olga-password'), { reason: 'x' })).status).toBe(400);
    const stopped = await call('POST', `/transactions/${g}/abort`, basic('olga', 'olga-password'), { reason: 'script' });
    expect(stopped).toMatchObject({ status: 200, body: { ok: true, to: 'aborting' } });
    await dtm.waitStatus(g, 'failed', 10_000);
    const again = await call('POST', `/transactions/${g}/retry`, basic('olga', 'olga-password'), {});
    expect(again).toMatchObject({ status: 409, body: { ok: false, message: 'already failed' } });
    const list = await call('GET', `/transactions?gid=${g.slice(0, 9)}&gidMode=prefix&status=failed`, basic('vic', 'vic-password'));
    expect((list.body as { items: { gid: string }[] }).items.map((t) => t.gid)).toContain(g);
    const bulk = await call('POST', '/bulk', basic('olga', 'olga-password'), { action: 'retry', gids: [g] });
    expect(bulk).toMatchObject({ status: 200, body: { total: 1, succeeded: 0, failed: 1 } });
    const audit = await call('GET', '/audit?limit=3', basic('vic', 'vic-password'));
    expect((audit.body as { items: { action: string; actor: string }[] }).items.map((e) => `${e.actor}:${e.action}`)).toEqual([
      'olga:bulk-retry',
      'olga:retry',
      'olga:abort',
    ]);
  });
});
