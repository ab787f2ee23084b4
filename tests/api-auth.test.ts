// Optional API tokens (ApiAuth.*, docs/security.md "API tokens"): with ApiAuth.Token set, every
// dtm API call over HTTP, JSON-RPC and gRPC needs it (ping and readiness stay open); operator
// routes need ApiAuth.OperatorToken, which the service token cannot replace; operator routes
// called over the API are written to the audit log with actor `api` and the caller's address.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Coordinator } from '@dtx/coordinator';
import { loadConfig } from '@dtx/config';
import { BranchServer } from './support/branches.ts';
import { startInProcess } from './support/coordinator.ts';
import { DtmGrpc, grpc } from './support/grpc.ts';
import { freshStore, testStores } from './support/stores.ts';

const TOKEN = 'svc-token-0123456789abcdef0123456789';
const OPERATOR = 'op-token-0123456789abcdef0123456789ab';
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('ApiAuth configuration', () => {
  it('refuses tokens shorter than 32 characters, naming the key', () => {
    expect(() => loadConfig({ env: { API_AUTH_TOKEN: 'short-token' } })).toThrow('ApiAuth.Token (API_AUTH_TOKEN) must be at least 32 characters');
    expect(() => loadConfig({ env: { API_AUTH_OPERATOR_TOKEN: 'x'.repeat(31) } })).toThrow(
      'ApiAuth.OperatorToken (API_AUTH_OPERATOR_TOKEN) must be at least 32 characters',
    );
    expect(() => loadConfig({ env: { API_AUTH_TOKEN: TOKEN, API_AUTH_OPERATOR_TOKEN: TOKEN } })).toThrow(
      'ApiAuth.OperatorToken (API_AUTH_OPERATOR_TOKEN) must differ',
    );
  });
});

describe.each(testStores())('API tokens on %s', (storeName) => {
  let c: Coordinator;
  let base: string;
  const svc = new BranchServer();
  let n = 0;
  const gid = (label: string) => `auth-${label}-${storeName}-${++n}-${Date.now()}`;

  beforeAll(async () => {
    await svc.start();
    c = await startInProcess(await freshStore(storeName, 'auth'), { ApiAuth: { Token: TOKEN, OperatorToken: OPERATOR } });
    base = `http://127.0.0.1:${c.httpPort}`;
  });
  afterAll(async () => {
    await c?.close();
    await svc.stop();
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers });
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  it('HTTP: 401 without or with a wrong token, the service or operator token passes; ping and readiness stay open', async () => {
    const none = await get('/api/dtmsvr/newGid');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(((await none.json()) as { message: string }).message).toContain('missing bearer token (ApiAuth.Token)');
    const wrong = await get('/api/dtmsvr/newGid', bearer(`${TOKEN}x`));
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { message: string }).message).toContain('invalid bearer token');
    expect((await get('/api/dtmsvr/query?gid=x', { authorization: TOKEN })).status).toBe(401); // no "Bearer"
    expect((await get('/api/dtmsvr/newGid', bearer(TOKEN))).status).toBe(200);
    expect((await get('/api/dtmsvr/newGid', bearer(OPERATOR))).status).toBe(200);
    expect((await get('/api/ping')).status).toBe(200);
    expect((await get('/api/health/ready')).status).toBe(200);

    // a refused submit stores nothing; the same submit with the token runs
    const g = gid('submit');
    const body = { gid: g, trans_type: 'saga', steps: [{ action: svc.url('/a/A'), compensate: svc.url('/a/C') }], payloads: ['{}'] };
    expect((await post('/api/dtmsvr/submit', body)).status).toBe(401);
    expect(svc.callsTo('/a/A', g)).toEqual([]);
    expect((await post('/api/dtmsvr/submit', body, bearer(TOKEN))).status).toBe(200);
    const q = await fetch(`${base}/api/dtmsvr/query?gid=${g}`, { headers: bearer(TOKEN) });
    expect(q.status).toBe(200);
    expect(((await q.json()) as { transaction: { gid: string } }).transaction.gid).toBe(g);
  });

  it('JSON-RPC: the same header; 401 with a JSON-RPC error without it', async () => {
    const env = { jsonrpc: '2.0', id: '1', method: 'newGid', params: {} };
    const r = await post('/api/json-rpc', env);
    expect(r.status).toBe(401);
    expect(((await r.json()) as { error: { message: string } }).error.message).toContain('ApiAuth.Token');
    const ok = await post('/api/json-rpc', env, bearer(TOKEN));
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { result: { gid: string } }).result.gid).toMatch(/./);
  });

  it('gRPC: UNAUTHENTICATED without the authorization metadata; PERMISSION_DENIED for the service token on topic methods', async () => {
    const client = new DtmGrpc(`127.0.0.1:${c.grpcPort}`);
    const md = (t: string) => {
      const m = new grpc.Metadata();
      m.set('authorization', `Bearer ${t}`);
      return m;
    };
    try {
      const none = await client.call('NewGid', {});
      expect(none.ok).toBe(false);
      if (!none.ok) expect([none.code, none.details]).toEqual([grpc.status.UNAUTHENTICATED, expect.stringContaining('ApiAuth.Token')]);
      expect((await client.call('NewGid', {}, md(TOKEN))).ok).toBe(true);
      const topic = `auth-g-${storeName}`;
      const sub = { Topic: topic, URL: svc.url('/a/sub'), Remark: 'r' };
      const denied = await client.call('Subscribe', sub, md(TOKEN));
      expect(denied.ok).toBe(false);
      if (!denied.ok)
        expect([denied.code, denied.details]).toEqual([grpc.status.PERMISSION_DENIED, expect.stringContaining('ApiAuth.OperatorToken')]);
      expect((await client.call('Subscribe', sub, md(OPERATOR))).ok).toBe(true);
      const rows = await c.db.driver.query("SELECT actor, action, target, details FROM audit_log WHERE action = 'topic-subscribe' AND target = ?", [
        topic,
      ]);
      expect(rows).toHaveLength(1);
      const row = rows[0] as { actor: string; details: string };
      expect(row.actor).toBe('api');
      const details = JSON.parse(row.details) as { via: string; ok: boolean; url: string; remote: string };
      expect([details.via, details.ok, details.url]).toEqual(['grpc', true, sub.URL]);
      expect(details.remote).toContain('127.0.0.1');
    } finally {
      client.close();
    }
  });

  it('operator routes: 403 for the service token, run with the operator token and written to the audit log', async () => {
    const g = gid('stop');
    // a transaction that stays unfinished: its action keeps failing
    svc.on('/a/fail', { status: 500, body: 'down' });
    const body = { gid: g, trans_type: 'saga', steps: [{ action: svc.url('/a/fail'), compensate: svc.url('/a/C') }], payloads: ['{}'] };
    expect((await post('/api/dtmsvr/submit', body, bearer(TOKEN))).status).toBe(200);

    const refused = await post('/api/dtmsvr/forceStop', { gid: g }, bearer(TOKEN));
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { message: string }).message).toContain('needs the operator token (ApiAuth.OperatorToken)');
    expect((await get('/api/dtmsvr/resetCronTime', bearer(TOKEN))).status).toBe(403);
    expect((await get(`/api/dtmsvr/subscribe?topic=t&url=${encodeURIComponent(svc.url('/x'))}`, bearer(TOKEN))).status).toBe(403);
    expect((await fetch(`${base}/api/dtmsvr/topic/t`, { method: 'DELETE', headers: bearer(TOKEN) })).status).toBe(403);
    let audit = await c.db.driver.query('SELECT actor FROM audit_log WHERE target = ?', [g]);
    expect(audit).toEqual([]); // refused calls did nothing

    const q1 = await fetch(`${base}/api/dtmsvr/query?gid=${g}`, { headers: bearer(TOKEN) });
    expect(((await q1.json()) as { transaction: { status: string } }).transaction.status).toBe('submitted');
    expect((await post('/api/dtmsvr/forceStop', { gid: g }, bearer(OPERATOR))).status).toBe(200);
    const q2 = await fetch(`${base}/api/dtmsvr/query?gid=${g}`, { headers: bearer(OPERATOR) });
    expect(((await q2.json()) as { transaction: { status: string } }).transaction.status).toBe('failed');

    audit = await c.db.driver.query('SELECT actor, action, target, gid_count, succeeded, failed, details FROM audit_log WHERE target = ?', [g]);
    expect(audit).toHaveLength(1);
    const row = audit[0] as Record<string, unknown>;
    expect([row.actor, row.action, Number(row.gid_count), Number(row.succeeded), Number(row.failed)]).toEqual(['api', 'force-stop', 1, 1, 0]);
    expect(JSON.parse(row.details as string)).toMatchObject({ remote: '127.0.0.1', via: 'http', ok: true });

    // a failed operator call is recorded too
    expect((await post('/api/dtmsvr/resetNextCronTime', { gid: `${g}-none` }, bearer(OPERATOR))).status).not.toBe(200);
    const failed = await c.db.driver.query('SELECT succeeded, failed FROM audit_log WHERE action = ? AND target = ?', [
      'reset-next-cron-time',
      `${g}-none`,
    ]);
    expect(failed.map((r) => [Number(r.succeeded), Number(r.failed)])).toEqual([[0, 1]]);
  });
});
