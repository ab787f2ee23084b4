// `pnpm chaos`: sagas under faults, checked (see ../README.md). A tool, not a test: the suite's
// short version is tests/chaos.test.ts.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { StoreName } from './databases.ts';
import { scenarios, type ScenarioName } from './faults.ts';
import { chaosDir } from './procs.ts';
import { broken, details, row, table } from './report.ts';
import { runChaos, type ChaosResult } from './run.ts';

const usage = `Usage: pnpm chaos [options]
       pnpm chaos soak [--minutes N] [options]   closed loop (wait_result, no faults), RSS and ping sampled
  --store LIST       sqlite,postgres,mysql (default sqlite)
  --scenario LIST    ${Object.keys(scenarios).join('|')}|none (default kill-one)
  --sagas N          sagas per run (default 1000)
  --short            preset: 200 sagas, 20/s, drain 120 s
  --target URL,...   submit to these servers instead of coordinators started here (scenario none)
  --concurrency N    submits in flight at most (default 16)
  --rate N           sagas per second, 0 = unlimited (default 25)
  --rollback PCT     share of sagas whose TransIn answers 409 (default 10)
  --fail PCT         share of branch calls answered 503 (default 0)
  --slow PCT         share of branch calls answered late (default 0)
  --slow-ms MS       how late (default 500)
  --drain S          longest wait for acknowledged sagas to finish (default 240)
  --max-submit S     longest submission phase (default 600)
  --out DIR          results (default packages/chaos/results/<time>-<store>-<scenario>)
  --minutes N        soak: how long to submit (default 10); concurrency default 8, rate 0
  --warmup S         soak: RSS growth is counted from this many seconds in (default 180)
Exits 1 when a run lost a saga, had an illegal outcome or overlapping calls.`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    minutes: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '180' },
    store: { type: 'string', default: 'sqlite' },
    scenario: { type: 'string', default: 'kill-one' },
    sagas: { type: 'string' },
    short: { type: 'boolean', default: false },
    target: { type: 'string' },
    concurrency: { type: 'string' },
    rate: { type: 'string' },
    rollback: { type: 'string', default: '10' },
    fail: { type: 'string', default: '0' },
    slow: { type: 'string', default: '0' },
    'slow-ms': { type: 'string', default: '500' },
    drain: { type: 'string' },
    'max-submit': { type: 'string', default: '600' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const soak = positionals[0] === 'soak';
if (positionals.length > (soak ? 1 : 0)) throw new Error(`unknown argument ${positionals.join(' ')}\n${usage}`);
const stores = values.store.split(',') as StoreName[];
const names = (soak ? 'none' : values.scenario).split(',') as (ScenarioName | 'none')[];
const soakS = Number(values.minutes) * 60;
for (const s of stores) if (!['sqlite', 'postgres', 'mysql'].includes(s)) throw new Error(`unknown store ${s}\n${usage}`);
for (const s of names) if (s !== 'none' && !(s in scenarios)) throw new Error(`unknown scenario ${s}\n${usage}`);

const results: ChaosResult[] = [];
const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
for (const store of stores) {
  for (const scenario of names) {
    if (store === 'sqlite' && scenario !== 'none' && scenarios[scenario].faults.some((f) => f.kind !== 'kill')) {
      console.log(`skipping ${store} × ${scenario}: SQLite has no database server to fault`);
      continue;
    }
    console.log(`\n== ${store} × ${scenario}`);
    const r = await runChaos({
      store,
      scenario,
      sagas: soak ? Number.MAX_SAFE_INTEGER : Number(values.sagas ?? (values.short ? 200 : 1000)),
      rollbackPct: Number(values.rollback),
      concurrency: Number(values.concurrency ?? (soak ? 8 : 16)),
      rate: Number(values.rate ?? (soak ? 0 : values.short ? 20 : 25)),
      target: values.target?.split(','),
      script: { failPct: Number(values.fail), slowPct: Number(values.slow), slowMs: Number(values['slow-ms']) },
      retryInterval: 1,
      drainS: Number(values.drain ?? (values.short ? 120 : 240)),
      maxSubmitS: soak ? soakS : Number(values['max-submit']),
      waitResult: soak,
      sample: soak ? { warmupS: Number(values.warmup) } : undefined,
      outDir: values.out
        ? join(values.out, `${store}-${soak ? 'soak' : scenario}`)
        : join(chaosDir, 'results', `${stamp}-${store}-${soak ? 'soak' : scenario}`),
      log: (l) => console.log(l),
    });
    results.push(r);
    console.log(`\n${table([row(r)])}\n${details(r)}`);
    if (r.soak) console.log(`soak: ${JSON.stringify({ ...r.soak, series: `${r.soak.series.length} samples in report.json` })}`);
  }
}
if (results.length > 1) console.log(`\n${table(results.map(row))}`);
process.exit(results.some(broken) ? 1 : 0);
