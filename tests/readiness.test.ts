// Readiness (GET /api/health/ready) against a PostgreSQL of the test's own: 503 with a reason
// while the database is down, 200 once it is back, without restarting the coordinator; and a
// coordinator started while its database is down answers ping and readiness (503) instead of
// exiting, then becomes ready when the database appears.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './support/branches.ts';
import { startChild, startInProcess, type ChildCoordinator } from './support/coordinator.ts';
import { PrivatePostgres } from './support/private-pg.ts';
import { freshStore, testStores } from './support/stores.ts';

/** The body of GET /api/health/ready. */
interface ReadyBody {
  status: string;
  reason?: string;
}

async function ready(base: string): Promise<{ status: number; body: ReadyBody }> {
  const r = await fetch(`${base}/api/health/ready`);
  return { status: r.status, body: (await r.json()) as ReadyBody };
}

const store = (pg: PrivatePostgres, db: string) => ({
  driver: 'postgres' as const,
  host: '127.0.0.1',
  port: pg.port,
  user: 'postgres',
  password: '',
  db,
  schema: 'public',
  maxOpenConns: 4,
});

describe('readiness follows the scheduler (SQLite)', () => {
  it('is 200 while the scheduler loop runs and 503 once it stopped, with the reason; ping stays 200', async () => {
    const c = await startInProcess(await freshStore('sqlite', 'ready'));
    const base = `http://127.0.0.1:${c.httpPort}`;
    try {
      await eventually(async () => (await ready(base)).status === 200, 10_000);
      expect(c.engine.health()).toMatchObject({ ok: true });
      await c.engine.stop(1000);
      const r = await ready(base);
      expect(r).toEqual({ status: 503, body: { status: 'unavailable', reason: 'scheduler not running' } });
      expect((await fetch(`${base}/api/ping`)).status).toBe(200);
    } finally {
      await c.close();
    }
  });
});

describe.skipIf(!testStores().includes('postgres'))('readiness (PostgreSQL)', () => {
  const pg = new PrivatePostgres();
  const children: ChildCoordinator[] = [];

  beforeAll(async () => {
    await pg.init();
  });
  afterAll(async () => {
    for (const c of children) await c.kill();
    try {
      pg.stop();
    } catch {
      // already stopped
    }
  });

  it('is 503 while the database is stopped and 200 once it is back, in the same process', async () => {
    const c = await startChild(store(pg, 'dtx_ready'));
    children.push(c);
    await eventually(async () => (await ready(c.base)).status === 200, 10_000);
    expect((await ready(c.base)).body).toEqual({ status: 'ready' });

    pg.stop();
    try {
      await eventually(async () => (await ready(c.base)).status === 503, 10_000);
      const down = await ready(c.base);
      expect(down.body.status).toBe('unavailable');
      expect(down.body.reason).toMatch(/^store: /);
      // liveness stays up: an orchestrator must not restart the coordinator for this
      expect((await fetch(`${c.base}/api/ping`)).status).toBe(200);
    } finally {
      pg.start();
    }
    await eventually(async () => (await ready(c.base)).status === 200, 20_000);
    expect(c.proc.exitCode).toBeNull();
  }, 60_000);

  it('waits for a database that is down at start-up, answering ping and 503, then becomes ready', async () => {
    pg.stop();
    let c: ChildCoordinator;
    try {
      c = await startChild(store(pg, 'dtx_ready_late'));
      children.push(c);
      expect((await fetch(`${c.base}/api/ping`)).status).toBe(200);
      const r = await ready(c.base);
      expect(r.status).toBe(503);
      expect(r.body.reason).toMatch(/not reachable/);
      // a retry later it is still running: no exit, so no crash loop
      await new Promise((res) => setTimeout(res, 3500));
      expect(c.proc.exitCode).toBeNull();
      expect(c.output()).toMatch(/store not reachable; retrying in 3s/);
    } finally {
      pg.start();
    }
    await eventually(async () => (await ready(c.base)).status === 200, 20_000);
    // the real server took over the port: dtm's API answers
    expect((await fetch(`${c.base}/api/dtmsvr/newGid`)).status).toBe(200);
  }, 60_000);
});
