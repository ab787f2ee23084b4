// The dashboard's first paint on a seeded database (packages/api/bench/seed.ts), in Chromium:
// for each page, the browser's first-contentful-paint and the time until the data is on screen
// (first table row / chart), over several cold navigations. Not a test; numbers go to
// docs/benchmarks.md.
//   STORE_DB=/path/bench.sqlite pnpm --filter @dtx/web exec tsx bench/first-paint.ts
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { chromium } from '@playwright/test';
import { openDatabase } from '@dtx/db';
import { loadConfig, storeConfigOf } from '@dtx/config';
import { hashPassword } from '@dtx/api';
import { WEB_DIR } from '../server/build.ts';

const RUNS = Number(process.env.RUNS ?? 10);
const PORT = Number(process.env.DASHBOARD_PORT ?? 36799);
const config = loadConfig({ env: process.env });

// a user for the benchmark, whatever the database holds
const db = await openDatabase(storeConfigOf(config, 2));
const prisma = await db.prisma();
const passwordHash = await hashPassword('bench-password');
await prisma.dashboardUser.upsert({
  where: { username: 'bench' },
  create: { username: 'bench', passwordHash, role: 'viewer', createdAt: new Date(), updatedAt: new Date() },
  update: { passwordHash, disabled: false },
});
const total = await prisma.transGlobal.count();
await db.close();

const server = spawn(process.execPath, ['--import', 'tsx', join(WEB_DIR, 'server/main.ts')], {
  env: { ...process.env, DASHBOARD_PORT: String(PORT), LISTEN_HOST: '127.0.0.1', LOG_LEVEL: 'warn', NEXT_TELEMETRY_DISABLED: '1' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
await new Promise<void>((resolve, reject) => {
  server.stdout.on('data', (d: Buffer) => d.toString().includes('dashboard: http') && resolve());
  server.once('exit', (c) => reject(new Error(`dashboard exited with ${c}`)));
});
const base = `http://127.0.0.1:${PORT}`;
const browser = await chromium.launch({
  executablePath: process.env.DTX_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const login = await browser.newContext();
const page0 = await login.newPage();
await page0.goto(`${base}/login`);
await page0.getByLabel('Username').fill('bench');
await page0.getByLabel('Password').fill('bench-password');
await page0.getByRole('button', { name: 'Sign in' }).click();
await page0.getByTestId('whoami').waitFor();
const state = await login.storageState();
await login.close();

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)] ?? NaN;
const targets = [
  { name: 'Transactions (newest 50)', path: '/transactions', ready: 'table[data-testid="transactions-table"] tbody tr' },
  { name: 'Stuck view', path: '/transactions?stuck=1', ready: 'table[data-testid="transactions-table"] tbody tr' },
  { name: 'Failed sagas', path: '/transactions?status=failed&type=saga', ready: 'table[data-testid="transactions-table"] tbody tr' },
  { name: 'Overview', path: '/', ready: '[data-testid="chart-per-minute"] .recharts-area' },
];
console.log(`\n${config.Store.Driver}: ${total} transactions, ${RUNS} cold page loads each (ms)\n`);
console.log('| page | first contentful paint p50 | data on screen p50 | data on screen p99 |\n|---|---:|---:|---:|');
for (const t of targets) {
  const fcp: number[] = [];
  const ready: number[] = [];
  for (let i = 0; i < RUNS + 1; i++) {
    const ctx = await browser.newContext({ storageState: state });
    const page = await ctx.newPage();
    const t0 = Date.now();
    await page.goto(`${base}${t.path}`);
    await page.locator(t.ready).first().waitFor();
    const done = Date.now() - t0;
    const paint = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN);
    if (i > 0) {
      // the first load warms Next's server caches
      fcp.push(paint);
      ready.push(done);
    }
    await ctx.close();
  }
  console.log(`| ${t.name} | ${pct(fcp, 50).toFixed(0)} | ${pct(ready, 50)} | ${pct(ready, 99)} |`);
}
await browser.close();
server.kill('SIGTERM');
