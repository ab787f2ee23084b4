// `pnpm --filter @dtx/bench overload`: an open-loop load (a fixed rate of sagas per second,
// whatever the coordinator answers) against our coordinator, to see how it behaves above its
// capacity: memory of the coordinator, accepted and refused submits, and how fast /api/ping
// answers meanwhile. docs/reliability.md ("Overload") records the runs. Not a test.
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Pool } from 'undici';
import { DbStats } from './dbstats.ts';
import { percentile, sagaBody, sleep } from './load.ts';
import { spawn } from 'node:child_process';
import { machineCpu, processCpu } from './procstat.ts';
import { freePort, startBranchService, startServer, waitReady } from './procs.ts';

/**
 * A pinger in a process of its own: /api/ping every 100 ms on one keep-alive connection, the
 * latencies printed as JSON when it gets SIGTERM. The load generator's own event loop is busy
 * with thousands of connections; pings measured there would count its delays too.
 */
const PINGER = `
const origin = process.argv[1];
const out = [];
let failures = 0, stop = false;
process.on('SIGTERM', () => { stop = true; });
while (!stop) {
  const t0 = performance.now();
  try {
    const r = await fetch(origin + '/api/ping', { signal: AbortSignal.timeout(60000) });
    await r.text();
    if (r.status === 200) out.push(performance.now() - t0); else failures++;
  } catch { failures++; }
  await new Promise((r) => setTimeout(r, Math.max(0, 100 - (performance.now() - t0))));
}
process.stdout.write(JSON.stringify({ pings: out, failures }));
`;

function startPinger(origin: string): { stop: () => Promise<{ pings: number[]; failures: number }> } {
  const proc = spawn(process.execPath, ['--input-type=module', '-e', PINGER, origin], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  proc.stdout.on('data', (d: Buffer) => (text += d.toString()));
  return {
    stop: async () => {
      const done = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await done;
      return JSON.parse(text || '{"pings":[],"failures":0}') as { pings: number[]; failures: number };
    },
  };
}

const USAGE = `Usage: pnpm --filter @dtx/bench overload [options]
  --store S            sqlite (default), postgres or mysql
  --rate N             sagas submitted per second, open loop (default 200)
  --duration T         how long the load lasts (default 30s)
  --wait-result B      submit with wait_result (default true, like dtm's bench)
  --connections N      most HTTP connections to the coordinator (default 4096)
  --timeout T          a client gives up on a submit after this long (default 30s)
  --env K=V,...        extra environment of the coordinator, e.g. MAX_INFLIGHT_SUBMITS=64
  --drain T            after the load, wait at most this long for answers (default 60s)
  -h, --help`;

const { values: a } = parseArgs({
  options: {
    store: { type: 'string', default: 'sqlite' },
    rate: { type: 'string', default: '200' },
    duration: { type: 'string', default: '30s' },
    'wait-result': { type: 'string', default: 'true' },
    connections: { type: 'string', default: '4096' },
    timeout: { type: 'string', default: '30s' },
    env: { type: 'string', default: '' },
    drain: { type: 'string', default: '60s' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (a.help) {
  console.log(USAGE);
  process.exit(0);
}

function ms(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s.trim());
  if (!m) throw new Error(`cannot read duration '${s}'`);
  return Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000);
}

const store = a.store as 'sqlite' | 'postgres' | 'mysql';
const rate = Number(a.rate);
const durationMs = ms(a.duration);
const timeoutMs = ms(a.timeout);
const waitResult = a['wait-result'] !== 'false';
const PG_URL = process.env.DTX_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:55432/postgres';
const MYSQL_URL = process.env.DTX_TEST_MYSQL_URL ?? 'mysql://root:dtxroot@127.0.0.1:53306/mysql';

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : NaN;
  } catch {
    return NaN;
  }
}

async function main(): Promise<void> {
  const stamp = new Date()
    .toISOString()
    .replace(/[-:T.Z]/g, '')
    .slice(0, 14);
  const dbName = `dtx_overload_${stamp}`;
  const port = await freePort();
  const env: Record<string, string> = {
    HTTP_PORT: String(port),
    GRPC_PORT: String(await freePort()),
    LISTEN_HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    STORE_DRIVER: store,
  };
  const sqliteFile = join(tmpdir(), `${dbName}.sqlite`);
  if (store === 'sqlite') env.STORE_DB = sqliteFile;
  else {
    const u = new URL(store === 'postgres' ? PG_URL : MYSQL_URL);
    Object.assign(env, {
      STORE_HOST: u.hostname,
      STORE_PORT: u.port,
      STORE_USER: decodeURIComponent(u.username),
      STORE_PASSWORD: decodeURIComponent(u.password),
      STORE_DB: dbName,
    });
  }
  for (const kv of a.env.split(',').filter(Boolean)) {
    const i = kv.indexOf('=');
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const branch = await startBranchService('127.0.0.1', 0);
  const busi = `http://127.0.0.1:${branch.port}/api/busi_bench`;
  const server = startServer({ env, logFile: join(tmpdir(), `${dbName}.log`) });
  const origin = `http://127.0.0.1:${port}`;
  try {
    await waitReady(origin, server);
    const rssStart = rssMb(server.pid);
    let rssMax = rssStart;

    const pool = new Pool(origin, {
      connections: Number(a.connections),
      pipelining: 1,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const counts: Record<string, number> = {};
    const note = (k: string) => (counts[k] = (counts[k] ?? 0) + 1);
    const accepted: string[] = [];
    const refused: string[] = [];
    let outstanding = 0;
    let maxOutstanding = 0;
    const submit = async (n: number) => {
      const gid = `ovl-${stamp}-${n}`;
      outstanding++;
      maxOutstanding = Math.max(maxOutstanding, outstanding);
      try {
        const res = await pool.request({
          path: '/api/dtmsvr/submit',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: sagaBody(gid, busi, n, waitResult),
          signal: AbortSignal.timeout(timeoutMs),
        });
        const text = await res.body.text();
        if (res.statusCode === 200 && !text.includes('FAILURE')) {
          note('accepted');
          accepted.push(gid);
        } else if (res.statusCode === 503) {
          note('refused (503)');
          refused.push(gid);
        } else note(`http ${res.statusCode}: ${text.slice(0, 80).replace(/\d+/g, 'N')}`);
      } catch (err) {
        const e = err as Error & { code?: string };
        note(`client: ${e.code ?? e.name}`);
      } finally {
        outstanding--;
      }
    };

    // Pings on a connection of their own, every 100 ms, during the load.
    const pinger = new Client(origin, { headersTimeout: 60_000, bodyTimeout: 60_000 });
    const pings: number[] = [];
    let pingFailures = 0;
    let loading = true;
    const pingLoop = (async () => {
      while (loading) {
        const t0 = performance.now();
        try {
          const r = await pinger.request({ path: '/api/ping', method: 'GET' });
          await r.body.text();
          if (r.statusCode === 200) pings.push(performance.now() - t0);
          else pingFailures++;
        } catch {
          pingFailures++;
        }
        await sleep(Math.max(0, 100 - (performance.now() - t0)));
      }
    })();
    const separatePinger = startPinger(origin);
    const cpu0 = { machine: machineCpu(), coordinator: processCpu(server.pid), self: process.cpuUsage() };
    const rssTimer = setInterval(() => (rssMax = Math.max(rssMax, rssMb(server.pid))), 500);
    // The coordinator's own view of its backlog (absent before admission control existed).
    const scraper = new Client(origin, { headersTimeout: 60_000, bodyTimeout: 60_000 });
    const gauges = { inflightSubmits: 0, passes: 0, refused: 0 };
    // the coordinator's own event-loop delay: prom-client's p99 since the previous scrape (ms)
    const loopP99: number[] = [];
    const gauge = (text: string, name: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith(name))
        .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    const scrapeLoop = (async () => {
      while (loading) {
        try {
          const r = await scraper.request({ path: '/api/metrics', method: 'GET' });
          const text = await r.body.text();
          gauges.inflightSubmits = Math.max(gauges.inflightSubmits, gauge(text, 'dtx_admission_inflight_submits'));
          gauges.passes = Math.max(gauges.passes, gauge(text, 'dtx_passes_inflight'));
          gauges.refused = gauge(text, 'dtx_admission_refused_total');
          loopP99.push(gauge(text, 'nodejs_eventloop_lag_p99_seconds') * 1000);
        } catch {
          // a scrape lost to the overload: the next one counts
        }
        await sleep(1000);
      }
    })();

    // Open loop: the n-th submit leaves at n / rate seconds, whatever happened to the others.
    console.error(`[overload] ${store}, ${rate} sagas/s for ${durationMs / 1000}s, wait_result=${waitResult} ${a.env}`);
    const t0 = performance.now();
    const inflight: Promise<void>[] = [];
    let n = 0;
    while (performance.now() - t0 < durationMs) {
      const due = Math.floor(((performance.now() - t0) / 1000) * rate);
      while (n < due) inflight.push(submit(n++));
      await sleep(5);
    }
    const rssEndOfLoad = rssMb(server.pid);
    const cpu1 = { machine: machineCpu(), coordinator: processCpu(server.pid), self: process.cpuUsage(cpu0.self) };
    const sep = await separatePinger.stop();
    const backlogAtEnd = outstanding;
    loading = false;
    await pingLoop;
    await scrapeLoop;
    await scraper.close();
    const drainStart = performance.now();
    await Promise.race([Promise.allSettled(inflight), sleep(ms(a.drain))]);
    clearInterval(rssTimer);
    const drainSeconds = (performance.now() - drainStart) / 1000;

    // Every refused gid must be absent; a sample of accepted ones must have finished.
    const query = async (gid: string) => {
      const r = await pinger.request({ path: `/api/dtmsvr/query?gid=${gid}`, method: 'GET' });
      return ((await r.body.json()) as { transaction: { status: string } | null }).transaction?.status ?? 'absent';
    };
    await sleep(2000);
    const refusedStored = (await Promise.all(refused.slice(0, 200).map(query))).filter((s) => s !== 'absent').length;
    const acceptedStatus: Record<string, number> = {};
    for (const s of await Promise.all(accepted.slice(-200).map(query))) acceptedStatus[s] = (acceptedStatus[s] ?? 0) + 1;

    const sorted = Float64Array.from(pings).sort();
    const round = (v: number) => Math.round(v * 10) / 10;
    const report = {
      store,
      rate,
      durationSeconds: durationMs / 1000,
      waitResult,
      env: a.env,
      issued: n,
      outcomes: counts,
      clientBacklog: { max: maxOutstanding, atEndOfLoad: backlogAtEnd },
      coordinatorMax: gauges,
      rssMb: { start: rssStart, endOfLoad: rssEndOfLoad, max: rssMax, afterDrain: rssMb(server.pid) },
      pingMs: {
        count: pings.length,
        failures: pingFailures,
        p50: round(percentile(sorted, 50)),
        p99: round(percentile(sorted, 99)),
        max: round(percentile(sorted, 100)),
      },
      pingOtherProcessMs: (() => {
        const o = Float64Array.from(sep.pings).sort();
        return {
          count: o.length,
          failures: sep.failures,
          p50: round(percentile(o, 50)),
          p99: round(percentile(o, 99)),
          max: round(percentile(o, 100)),
        };
      })(),
      coordinatorLoopDelayP99Ms: (() => {
        const o = Float64Array.from(loopP99).sort();
        return { scrapes: o.length, median: round(percentile(o, 50)), max: round(percentile(o, 100)) };
      })(),
      // during the load: the machine's busy share (all cores), the coordinator's and this load generator's CPU (cores)
      cpu: (() => {
        const secs = durationMs / 1000;
        const busy = cpu1.machine.busy - cpu0.machine.busy;
        const total = cpu1.machine.total - cpu0.machine.total;
        const coord = (cpu1.coordinator - cpu0.coordinator) / secs;
        const self = (cpu1.self.user + cpu1.self.system) / 1e6 / secs;
        const cores = total / secs;
        return {
          cores: round(cores),
          machineBusyCores: round(busy / secs),
          coordinatorCores: round(coord),
          loadGeneratorCores: round(self),
          otherCores: round(busy / secs - coord - self),
        };
      })(),
      drainSeconds: round(drainSeconds),
      check: { refusedChecked: Math.min(200, refused.length), refusedStored, acceptedSample: acceptedStatus },
    };
    console.log(JSON.stringify(report, null, 2));
    await pinger.close();
    await pool.destroy();
  } finally {
    await server.stop();
    await branch.stop();
    if (store === 'sqlite') for (const f of ['', '-wal', '-shm']) rmSync(sqliteFile + f, { force: true });
    else {
      const stats = DbStats.open(store, store === 'postgres' ? PG_URL : MYSQL_URL);
      await stats.dropDatabase(dbName).catch(() => undefined);
      await stats.close();
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
