// Times the dashboard's queries on a seeded database (see seed.ts) and prints p50/p99 per query,
// plus the query plans on PostgreSQL and MySQL. Not a test: numbers go to docs/benchmarks.md.
//   STORE_DB=data/bench.sqlite pnpm --filter @dtx/api bench
import { openDatabase } from '@dtx/db';
import { silentLogger } from '@dtx/engine';
import { loadConfig, storeConfigOf } from '@dtx/config';
import { createDashboard } from '../src/deps.ts';
import { countNow, getTransaction, listTransactions } from '../src/routers/transactions.ts';
import { overview, percentile } from '../src/routers/overview.ts';
import type { Filter, Sort } from '../src/filters.ts';

const RUNS = Number(process.env.RUNS ?? 40);
const env = {
  STORE_DB: process.env.STORE_DB ?? (process.env.STORE_DRIVER && process.env.STORE_DRIVER !== 'sqlite' ? 'dtx_bench' : 'data/bench.sqlite'),
  ...process.env,
};
const config = loadConfig({ env });
const db = await openDatabase(storeConfigOf(config, 4));
const deps = await createDashboard(config, { logger: silentLogger, db });
const dialect = db.driver.dialect;
/** The one row an aggregate query answers with. */
async function aggregate(sql: string): Promise<Record<string, unknown>> {
  const [row] = await db.driver.query(sql);
  if (!row) throw new Error(`no row from ${sql}`);
  return row;
}
const total = Number((await aggregate('SELECT COUNT(*) AS c FROM trans_global')).c);
const maxId = Number((await aggregate('SELECT MAX(id) AS m FROM trans_global')).m);
const newestTime = (await aggregate('SELECT MAX(create_time) AS m FROM trans_global')).m;
const newest = Number(newestTime instanceof Date ? newestTime.getTime() : newestTime);

async function time(name: string, fn: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 3; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  console.log(`| ${name} | ${percentile(samples, 50)!.toFixed(1)} | ${percentile(samples, 99)!.toFixed(1)} |`);
}

const list = (f: Filter & Sort & { cursor?: string }) => () => listTransactions(deps, { limit: 50, ...f });
console.log(`\n${dialect}: ${total} transactions, ${RUNS} runs each (ms)\n`);
console.log('| query | p50 | p99 |\n|---|---:|---:|');
await time('list, first page (50 newest)', list({}));
await time('list, a page in the middle (keyset cursor)', list({ cursor: String(Math.floor(maxId / 2)) }));
await time('filter: status failed + type saga', list({ status: ['failed'], transType: ['saga'] }));
await time('filter: gid prefix order-12345', list({ gid: 'order-12345', gidMode: 'prefix' }));
await time('filter: exact gid', list({ gid: 'order-654321' }));
await time('filter: created in a 1 h window 3 days ago', list({ createdFrom: newest - 3 * 86400_000, createdTo: newest - 3 * 86400_000 + 3600_000 }));
await time('stuck view (defaults), first page', list({ stuck: true }));
await time('stuck view, a page in the middle', list({ stuck: true, cursor: String(Math.floor(maxId / 2)) }));
await time(
  'stuck view matching nothing (worst case: every unfinished row read)',
  list({
    stuck: true,
    stuckFailingSeconds: 315360000,
    stuckFailedCalls: 1000000,
    stuckOngoingSeconds: 315360000,
    stuckOverdueSeconds: 315360000,
    stuckAgeSeconds: 315360000,
  }),
);
await time(
  'stuck view, failing rule only (others off)',
  list({ stuck: true, stuckFailedCalls: 1000000, stuckOngoingSeconds: 315360000, stuckOverdueSeconds: 315360000, stuckAgeSeconds: 315360000 }),
);
await time('filter: failing at an endpoint', list({ failingAt: 'payments.internal/pay' }));
await time('filter: error text contains', list({ errorText: 'Service Unavailable' }));
await time('filter: status prepared + aborting', list({ status: ['prepared', 'aborting'] }));
for (const sort of ['created', 'updated', 'nextRetry', 'retries'] as const) {
  await time(`sorted by ${sort}, first page`, list({ sort }));
  await time(`sorted by ${sort} ascending, first page`, list({ sort, dir: 'asc' }));
}
await time('sorted by retries, status failed', list({ sort: 'retries', status: ['failed'] }));
await time('counts per status + stuck (no cache)', () => countNow(deps, {}));
await time('counts for type saga (no cache)', () => countNow(deps, { transType: ['saga'] }));
await time('overview (60 min)', () => overview(deps, 60));
await time('detail of one transaction', () => getTransaction(deps, 'order-500000'));

if (dialect !== 'sqlite') {
  const mid = Math.floor(maxId / 2);
  const plans: Record<string, string> = {
    'first page': 'SELECT id FROM trans_global ORDER BY id DESC LIMIT 51',
    'middle page': `SELECT id FROM trans_global WHERE id < ${mid} ORDER BY id DESC LIMIT 51`,
    'status + type': `SELECT id FROM trans_global WHERE status = 'failed' AND trans_type = 'saga' ORDER BY id DESC LIMIT 51`,
    'gid prefix':
      dialect === 'postgres'
        ? `SELECT id FROM trans_global WHERE gid LIKE 'order-12345%' ORDER BY id DESC LIMIT 51`
        : `SELECT id FROM trans_global WHERE gid >= 'order-12345' AND gid <= 'order-12345\u{10FFFF}' ORDER BY id DESC LIMIT 51`,
    // the stuck view runs this once per unfinished status and merges the pages
    'stuck (one status)':
      `SELECT id FROM trans_global WHERE status = 'submitted' AND (fail_since < now() - interval '1' minute OR (fail_since IS NOT NULL AND fail_streak > 3) ` +
      `OR ongoing_since < now() - interval '10' minute OR next_cron_time < now() - interval '1' minute OR create_time < now() - interval '1' hour) ORDER BY id DESC LIMIT 51`,
    'failing at': `SELECT id FROM trans_global WHERE fail_endpoint = 'payments.internal/pay' AND status IN ('prepared', 'submitted', 'aborting') ORDER BY id DESC LIMIT 51`,
    'time window': `SELECT id FROM trans_global WHERE create_time >= now() - interval '3' day AND create_time <= now() - interval '71' hour ORDER BY id DESC LIMIT 51`,
    counts: 'SELECT status, COUNT(*) FROM trans_global GROUP BY status',
  };
  for (const [name, sql] of Object.entries(plans)) {
    const rows = await db.driver.query(`EXPLAIN ${sql}`);
    console.log(`\n-- ${name}: ${sql}`);
    for (const r of rows) console.log(dialect === 'postgres' ? String(r['QUERY PLAN']) : JSON.stringify(r));
  }
}
await deps.close();
await db.close();
