// Workers (docs/operations.md, "Workers"): `dtx server` with Workers > 1 runs that many
// coordinator processes on one HTTP and one gRPC port. Each is an instance of its own (rows in
// coordinator_node), sagas submitted to the group succeed, GET /api/metrics counts the whole
// group, a killed worker is replaced, SIGTERM stops them all with exit code 0; SQLite refuses
// more than one.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, storeUrl, type SqlDriver, type StoreConfig } from '@dtx/db';
import { BranchServer, eventually } from './support/branches.ts';
import { DtmHttp, startChild, type ChildCoordinator } from './support/coordinator.ts';
import { DtmGrpc } from './support/grpc.ts';
import { freePort, ROOT } from './support/processes.ts';
import { freshStore, storeEnv, testStores } from './support/stores.ts';

/** Pids of the primary's workers (its children running the entry point; tsx's esbuild is one too). */
function childPids(pid: number): number[] {
  let pids: number[];
  try {
    pids = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
  return pids.filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('apps/server/src/main.ts');
    } catch {
      return false;
    }
  });
}

async function submittedTotal(base: string): Promise<number> {
  const text = await (await fetch(`${base}/api/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(/^dtm_server_process_total\{[^}]*api="submit"[^}]*\} (\d+)/gm)) n += Number(m[1]);
  return n;
}

const groupStores = (['postgres', 'mysql'] as const).filter((s) => testStores().includes(s));

describe.skipIf(groupStores.length === 0).each(groupStores)('two workers on %s', (storeName) => {
  const svc = new BranchServer();
  let store: StoreConfig;
  let child: ChildCoordinator;
  let grpcPort: number;
  let db: SqlDriver;

  beforeAll(async () => {
    await svc.start();
    svc.on('/w/TransOut', {});
    svc.on('/w/TransIn', {});
    store = await freshStore(storeName, 'workers');
    grpcPort = await freePort();
    child = await startChild(store, { WORKERS: '2', GRPC_PORT: String(grpcPort) });
    db = connect({ dialect: storeName, url: storeUrl(store), poolSize: 2 });
  });
  afterAll(async () => {
    await child?.kill();
    await db?.close();
    await svc.stop();
  });

  it('runs two instances that serve HTTP and gRPC submits on the shared ports; metrics count both', async () => {
    await eventually(async () => (await db.query('SELECT instance_id FROM coordinator_node')).length === 2 || null, 20_000);
    const pids = childPids(child.proc.pid!);
    expect(pids).toHaveLength(2);
    const rows = await db.query('SELECT instance_id, pid FROM coordinator_node ORDER BY pid');
    expect(new Set(rows.map((r) => r.instance_id)).size).toBe(2);
    expect(rows.map((r) => Number(r.pid)).sort()).toEqual([...pids].sort());
    // The Nodes page shows "worker k of N" from these columns (migration 0022).
    const places = await db.query('SELECT worker, workers FROM coordinator_node ORDER BY worker');
    expect(places.map((r) => [Number(r.worker), Number(r.workers)])).toEqual([
      [0, 2],
      [1, 2],
    ]);

    const prefix = `w-${Date.now()}`;
    // Separate connections (no keep-alive reuse across them): the workers take turns accepting.
    const http = Array.from({ length: 20 }, (_, i) =>
      new DtmHttp(child.base).post('submit', {
        gid: `${prefix}-h${i}`,
        trans_type: 'saga',
        steps: [
          { action: svc.url('/w/TransOut'), compensate: svc.url('/w/TransOutRevert') },
          { action: svc.url('/w/TransIn'), compensate: svc.url('/w/TransInRevert') },
        ],
        payloads: ['{}', '{}'],
        wait_result: true,
      }),
    );
    for (const r of await Promise.all(http)) expect(r.status).toBe(200);
    const rpc = new DtmGrpc(`127.0.0.1:${grpcPort}`);
    try {
      const r = await rpc.call('Submit', {
        Gid: `${prefix}-g`,
        TransType: 'saga',
        Steps: JSON.stringify([{ action: svc.url('/w/TransOut'), compensate: svc.url('/w/TransOutRevert') }]),
        BinPayloads: [Buffer.from('{}')],
        TransOptions: { WaitResult: true },
      });
      expect(r).toMatchObject({ ok: true });
    } finally {
      rpc.close();
    }
    const done = await db.query("SELECT COUNT(*) AS n FROM trans_global WHERE gid LIKE ? AND status = 'succeed'", [`${prefix}-%`]);
    expect(Number(done[0]?.n)).toBe(21);
    // Whichever worker answers GET /api/metrics, it reports the group: all 21 submits.
    for (let i = 0; i < 4; i++) expect(await submittedTotal(child.base)).toBeGreaterThanOrEqual(21);
    // The group's size is reported once, not summed over the workers.
    expect(await (await fetch(`${child.base}/api/metrics`)).text()).toMatch(/^dtx_workers 2$/m);
  });

  it('replaces a worker that dies, and stops all of them on SIGTERM with exit code 0', async () => {
    const before = childPids(child.proc.pid!);
    expect(before).toHaveLength(2);
    process.kill(before[0]!, 'SIGKILL');
    const after = await eventually(() => {
      const now = childPids(child.proc.pid!);
      return now.length === 2 && !now.includes(before[0]!) ? now : null;
    }, 20_000);
    expect(after).toContain(before[1]);
    expect((await fetch(`${child.base}/api/ping`)).status).toBe(200);

    const exited = new Promise<number | null>((resolve) => child.proc.once('exit', (code) => resolve(code)));
    child.proc.kill('SIGTERM');
    expect(await exited, child.output().slice(-2000)).toBe(0);
    for (const pid of after) expect(() => process.kill(pid, 0)).toThrow();
  });
});

describe('Workers on SQLite', () => {
  it('more than one is refused at start-up with exit code 2, naming the key', async () => {
    const store = await freshStore('sqlite', 'workers');
    let code = 0;
    let out = '';
    try {
      execFileSync(process.execPath, ['--import', 'tsx', 'apps/server/src/main.ts'], {
        cwd: ROOT,
        env: { ...process.env, ...storeEnv(store), WORKERS: '2', HTTP_PORT: String(await freePort()), GRPC_PORT: '0' },
        encoding: 'utf8',
        stdio: 'pipe',
        timeout: 30_000,
      });
    } catch (err) {
      const e = err as { status: number; stderr: string; stdout: string };
      code = e.status;
      out = e.stderr + e.stdout;
    }
    expect(code).toBe(2);
    expect(out).toMatch(/Workers.*SQLite/);
  });
});
