// One chaos run: a database server of its own (or a given target), the branch service, one or two
// coordinators, the submitter with the scenario's fault drivers running alongside, then the drain
// and the checker. Everything it starts is stopped, and its temporary directory removed, before
// it returns (or throws).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BranchScript, CallRecord } from './branch-service.ts';
import { analyse, drain, type Report } from './checker.ts';
import { Coordinator } from './coordinators.ts';
import { startDb, type DbServer, type StoreName } from './databases.ts';
import { runFault, scenarios, type Fault, type FaultEvent, type ScenarioName } from './faults.ts';
import { signal, sleep, startBranchProcess } from './procs.ts';
import { acknowledged, submitAll } from './submitter.ts';

export interface ChaosOptions {
  store: StoreName;
  /** A named scenario, or `instances` + `faults` for a custom one (the test suite's). */
  scenario?: ScenarioName | 'none';
  instances?: number;
  faults?: Fault[];
  sagas: number;
  rollbackPct: number;
  concurrency: number;
  /** Sagas per second; 0: unlimited (the concurrency bounds it). */
  rate: number;
  /** Submit to these servers instead of starting coordinators (no faults can be driven then). */
  target?: string[];
  script: BranchScript;
  retryInterval: number;
  /** Longest wait (s) for acknowledged sagas to finish after the faults. */
  drainS: number;
  /** Longest submission phase (s): the submitter stops early past it. */
  maxSubmitS: number;
  outDir: string;
  /** Extra environment of our coordinators. */
  coordinatorEnv?: Record<string, string>;
  /** Submit with wait_result (a closed loop over whole sagas: the soak). */
  waitResult?: boolean;
  /** Sample the first coordinator's RSS and /api/ping while submitting (the soak). */
  sample?: { warmupS: number };
  log?: (line: string) => void;
}

export interface ChaosResult {
  runId: string;
  store: StoreName;
  scenario: string;
  report: Report;
  events: FaultEvent[];
  seconds: { submit: number; drain: number; total: number };
  outDir: string;
  /** With `sample`: RSS and ping during the submission phase. */
  soak?: SoakSamples;
}

export interface SoakSamples {
  /**
   * RSS (MB) after the warm-up, at the end of the submission phase, and at most; growth from the
   * first to the last sample, and of the mean of the second half of the samples after the warm-up
   * over the first half's (the V8 heap saw-tooths by 50-100 MB, so two single samples can differ by
   * 20% without any growth; the halves' means do not).
   */
  rssMb: { afterWarmup: number; end: number; max: number; growthPct: number; halvesGrowthPct: number };
  /** /api/ping from this process every 200 ms on a connection of its own (ms). */
  pingMs: { count: number; failures: number; p50: number; p99: number; max: number };
  /** Acknowledged sagas per second over the submission phase. */
  sagasPerSecond: number;
  /** Load average (1 min) at the start and end, and the machine's busy cores over the phase. */
  machine: { loadStart: number; loadEnd: number; busyCores: number; cores: number };
  /** Every 5 s: seconds since the start, RSS and V8 heap used (MB, from /api/metrics). */
  series: { t: number; rssMb: number; heapUsedMb: number }[];
}

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const log = o.log ?? (() => undefined);
  const runId = `${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
  const scenario = o.scenario && o.scenario !== 'none' ? scenarios[o.scenario] : { instances: o.instances ?? 1, faults: o.faults ?? [] };
  if (o.target && scenario.faults.length > 0)
    throw new Error('--target runs take no fault scenario (use --scenario none): the harness can only fault what it started');
  if (o.store === 'sqlite' && scenario.faults.some((f) => f.kind !== 'kill'))
    throw new Error('on SQLite only the kill scenarios apply: there is no database server to fault');
  mkdirSync(o.outDir, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'dtx-chaos-'));
  const started = Date.now();
  let db: DbServer | null = null;
  const coordinators: Coordinator[] = [];
  let branches: Awaited<ReturnType<typeof startBranchProcess>> | null = null;
  // Should this process die without running `finally`, take the children along.
  const onExit = () => {
    db?.thaw();
    signal(
      [branches?.proc.pid, ...coordinators.map((c) => c.pid)].filter((p): p is number => !!p),
      'SIGKILL',
    );
  };
  process.once('exit', onExit);
  try {
    branches = await startBranchProcess(o.script);
    const branchBase = `http://127.0.0.1:${branches.port}`;
    if (!o.target) {
      db = await startDb(o.store, tmp);
      log(`${o.store} server ready (${JSON.stringify({ ...db.env, STORE_PASSWORD: undefined })})`);
      for (let i = 0; i < scenario.instances; i++) {
        const c = new Coordinator(`coordinator-${i + 1}`, db.env, o.coordinatorEnv ?? {}, o.outDir);
        coordinators.push(c);
        // One after the other: the first one migrates the schema.
        await c.start();
      }
      log(`${coordinators.length} coordinator(s) up: ${coordinators.map((c) => c.base).join(', ')}`);
    }
    const targets = () => o.target ?? coordinators.map((c) => c.base);

    let submitting = true;
    const events: FaultEvent[] = [];
    const t0 = Date.now();
    const faultRuns = scenario.faults.map((f) => runFault(f, { coordinators, db: db!, active: () => submitting, events }, t0));
    const sampler = o.sample && coordinators[0] ? startSampler(coordinators[0], o.sample.warmupS, () => submitting) : null;
    const acks = await submitAll({
      runId,
      sagas: o.sagas,
      rollbackPct: o.rollbackPct,
      concurrency: o.concurrency,
      rate: o.rate,
      targets,
      branchBase,
      retryInterval: o.retryInterval,
      timeoutMs: 30_000,
      acksFile: join(o.outDir, 'acks.jsonl'),
      stopped: () => Date.now() - t0 > o.maxSubmitS * 1000,
      waitResult: o.waitResult,
    });
    submitting = false;
    const samples = await sampler;
    const submitS = (Date.now() - t0) / 1000;
    log(`submitted ${acks.length} in ${submitS.toFixed(1)} s (${acks.filter(acknowledged).length} acknowledged); waiting for the faults to end`);
    await Promise.all(faultRuns);
    for (const e of events) log(`  fault t=${e.t}s ${e.what}`);

    const d0 = Date.now();
    const finals = await drain(acks, targets, o.drainS * 1000, (n) => n > 0 && log(`  draining: ${n} acknowledged saga(s) unfinished`));
    const drainS = (Date.now() - d0) / 1000;
    const calls = (await (await fetch(`${branchBase}/__log`)).json()) as CallRecord[];
    writeFileSync(join(o.outDir, 'calls.jsonl'), calls.map((c) => JSON.stringify(c)).join('\n') + '\n');
    const report = analyse(acks, calls, finals);
    const result: ChaosResult = {
      runId,
      store: o.store,
      scenario: o.scenario ?? 'custom',
      report,
      events,
      seconds: { submit: submitS, drain: drainS, total: (Date.now() - started) / 1000 },
      outDir: o.outDir,
      soak: samples ? { ...samples, sagasPerSecond: Math.round((acks.filter(acknowledged).length / submitS) * 10) / 10 } : undefined,
    };
    writeFileSync(join(o.outDir, 'report.json'), JSON.stringify({ ...result, options: { ...o, log: undefined } }, null, 2));
    return result;
  } finally {
    process.removeListener('exit', onExit);
    for (const c of coordinators) await c.close();
    if (branches && branches.proc.exitCode === null) {
      branches.proc.kill('SIGTERM');
    }
    await db?.destroy().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** RSS of the coordinator every 5 s and /api/ping every 200 ms, while `active()`. */
async function startSampler(c: Coordinator, warmupS: number, active: () => boolean): Promise<Omit<SoakSamples, 'sagasPerSecond'>> {
  const rss: { t: number; mb: number }[] = [];
  const series: SoakSamples['series'] = [];
  const pings: number[] = [];
  let failures = 0;
  const t0 = Date.now();
  const load = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  const cpu = () => {
    const v = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    return { busy: total - (v[3] ?? 0) - (v[4] ?? 0), total };
  };
  const loadStart = load();
  const cpu0 = cpu();
  const rssTimer = setInterval(() => {
    const pid = c.pid;
    if (!pid) return;
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (!m) return;
      const sample = { t: (Date.now() - t0) / 1000, mb: Number(m[1]) / 1024 };
      rss.push(sample);
      void fetch(`${c.base}/api/metrics`, { signal: AbortSignal.timeout(4000) })
        .then((r) => r.text())
        .then((text) => {
          const heap = /^nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1];
          series.push({ t: Math.round(sample.t), rssMb: Math.round(sample.mb), heapUsedMb: heap ? Math.round(Number(heap) / 1048576) : NaN });
        })
        .catch(() => undefined);
    } catch {
      // restarting
    }
  }, 5000);
  while (active()) {
    const s = performance.now();
    try {
      const r = await fetch(`${c.base}/api/ping`, { signal: AbortSignal.timeout(10_000) });
      await r.text();
      if (r.ok) pings.push(performance.now() - s);
      else failures++;
    } catch {
      failures++;
    }
    await sleep(Math.max(0, 200 - (performance.now() - s)));
  }
  clearInterval(rssTimer);
  const cpu1 = cpu();
  const seconds = (Date.now() - t0) / 1000;
  const kept = rss.filter((r) => r.t >= warmupS);
  const first = kept[0]?.mb ?? NaN;
  const last = kept.at(-1)?.mb ?? NaN;
  const sorted = Float64Array.from(pings).sort();
  const pct = (p: number) => Math.round((sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0) * 10) / 10;
  const r1 = (v: number) => Math.round(v * 10) / 10;
  const mean = (xs: { mb: number }[]) => xs.reduce((a, r) => a + r.mb, 0) / xs.length;
  const half = Math.floor(kept.length / 2);
  const halves = mean(kept.slice(half)) / mean(kept.slice(0, half)) - 1;
  return {
    rssMb: {
      afterWarmup: r1(first),
      end: r1(last),
      max: r1(Math.max(...kept.map((r) => r.mb))),
      growthPct: r1(((last - first) / first) * 100),
      halvesGrowthPct: r1(halves * 100),
    },
    pingMs: { count: sorted.length, failures, p50: pct(50), p99: pct(99), max: pct(100) },
    machine: {
      loadStart,
      loadEnd: load(),
      busyCores: r1((cpu1.busy - cpu0.busy) / 100 / seconds),
      cores: r1((cpu1.total - cpu0.total) / 100 / seconds),
    },
    series,
  };
}
