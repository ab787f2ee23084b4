// The client's own cost (docs/benchmarks.md, "Client overhead"): CPU of this process per saga
// submit with @dtx/client (process.cpuUsage around each submit, one submit at a time) against a
// local coordinator whose branches answer at once, and the barrier's cost per branch call on
// PostgreSQL: round trips and ms of a branch's local transaction with the barrier against the
// same transaction without it. `--sdk go` runs the same measurement with dtm's Go SDK
// (compat/clientbench) against the same coordinator, branch service and database.
//
//   pnpm bench:client [--seconds 10] [--warmup 2] [--sdk ts|go] [--target URL] [--pg URL] [--json FILE]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
// The client's sources (its package entry is the built dist/, which the benchmark does not need).
import { BranchBarrier, DtmClient, barrierDdl, pgDb, type PgPoolLike, type PgQueryable } from '../../client/src/index.ts';
import { freePort, repoRoot, startBranchService, startServer, waitReady, type Child } from './procs.ts';

const { values: a } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    sdk: { type: 'string', default: 'ts' },
    target: { type: 'string' },
    pg: { type: 'string', default: process.env.DTX_TEST_PG_URL },
    json: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (a.help) {
  console.log(`pnpm bench:client [options]
  --seconds N   measured time of each part (default 10)
  --warmup N    unmeasured time before each part (default 2)
  --sdk ts|go   measure @dtx/client (ts) or dtm's Go SDK (go: go run ./compat/clientbench)
  --target URL  a running coordinator (http://host:port) instead of starting dtx on SQLite
  --pg URL      PostgreSQL for the barrier part (default DTX_TEST_PG_URL; none: part skipped)
  --json FILE   also write the results as JSON`);
  process.exit(0);
}

const seconds = positive('seconds', a.seconds);
const warmup = positive('warmup', a.warmup, true);
if (a.sdk !== 'ts' && a.sdk !== 'go') throw new Error(`--sdk must be ts or go, got ${a.sdk}`);

function positive(name: string, v: string | undefined, zero = false): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || (!zero && n === 0)) throw new Error(`--${name} must be a number of seconds > 0, got ${v}`);
  return n;
}

/** p50 / p99 of samples, and their count. */
export function percentiles(xs: number[]): { n: number; p50: number; p99: number } {
  const s = [...xs].sort((x, y) => x - y);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
  return { n: s.length, p50: round(at(0.5)), p99: round(at(0.99)) };
}

const round = (x: number) => Math.round(x * 100) / 100;
const cpuMicros = (u: NodeJS.CpuUsage) => u.user + u.system;

/** Runs `fn` in a loop for `warmup` then `seconds`, returning the measured samples of `sample`. */
async function loop<T>(fn: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  const warmEnd = Date.now() + warmup * 1000;
  while (Date.now() < warmEnd) await fn();
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) out.push(await fn());
  return out;
}

interface ClientResult {
  submits: number;
  cpu_us: { p50: number; p99: number };
  wall_us: { p50: number; p99: number };
  newgid_cpu_us: { p50: number; p99: number };
}

async function measureClient(dtm: DtmClient, busi: string): Promise<ClientResult> {
  const samples = await loop(async () => {
    let t = process.cpuUsage();
    const gid = await dtm.newGid();
    const gidCpu = cpuMicros(process.cpuUsage(t));
    t = process.cpuUsage();
    const w = process.hrtime.bigint();
    await dtm
      .saga(gid, { waitResult: true })
      .add(`${busi}/TransOut`, `${busi}/TransOutCom`, {})
      .add(`${busi}/TransIn`, `${busi}/TransInCom`, {})
      .submit();
    return { cpu: cpuMicros(process.cpuUsage(t)), wall: Number(process.hrtime.bigint() - w) / 1000, gidCpu };
  });
  const cpu = percentiles(samples.map((s) => s.cpu));
  const wall = percentiles(samples.map((s) => s.wall));
  const g = percentiles(samples.map((s) => s.gidCpu));
  return {
    submits: cpu.n,
    cpu_us: { p50: cpu.p50, p99: cpu.p99 },
    wall_us: { p50: wall.p50, p99: wall.p99 },
    newgid_cpu_us: { p50: g.p50, p99: g.p99 },
  };
}

interface BarrierResult {
  calls: number;
  round_trips_plain: number;
  round_trips_barrier: number;
  extra_round_trips: number;
  plain_ms: { p50: number; p99: number };
  barrier_ms: { p50: number; p99: number };
  extra_ms_p50: number;
}

/** A pg.Pool whose clients count the statements they send (each a round trip with pg). */
function counting(pool: pg.Pool): { pool: PgPoolLike; count: () => number } {
  let n = 0;
  return {
    count: () => n,
    pool: {
      async connect() {
        const c = await pool.connect();
        const q: PgQueryable['query'] = (text, values) => {
          n += 1;
          return c.query(text, values);
        };
        return { query: q, release: (err?: Error | boolean) => c.release(err) };
      },
    },
  };
}

const UPDATE = 'update user_account set balance = balance - 1 where user_id = 1';

/** One branch's local transaction (an action, a fresh gid each time) with and without the barrier, alternating. */
async function measureBarrier(url: string): Promise<BarrierResult> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    const c = counting(pool);
    const db = pgDb(c.pool);
    let i = 0;
    const samples = await loop(async () => {
      const gid = `bench-${process.pid}-${++i}`;
      let n = c.count();
      let t = process.hrtime.bigint();
      await db.transaction((r) => r.exec(UPDATE, []));
      const plain = { ms: Number(process.hrtime.bigint() - t) / 1e6, trips: c.count() - n };
      n = c.count();
      t = process.hrtime.bigint();
      await new BranchBarrier('saga', gid, '01', 'action').call(db, (r) => r.query(UPDATE));
      return { plain, barrier: { ms: Number(process.hrtime.bigint() - t) / 1e6, trips: c.count() - n } };
    });
    const plainMs = percentiles(samples.map((s) => s.plain.ms));
    const barrierMs = percentiles(samples.map((s) => s.barrier.ms));
    const tripsPlain = samples.reduce((x, s) => x + s.plain.trips, 0) / Math.max(1, samples.length);
    const tripsBarrier = samples.reduce((x, s) => x + s.barrier.trips, 0) / Math.max(1, samples.length);
    return {
      calls: samples.length,
      round_trips_plain: round(tripsPlain),
      round_trips_barrier: round(tripsBarrier),
      extra_round_trips: round(tripsBarrier - tripsPlain),
      plain_ms: { p50: plainMs.p50, p99: plainMs.p99 },
      barrier_ms: { p50: barrierMs.p50, p99: barrierMs.p99 },
      extra_ms_p50: round(barrierMs.p50 - plainMs.p50),
    };
  } finally {
    await pool.end();
  }
}

/** A fresh database on the PostgreSQL server of `base`, with the barrier table and one account. */
async function freshPg(base: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `dtx_clientbench_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  const c = new pg.Client({ connectionString: u.toString() });
  await c.connect();
  for (const s of barrierDdl('postgres')) await c.query(s);
  await c.query('create table user_account (user_id int primary key, balance bigint not null)');
  await c.query('insert into user_account values (1, 1000000000)');
  await c.end();
  return {
    url: u.toString(),
    drop: async () => {
      const d = new pg.Client({ connectionString: base });
      await d.connect();
      await d.query(`drop database if exists ${name} with (force)`);
      await d.end();
    },
  };
}

/** dtm's Go SDK doing the same (compat/clientbench); its JSON result. */
function runGo(target: string, busi: string, pgUrl: string | undefined): Promise<unknown> {
  const dir = join(repoRoot, 'compat', 'clientbench');
  const bin = join(mkdtempSync(join(tmpdir(), 'clientbench-')), 'clientbench');
  execFileSync('go', ['build', '-o', bin, '.'], { cwd: dir, stdio: 'inherit' });
  const args = ['-dtm', `${target}/api/dtmsvr`, '-busi', busi, '-seconds', String(seconds), '-warmup', String(warmup)];
  if (pgUrl) {
    // lib/pq asks for TLS unless told not to; the local test server has none.
    const u = new URL(pgUrl);
    if (!u.searchParams.has('sslmode')) u.searchParams.set('sslmode', 'disable');
    args.push('-pg', u.toString());
  }
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) => {
      rmSync(join(bin, '..'), { recursive: true, force: true });
      if (code !== 0) reject(new Error(`compat/clientbench exited with ${code}`));
      else resolve(JSON.parse(out) as unknown);
    });
  });
}

async function main(): Promise<void> {
  const children: Child[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'dtx-clientbench-'));
  let dropPg: (() => Promise<void>) | undefined;
  try {
    const branches = await startBranchService('127.0.0.1', 0);
    children.push(branches);
    const busi = `http://127.0.0.1:${branches.port}/api/busi_bench`;
    let target = a.target?.replace(/\/+$/, '').replace(/\/api\/dtmsvr$/, '');
    if (!target) {
      const port = await freePort();
      const server = startServer({
        env: {
          HTTP_PORT: String(port),
          GRPC_PORT: String(await freePort()),
          LISTEN_HOST: '127.0.0.1',
          LOG_LEVEL: 'warn',
          STORE_DRIVER: 'sqlite',
          STORE_DB: join(tmp, 'dtm.sqlite'),
        },
        logFile: join(tmp, 'server.log'),
      });
      children.push(server);
      target = `http://127.0.0.1:${port}`;
      await waitReady(target, server);
    }
    let pgUrl: string | undefined;
    if (a.pg) {
      const fresh = await freshPg(a.pg);
      pgUrl = fresh.url;
      dropPg = fresh.drop;
    }
    let result: unknown;
    if (a.sdk === 'go') {
      result = await runGo(target, busi, pgUrl);
    } else {
      const dtm = new DtmClient(target);
      result = {
        sdk: '@dtx/client',
        node: process.version,
        client: await measureClient(dtm, busi),
        barrier: pgUrl ? await measureBarrier(pgUrl) : null,
      };
    }
    console.log(JSON.stringify(result, null, 2));
    if (a.json) writeFileSync(a.json, JSON.stringify(result, null, 2) + '\n');
  } finally {
    for (const c of children.reverse()) await c.stop();
    await dropPg?.();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
