// Seeds a database with N transactions for the dashboard benchmark (not a test):
//   pnpm --filter @dtx/api seed -- --rows 1000000                      # SQLite data/bench.sqlite
//   STORE_DRIVER=postgres STORE_HOST=... pnpm --filter @dtx/api seed -- --rows 1000000
// One INSERT ... SELECT over a generated sequence per dialect (recursive CTE on SQLite,
// generate_series on PostgreSQL, the sequence engine on MariaDB), so a million rows take seconds.
// Distribution (deterministic from the row number): 97% succeed, 2% failed, 1% unfinished
// (submitted/prepared/aborting) with retry counts 0-11 and retry times spread over two hours
// around the creation time; 60% saga, 20% msg, 15% tcc, 4% xa, 1% workflow; created evenly over
// the last 7 days, the newest now. Unfinished ones with retries have a run of failed calls since
// a second after their creation (the stuck view's columns, migration 0020); aborting ones a
// branch answering "ongoing" since their creation.
import { parseArgs } from 'node:util';
import { openDatabase } from '@dtx/db';
import { loadConfig, storeConfigOf } from '@dtx/config';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' } }, allowPositionals: true });
const rows = Number(values.rows);
const env = {
  STORE_DB: process.env.STORE_DB ?? (process.env.STORE_DRIVER && process.env.STORE_DRIVER !== 'sqlite' ? 'dtx_bench' : 'data/bench.sqlite'),
  ...process.env,
};
const config = loadConfig({ env });
const db = await openDatabase(storeConfigOf(config, 4));
const dialect = db.driver.dialect;
const span = 7 * 86400_000;
const end = Date.now();
const start = end - span;
const step = span / rows;

// Expressions over the row number n (1..rows), written once and adapted per dialect.
const h = (mul: number, mod: number) => `((n * ${mul}) % ${mod})`;
const status = `CASE WHEN ${h(7919, 1000)} < 970 THEN 'succeed' WHEN ${h(7919, 1000)} < 990 THEN 'failed' WHEN ${h(7919, 1000)} < 996 THEN 'submitted' WHEN ${h(7919, 1000)} < 998 THEN 'prepared' ELSE 'aborting' END`;
const unfinished = `${h(7919, 1000)} >= 990`;
const type = `CASE WHEN ${h(104729, 100)} < 60 THEN 'saga' WHEN ${h(104729, 100)} < 80 THEN 'msg' WHEN ${h(104729, 100)} < 95 THEN 'tcc' WHEN ${h(104729, 100)} < 99 THEN 'xa' ELSE 'workflow' END`;
const retries = `CASE WHEN ${unfinished} THEN ${h(17, 12)} ELSE 0 END`;
const lastError = `CASE WHEN ${unfinished} AND ${h(17, 12)} > 0 THEN '02/action http://payments.internal/pay: HTTP 503 Service Unavailable' ELSE '' END`;

function timeExpr(msExpr: string): string {
  switch (dialect) {
    case 'sqlite':
      return `CAST(${msExpr} AS INTEGER)`;
    case 'postgres':
      return `to_timestamp((${msExpr}) / 1000.0)`;
    case 'mysql':
      return `FROM_UNIXTIME((${msExpr}) / 1000)`;
  }
}
const created = `(${start} + n * ${step.toFixed(6)})`;
const createTime = timeExpr(created);
const finishTime = `CASE WHEN ${h(7919, 1000)} < 970 THEN ${timeExpr(`${created} + 50 + ${h(31, 1950)}`)} ELSE NULL END`;
const rollbackTime = `CASE WHEN ${h(7919, 1000)} >= 970 AND ${h(7919, 1000)} < 990 THEN ${timeExpr(`${created} + 200 + ${h(31, 5000)}`)} ELSE NULL END`;
const nextCron = timeExpr(`${created} + CASE WHEN ${unfinished} THEN (${h(13, 7200)} - 3600) * 1000 ELSE 10000 END`);

const gid = dialect === 'mysql' ? `CONCAT('order-', n)` : `'order-' || n`;
const failing = `${unfinished} AND ${h(17, 12)} > 0`;
const failSince = `CASE WHEN ${failing} THEN ${timeExpr(`${created} + 1000`)} ELSE NULL END`;
const failStreak = `CASE WHEN ${failing} THEN ${h(17, 12)} ELSE 0 END`;
const ongoingSince = `CASE WHEN ${h(7919, 1000)} >= 998 AND NOT (${failing}) THEN ${createTime} ELSE NULL END`;
const failEndpoint = `CASE WHEN ${failing} THEN 'payments.internal/pay' ELSE '' END`;
const failDetail = `CASE WHEN ${failing} THEN '503' ELSE '' END`;
const select =
  `SELECT ${gid}, ${type}, ${status}, '', 'http', ${createTime}, ${createTime}, ${finishTime}, ${rollbackTime}, ` +
  `'{"retry_interval":10}', '', 10, ${nextCron}, '', '', '', '', NULL, ${retries}, ${lastError}, ` +
  `${failSince}, ${failStreak}, ${ongoingSince}, ${failEndpoint}, ${failDetail}`;
const columns =
  'gid, trans_type, status, query_prepared, protocol, create_time, update_time, finish_time, rollback_time, options, custom_data, ' +
  'next_cron_interval, next_cron_time, owner, ext_data, result, rollback_reason, lease_expire, retry_count, last_error, ' +
  'fail_since, fail_streak, ongoing_since, fail_endpoint, fail_detail';

const t0 = Date.now();
const existing = Number((await db.driver.query('SELECT COUNT(*) AS c FROM trans_global'))[0]?.c ?? 0);
if (existing > 0) {
  console.log(`trans_global already has ${existing} rows; nothing seeded (use a fresh database)`);
} else {
  switch (dialect) {
    case 'sqlite':
      await db.driver.run(
        `WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ${rows}) INSERT INTO trans_global (${columns}) ${select} FROM seq`,
      );
      break;
    case 'postgres':
      await db.driver.run(`INSERT INTO trans_global (${columns}) ${select} FROM generate_series(1::bigint, ${rows}::bigint) AS n`);
      await db.driver.run('ANALYZE trans_global');
      break;
    case 'mysql':
      await db.driver.run(`INSERT INTO trans_global (${columns}) ${select} FROM (SELECT CAST(seq AS SIGNED) AS n FROM seq_1_to_${rows}) s`);
      await db.driver.run('ANALYZE TABLE trans_global');
      break;
  }
  console.log(`seeded ${rows} transactions into ${dialect} (${config.Store.Db}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
await db.close();
