// `pnpm bench`: dtm's two-step saga benchmark against our coordinator on each store, or against
// any dtm-compatible server (--target). See packages/bench/README.md.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DbStats, diff, type Counters } from './dbstats.ts';
import { percentile, runLoad, sleep } from './load.ts';
import { bundleServer, freePort, startBranchService, startServer, waitReady, type Child } from './procs.ts';
import { machineCpu, pidListeningOn, processCpu, processName, treeCpu, treeDelta } from './procstat.ts';
import { printSummary, summarize, summarizeThreads, type ProfileSummary } from './profile-summary.ts';

type Store = 'sqlite' | 'postgres' | 'mysql';

const USAGE = `Usage: pnpm bench [options]
  --store LIST         stores to run our coordinator on: sqlite,postgres,mysql (default all).
                       With --target: the store the target uses (labels and database counters).
  --target URL         measure this dtm-compatible server instead of starting ours
  --target-db NAME     with --target on postgres: the target's database (for pg_stat_database)
  --db-port P          with --target: the port of the target's store server (e.g. dtm's Redis),
                       whose CPU then counts in the db column
  --grpc-target H:P    with --target and --protocol grpc: the target's gRPC address
  --grpc-channels N    gRPC connections the clients share (default: one per 10 clients)
  --protocol LIST      http (POST /api/dtmsvr/submit, HTTP branches) and/or grpc
                       (dtmgimp.Dtm/Submit, gRPC branches); default http
  --label TEXT         name of the server in the report (default dtx, or "target")
  --duration T         measured window per run (default 30s; accepts 500ms, 30s, 2m)
  --warmup T           load before the window, not measured (default 5s)
  --concurrency LIST   concurrent clients, e.g. 10,50,100 (default 20, like dtm's ab -c 20)
  --rate R             submit R sagas per second in all (at most --concurrency at a time) instead of
                       a closed loop: CPU per saga then compares across runs on a busy machine
  --wait-result B      submit with wait_result (default true, as dtm's bench does)
  --drain T            after the window, wait at most this long for sagas to finish (default 30s)
  --sample N           gids queried at the end to check they reached succeed (default 50)
  --json FILE          write every result as JSON
  --workers N          our coordinator's Workers setting (default 1; 0: one per core); its CPU is the
                       whole process group's
  --profile DIR        run our coordinator under node --cpu-prof; summaries of the window
  --repeat N           run each store and concurrency N times (a median row is added; default 1)
  --wait-idle T        before each run, wait up to T for the machine to be idle (other processes
                       under 0.2 cores for 3 s); default 0 (do not wait)
  --keep-db            keep the benchmark databases (default: dropped after each run)
  --source S           how our coordinator runs: bundle (default: one esbuild bundle, as the release
                       runs it) or tsx (the TypeScript sources through tsx)
  --checkout DIR       with --source bundle: bundle the coordinator of this checkout (another git
                       worktree, e.g. main before a change) instead of this one
  --branch-host H      address the branch service listens on and that sagas call (127.0.0.1)
  --branch-port P      its port (default: any free port)
  -h, --help`;

function duration(s: string, name: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s.trim());
  if (!m) throw new Error(`${name}: cannot read duration '${s}' (use e.g. 500ms, 30s, 2m)`);
  const v = Number(m[1]);
  return m[2] === 'ms' ? v : m[2] === 'm' ? v * 60_000 : v * 1000;
}

const { values: a } = parseArgs({
  options: {
    store: { type: 'string' },
    target: { type: 'string' },
    'target-db': { type: 'string' },
    'db-port': { type: 'string' },
    'grpc-target': { type: 'string' },
    'grpc-channels': { type: 'string' },
    protocol: { type: 'string', default: 'http' },
    label: { type: 'string' },
    duration: { type: 'string', default: '30s' },
    warmup: { type: 'string', default: '5s' },
    concurrency: { type: 'string', default: '20' },
    'wait-result': { type: 'string', default: 'true' },
    rate: { type: 'string', default: '0' },
    drain: { type: 'string', default: '30s' },
    sample: { type: 'string', default: '50' },
    json: { type: 'string' },
    profile: { type: 'string' },
    'keep-db': { type: 'boolean', default: false },
    source: { type: 'string', default: 'bundle' },
    checkout: { type: 'string' },
    repeat: { type: 'string', default: '1' },
    'wait-idle': { type: 'string', default: '0' },
    workers: { type: 'string', default: '1' },
    'branch-host': { type: 'string', default: '127.0.0.1' },
    'branch-port': { type: 'string', default: '0' },
    help: { type: 'boolean', short: 'h' },
  },
  allowPositionals: true,
});
if (a.help) {
  console.log(USAGE);
  process.exit(0);
}

const target = a.target?.replace(/\/+$/, '').replace(/\/api\/dtmsvr$/, '');
const stores = (a.store ?? (target ? '' : 'sqlite,postgres,mysql'))
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean) as Store[];
for (const s of stores) {
  if (!['sqlite', 'postgres', 'mysql'].includes(s)) throw new Error(`--store: unknown store '${s}'`);
}
if (target && stores.length > 1) throw new Error('--target measures one server: give at most one --store');
const concurrencies = a.concurrency.split(',').map((c) => {
  const n = Number(c);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--concurrency: '${c}' is not a positive integer`);
  return n;
});
const protocols = a.protocol
  .split(',')
  .map((p) => p.trim())
  .filter(Boolean)
  .map((p) => {
    if (p !== 'http' && p !== 'grpc') throw new Error(`--protocol: unknown protocol '${p}'`);
    return p;
  });
if (target && protocols.includes('grpc') && !a['grpc-target']) throw new Error('--protocol grpc with --target needs --grpc-target host:port');
const durationMs = duration(a.duration, '--duration');
const warmupMs = duration(a.warmup, '--warmup');
const drainMs = duration(a.drain, '--drain');
const waitResult = a['wait-result'] !== 'false';
if (!(Number(a.rate) >= 0)) throw new Error(`--rate: '${a.rate}' is not a number of sagas per second`);
const sampleN = Number(a.sample);
const repeat = Math.max(1, Number(a.repeat) || 1);
const waitIdleMs = duration(a['wait-idle'], '--wait-idle');
const label = a.label ?? (target ? 'target' : 'dtx');
if (a.source !== 'bundle' && a.source !== 'tsx') throw new Error(`--source: '${a.source}' is not bundle or tsx`);

const PG_URL = process.env.DTX_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:55432/postgres';
const MYSQL_URL = process.env.DTX_TEST_MYSQL_URL ?? 'mysql://root:dtxroot@127.0.0.1:53306/mysql';
const adminUrl = (s: Store) => (s === 'postgres' ? PG_URL : MYSQL_URL);

const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
const runDir = join(tmpdir(), `dtx-bench-${stamp}`);
mkdirSync(runDir, { recursive: true });

interface CpuSample {
  t: number;
  load: number;
  branch: number;
  coordinator: Map<number, number>;
  db: Map<number, number>;
  machine: { busy: number; total: number };
}

interface RunResult {
  server: string;
  store: string;
  protocol: 'http' | 'grpc';
  concurrency: number;
  waitResult: boolean;
  windowSeconds: number;
  submitted: number;
  submittedPerSec: number;
  completed: number;
  completedPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  errors: number;
  errorKinds: Record<string, number>;
  sample: { checked: number; statuses: Record<string, number> };
  drain: { seconds: number; pending: number };
  /** Cores used during the window (CPU seconds / wall seconds), per process group. */
  cores: { loadGenerator: number; branchService: number; coordinator: number; database: number; machineBusy: number; other: number };
  /** CPU milliseconds per completed saga in the window. */
  cpuMsPerSaga: { coordinator: number; database: number; branchService: number; loadGenerator: number };
  /** Database counters per saga over the whole run (warmup included), divided by sagas completed. */
  dbPerSaga: Record<string, number> | null;
  dbCounters: Counters | null;
  branchCalls: Record<string, number>;
  coordinatorPid: number | null;
  databasePid: number | null;
  profile?: ProfileSummary;
}

const BRANCH_METHODS = ['TransOut', 'TransIn', 'TransOutCom', 'TransInCom', 'other'] as const;
type BranchCounts = Record<(typeof BRANCH_METHODS)[number], number>;

/** The branch server's call counts (branch-server.ts), 0 for a method it has not reported. */
async function branchStats(origin: string): Promise<BranchCounts> {
  const res = await fetch(`${origin}/__stats`);
  const s = (await res.json()) as Partial<Record<string, number>>;
  return Object.fromEntries(BRANCH_METHODS.map((k) => [k, s[k] ?? 0])) as BranchCounts;
}

function round(v: number, d = 1): number {
  const f = 10 ** d;
  return Math.round(v * f) / f;
}

async function runOne(
  store: Store | '',
  protocol: 'http' | 'grpc',
  concurrency: number,
  rep: number,
  busiOrigin: string,
  branch: Child & { grpcPort: number },
): Promise<RunResult> {
  const name = store || 'target';
  const dbName = `dtx_bench_${stamp}_${name}_${protocol}_c${concurrency}_${rep}`;
  let server: Child | null = null;
  let origin = target;
  let grpcTarget = a['grpc-target'];
  let profDir: string | undefined;
  if (!target) {
    const port = await freePort();
    const grpcPort = await freePort();
    grpcTarget = `127.0.0.1:${grpcPort}`;
    const env: Record<string, string> = {
      HTTP_PORT: String(port),
      GRPC_PORT: String(grpcPort),
      LISTEN_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      STORE_DRIVER: store,
      // A closed loop of N clients with wait_result holds N submits in flight by design: room for
      // all of them, so that the admission bound (docs/operations.md, "Overload") refuses none.
      MAX_INFLIGHT_SUBMITS: String(Math.max(64, 2 * concurrency)),
      WORKERS: a.workers,
    };
    if (store === 'sqlite') {
      env.STORE_DB = join(runDir, `${dbName}.sqlite`);
    } else {
      const u = new URL(adminUrl(store as Store));
      Object.assign(env, {
        STORE_HOST: u.hostname,
        STORE_PORT: u.port || (store === 'postgres' ? '5432' : '3306'),
        STORE_USER: decodeURIComponent(u.username),
        STORE_PASSWORD: decodeURIComponent(u.password),
        STORE_DB: dbName,
      });
    }
    if (a.profile) {
      profDir = join(a.profile, `${name}-c${concurrency}${repeat > 1 ? `-${rep}` : ''}`);
      rmSync(profDir, { recursive: true, force: true });
      mkdirSync(profDir, { recursive: true });
    }
    origin = `http://127.0.0.1:${port}`;
    server = startServer({ env, logFile: join(runDir, `server-${name}-c${concurrency}-${rep}.log`), cpuProfDir: profDir, bundle: serverBundle });
  }
  const base = origin as string;
  await waitReady(base, server);
  const targetPort = Number(new URL(base).port || 80);
  const coordPid = server ? server.pid : pidListeningOn(targetPort);
  let stats: DbStats | null = null;
  let dbPid: number | null = null;
  let statsDb = dbName;
  if (store === 'postgres' || store === 'mysql') {
    stats = DbStats.open(store, adminUrl(store));
    dbPid = pidListeningOn(Number(new URL(adminUrl(store)).port));
    if (target) statsDb = a['target-db'] ?? 'dtm';
  }
  // A target's own store server (dtm's Redis): its CPU counts as the database's, not as "other".
  if (a['db-port']) dbPid = pidListeningOn(Number(a['db-port']));
  const dbBefore = stats ? await stats.sample(statsDb) : null;
  const branchBefore = await branchStats(busiOrigin);

  const sampleCpu = (): CpuSample => ({
    t: performance.now(),
    load: (() => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1e6;
    })(),
    branch: processCpu(branch.pid),
    coordinator: coordPid ? treeCpu(coordPid) : new Map<number, number>(),
    db: dbPid ? treeCpu(dbPid) : new Map<number, number>(),
    machine: machineCpu(),
  });
  let c0!: CpuSample;
  let c1!: CpuSample;
  let b0!: BranchCounts;
  let b1!: BranchCounts;
  let hr0 = 0n;
  let hr1 = 0n;

  console.error(`[${label}/${name}/${protocol} c=${concurrency}] warmup ${warmupMs / 1000}s, window ${durationMs / 1000}s ...`);
  const load = await runLoad({
    target: base,
    busi: `${busiOrigin}/api/busi_bench`,
    protocol,
    grpcTarget,
    busiGrpc: `${a['branch-host']}:${branch.grpcPort}`,
    concurrency,
    warmupMs,
    durationMs,
    waitResult,
    rate: Number(a.rate) || 0,
    grpcChannels: a['grpc-channels'] ? Number(a['grpc-channels']) : Math.ceil(concurrency / 10),
    gidPrefix: `bench-${stamp}-${name}-${protocol}-c${concurrency}-${rep}`,
    onWindow: async (edge) => {
      if (edge === 'start') {
        hr0 = process.hrtime.bigint();
        c0 = sampleCpu();
        b0 = await branchStats(busiOrigin);
      } else {
        hr1 = process.hrtime.bigint();
        c1 = sampleCpu();
        b1 = await branchStats(busiOrigin);
      }
    },
  });

  // Drain: every successful submit's saga should reach TransIn (it does before the reply when
  // waiting for the result).
  const d0 = performance.now();
  let bEnd = await branchStats(busiOrigin);
  while (performance.now() - d0 < drainMs && bEnd.TransIn - branchBefore.TransIn < load.okTotal) {
    await sleep(200);
    bEnd = await branchStats(busiOrigin);
  }
  const drainSeconds = (performance.now() - d0) / 1000;
  const pending = Math.max(0, load.okTotal - (bEnd.TransIn - branchBefore.TransIn));

  // Final sample: query some gids of the window.
  const statuses: Record<string, number> = {};
  const gids = load.windowGids;
  const step = Math.max(1, Math.floor(gids.length / Math.max(1, sampleN)));
  let checked = 0;
  for (let i = 0; i < gids.length && checked < sampleN; i += step, checked++) {
    let status: string;
    try {
      const res = await fetch(`${base}/api/dtmsvr/query?gid=${encodeURIComponent(gids[i] ?? '')}`);
      const body = (await res.json()) as { transaction?: { status?: string } | null };
      status = body.transaction?.status ?? 'not found';
    } catch (err) {
      status = `query failed: ${(err as Error).message}`;
    }
    statuses[status] = (statuses[status] ?? 0) + 1;
  }

  // Stop our server (flushes its stats to PostgreSQL and writes the CPU profile).
  if (server) {
    await server.stop();
  } else if (store === 'postgres') {
    await sleep(11_000); // idle backends report their statistics within 10 s
  }
  const bFinal = await branchStats(busiOrigin);
  let dbCounters: Counters | null = null;
  let dbPerSaga: Record<string, number> | null = null;
  const runSagas = bFinal.TransIn - branchBefore.TransIn;
  if (stats && dbBefore) {
    dbCounters = diff(dbBefore, await stats.sample(statsDb));
    dbPerSaga = {};
    for (const [k, v] of Object.entries(dbCounters)) dbPerSaga[k] = runSagas > 0 ? round(v / runSagas, 2) : NaN;
    if (!target && !a['keep-db']) await stats.dropDatabase(dbName).catch(() => undefined);
    await stats.close();
  }
  if (store === 'sqlite' && !a['keep-db']) {
    for (const suffix of ['', '-wal', '-shm']) rmSync(join(runDir, `${dbName}.sqlite${suffix}`), { force: true });
  }

  const win = (c1.t - c0.t) / 1000;
  const completed = b1.TransIn - b0.TransIn;
  const cpu = {
    load: c1.load - c0.load,
    branch: c1.branch - c0.branch,
    coordinator: treeDelta(c0.coordinator, c1.coordinator),
    db: treeDelta(c0.db, c1.db),
    machine: c1.machine.busy - c0.machine.busy,
  };
  const perSaga = (sec: number) => (completed > 0 ? round((sec * 1000) / completed, 3) : NaN);
  const lat = load.latencies;
  const mean = lat.length ? lat.reduce((s, v) => s + v, 0) / lat.length : NaN;
  const result: RunResult = {
    server: label,
    store: name,
    protocol,
    concurrency,
    waitResult,
    windowSeconds: round(load.windowMs / 1000, 2),
    submitted: load.ok,
    submittedPerSec: round(load.ok / (load.windowMs / 1000)),
    completed,
    completedPerSec: round(completed / win),
    latencyMs: {
      p50: round(percentile(lat, 50), 2),
      p90: round(percentile(lat, 90), 2),
      p99: round(percentile(lat, 99), 2),
      max: round(percentile(lat, 100), 2),
      mean: round(mean, 2),
    },
    errors: load.errors,
    errorKinds: load.errorKinds,
    sample: { checked, statuses },
    drain: { seconds: round(drainSeconds, 1), pending },
    cores: {
      loadGenerator: round(cpu.load / win, 2),
      branchService: round(cpu.branch / win, 2),
      coordinator: round(cpu.coordinator / win, 2),
      database: round(cpu.db / win, 2),
      machineBusy: round(cpu.machine / win, 2),
      // Busy time of processes outside the run (and the kernel's own work): interference.
      other: round((cpu.machine - cpu.load - cpu.branch - cpu.coordinator - cpu.db) / win, 2),
    },
    cpuMsPerSaga: {
      coordinator: perSaga(cpu.coordinator),
      database: perSaga(cpu.db),
      branchService: perSaga(cpu.branch),
      loadGenerator: perSaga(cpu.load),
    },
    dbPerSaga,
    dbCounters,
    branchCalls: Object.fromEntries(BRANCH_METHODS.map((k) => [k, bFinal[k] - branchBefore[k]])),
    coordinatorPid: coordPid,
    databasePid: dbPid,
  };
  if (profDir) {
    // The main thread's profile is the largest. Worker threads write one each (SQLite's
    // checkpoints; with --source tsx its module-loader thread): summarized as a line each.
    const files = readdirSync(profDir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(profDir, f))
      .sort((x, y) => statSync(y).size - statSync(x).size);
    const file = files[0];
    if (file) {
      // V8 profile times and process.hrtime are both CLOCK_MONOTONIC, in microseconds here.
      const window = { fromUs: Number(hr0 / 1000n), toUs: Number(hr1 / 1000n) };
      result.profile = { ...summarize(file, window), threads: summarizeThreads(files.slice(1), window) };
      writeFileSync(join(profDir, 'summary.json'), JSON.stringify(result.profile, null, 2));
    }
  }
  return result;
}

/** Waits until processes other than ours leave the machine idle (under 0.2 cores for 3 s). */
async function waitIdle(maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  let quiet = 0;
  let said = false;
  while (Date.now() < deadline) {
    const m0 = machineCpu();
    const t0 = performance.now();
    await sleep(1000);
    const busy = (machineCpu().busy - m0.busy) / ((performance.now() - t0) / 1000);
    quiet = busy < 0.2 ? quiet + 1 : 0;
    if (quiet >= 3) return;
    if (!said && busy >= 0.2) {
      console.error(`waiting for the machine to be idle (${busy.toFixed(2)} cores busy) ...`);
      said = true;
    }
  }
  console.error(`machine still busy after ${maxMs / 1000}s; running anyway`);
}

function fmt(v: number, d = 1): string {
  return Number.isFinite(v) ? v.toFixed(d) : '-';
}

function printTable(results: RunResult[]): void {
  const head = [
    'server',
    'store',
    'proto',
    'conc',
    'submit/s',
    'done/s',
    'p50 ms',
    'p90 ms',
    'p99 ms',
    'errors',
    'succeed',
    'cores: load',
    'branch',
    'coord',
    'db',
    'other',
    'machine',
    'coord ms/saga',
    'db ms/saga',
  ];
  const rows = results.map((r) => [
    r.server,
    r.store,
    r.protocol,
    String(r.concurrency),
    fmt(r.submittedPerSec),
    fmt(r.completedPerSec),
    fmt(r.latencyMs.p50, 2),
    fmt(r.latencyMs.p90, 2),
    fmt(r.latencyMs.p99, 2),
    String(r.errors),
    `${r.sample.statuses.succeed ?? 0}/${r.sample.checked}`,
    fmt(r.cores.loadGenerator, 2),
    fmt(r.cores.branchService, 2),
    fmt(r.cores.coordinator, 2),
    fmt(r.cores.database, 2),
    fmt(r.cores.other, 2),
    fmt(r.cores.machineBusy, 2),
    fmt(r.cpuMsPerSaga.coordinator, 3),
    fmt(r.cpuMsPerSaga.database, 3),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i < 3 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w, i) => (i < 3 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  for (const r of results) {
    if (r.dbPerSaga) {
      const keys =
        r.store === 'postgres' || (r.dbCounters && 'xact_commit' in r.dbCounters)
          ? ['xact_commit', 'tup_inserted', 'tup_updated', 'tup_fetched', 'wal_records', 'wal_bytes', 'wal_write', 'wal_sync']
          : [
              'Questions',
              'Com_select',
              'Com_insert',
              'Com_update',
              'Com_begin',
              'Com_commit',
              'Handler_commit',
              'Innodb_data_fsyncs',
              'Innodb_deadlocks',
            ];
      console.log(
        `  ${r.server}/${r.store}/${r.protocol} c=${r.concurrency} per saga: ${keys.map((k) => `${k}=${r.dbPerSaga?.[k] ?? '-'}`).join(' ')}`,
      );
    }
    if (r.cores.other > 0.25) {
      console.log(
        `  ${r.server}/${r.store}/${r.protocol} c=${r.concurrency}: WARNING ${r.cores.other} cores busy outside the run (other processes?)`,
      );
    }
    const errs = Object.entries(r.errorKinds);
    if (errs.length)
      console.log(`  ${r.server}/${r.store}/${r.protocol} c=${r.concurrency} errors: ${errs.map(([k, v]) => `${v}× ${k}`).join('; ')}`);
    if (r.drain.pending)
      console.log(`  ${r.server}/${r.store}/${r.protocol} c=${r.concurrency}: ${r.drain.pending} sagas not finished after the drain`);
    const other = Object.entries(r.sample.statuses).filter(([k]) => k !== 'succeed');
    if (other.length) console.log(`  ${r.server}/${r.store}/${r.protocol} c=${r.concurrency} sample: ${JSON.stringify(r.sample.statuses)}`);
  }
}

/** The bundled coordinator (--source bundle). */
let serverBundle: string | undefined;

async function main(): Promise<void> {
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? '',
    memGiB: round(totalmem() / 2 ** 30, 1),
    node: process.version,
  };
  console.error(`run directory ${runDir}; machine ${machine.cpus} cores (${machine.cpuModel}), ${machine.memGiB} GiB`);
  if (!target && a.source === 'bundle') {
    serverBundle = await bundleServer(join(runDir, 'server'), a.checkout);
    console.error(`coordinator bundled into ${serverBundle}`);
  }
  const branch = await startBranchService(a['branch-host'], Number(a['branch-port']));
  const busiOrigin = `http://${a['branch-host']}:${branch.port}`;
  console.error(`branch service ${busiOrigin} (pid ${branch.pid})`);
  const results: RunResult[] = [];
  const settings: Record<string, Record<string, string>> = {};
  const probes: Record<string, { p50: number; p99: number }> = {};
  try {
    for (const store of target ? [stores[0] ?? ('' as const)] : stores) {
      if (store === 'postgres' || store === 'mysql') {
        const s = DbStats.open(store, adminUrl(store));
        try {
          settings[store] = await s.settings();
          probes[store] = await s.commitLatency();
          console.error(`${store}: idle single-row commit p50 ${fmt(probes[store].p50, 3)} ms, p99 ${fmt(probes[store].p99, 3)} ms`);
        } finally {
          await s.close();
        }
      }
      for (let rep = 0; rep < repeat; rep++)
        for (const protocol of protocols)
          for (const c of concurrencies) {
            if (waitIdleMs > 0) await waitIdle(waitIdleMs);
            const r = await runOne(store, protocol, c, rep, busiOrigin, branch);
            results.push(r);
            if (r.profile) printSummary(r.profile, (l) => console.error(l));
            if (r.coordinatorPid && !target) {
              // nothing: our server is stopped per run
            } else if (r.coordinatorPid) {
              console.error(`target pid ${r.coordinatorPid} (${processName(r.coordinatorPid)})`);
            }
          }
    }
  } finally {
    await branch.stop();
  }
  console.log(
    `\n${label}: ${durationMs / 1000}s window after ${warmupMs / 1000}s warmup, wait_result=${waitResult}, ` +
      `${machine.cpus} cores, node ${machine.node}`,
  );
  printTable(results);
  const medians: RunResult[] = [];
  if (repeat > 1) {
    const groups = new Map<string, RunResult[]>();
    for (const r of results) {
      const k = `${r.store}/${r.protocol}/${r.concurrency}`;
      groups.set(k, [...(groups.get(k) ?? []), r]);
    }
    for (const g of groups.values()) {
      const sorted = [...g].sort((x, y) => x.completedPerSec - y.completedPerSec);
      const median = sorted[Math.floor((sorted.length - 1) / 2)];
      if (median) medians.push(median);
    }
    console.log(`\nmedian run (by done/s) of ${repeat}:`);
    printTable(medians);
  }
  if (a.json) {
    // pnpm runs the script in packages/bench: a relative path is the caller's (INIT_CWD).
    const file = resolve(process.env.INIT_CWD ?? process.cwd(), a.json);
    writeFileSync(
      file,
      JSON.stringify(
        {
          date: new Date().toISOString(),
          machine,
          options: { target: target ?? null, label, stores, protocols, concurrencies, durationMs, warmupMs, waitResult },
          databaseSettings: settings,
          idleCommitLatencyMs: probes,
          results,
          medians: repeat > 1 ? medians : undefined,
        },
        null,
        2,
      ),
    );
    console.error(`wrote ${file}`);
  }
  // Our servers' logs (warnings and errors only) stay in the run directory; show any content.
  for (const f of readdirSync(runDir).filter((n) => n.endsWith('.log'))) {
    const text = readFileSync(join(runDir, f), 'utf8').trim();
    if (text) console.error(`${join(runDir, f)}: ${text.split('\n').length} lines, first:\n  ${text.split('\n').slice(0, 5).join('\n  ')}`);
    else rmSync(join(runDir, f));
  }
  if (readdirSync(runDir).length === 0) rmSync(runDir, { recursive: true });
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`bench failed: ${err.stack ?? err.message}`);
    console.error(`logs in ${runDir}`);
    process.exit(1);
  },
);
