#!/usr/bin/env node
// `pnpm test`: the whole test suite. Starts the databases and etcd the suites need (from the
// Debian packages' binaries, on ports of their own), then runs the linters (Prettier, the type check, ESLint), every TypeScript
// test on SQLite, PostgreSQL and MariaDB, the dashboard's end-to-end tests in Chromium (after a
// production build of the web app), the Helm chart's validation, and the Go compatibility tests
// against the real dtm SDK, and the Python ones against dtm's Python SDK. The TypeScript tests include the release package (tests/release.test.ts).
//
//   DTX_TEST_STORES=sqlite pnpm test     # only the embedded store, no external services
//   pnpm test -- tests/saga.test.ts      # extra arguments go to vitest (e2e and Go tests are skipped)
//   DTX_SKIP_E2E=1 pnpm test             # without the browser tests
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServices, serviceEnv } from './services.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2).filter((a) => a !== '--');
const stores = (process.env.DTX_TEST_STORES ?? 'sqlite,postgres,mysql').split(',');
/** @type {string[]} */
const needed = [];
if (stores.includes('postgres')) needed.push('pg');
if (stores.includes('mysql') || !args.length) needed.push('mysql');
if (!args.length) needed.push('etcd');

const started = Date.now();
/** @type {{ name: string, ok: boolean, seconds: number }[]} */
const results = [];

/**
 * Runs one step of the suite with its output on the console, and records whether it passed.
 * @param {string} name @param {string} cmd @param {string[]} cmdArgs
 * @param {{ cwd?: string, env?: Record<string, string> }} [opts]
 */
function step(name, cmd, cmdArgs, opts = {}) {
  const t0 = Date.now();
  console.log(`\n=== ${name}: ${cmd} ${cmdArgs.join(' ')}`);
  const r = spawnSync(cmd, cmdArgs, { stdio: 'inherit', cwd: root, ...opts, env: { ...process.env, ...opts.env } });
  const ok = r.status === 0;
  results.push({ name, ok, seconds: Math.round((Date.now() - t0) / 1000) });
  return ok;
}

console.log(`starting services: ${needed.join(', ') || 'none'}`);
await startServices(needed);
const env = { ...serviceEnv, DTX_TEST_STORES: stores.join(',') };
Object.assign(process.env, env);

step('lint (prettier, typecheck, eslint, import cycles)', 'pnpm', ['run', '-s', 'lint']);
step('typescript tests', 'pnpm', ['exec', 'vitest', 'run', ...args]);
// The dashboard in Debian's Chromium against the real coordinator (apps/web/e2e). `next build`
// first (skipped when the build is current): the tests run what `pnpm start` serves.
if (!args.length && !process.env.DTX_SKIP_E2E) {
  const web = join(root, 'apps', 'web');
  const e2eEnv = { env: { NEXT_TELEMETRY_DISABLED: '1' } };
  if (step('dashboard build (next build)', 'pnpm', ['exec', 'tsx', 'server/build.ts', ''], { cwd: web, ...e2eEnv })) {
    step('dashboard end-to-end tests (Playwright, Chromium)', 'pnpm', ['exec', 'playwright', 'test'], { cwd: web, ...e2eEnv });
  }
}
// The Helm chart rendered and validated against the Kubernetes schemas (helm and kubeconform are
// Go programs from the module proxy; skipped without Go).
const hasGo = spawnSync('go', ['version']).status === 0;
if (!args.length && hasGo) step('deployment manifests (helm template + kubeconform)', 'node', ['scripts/test-deploy.mjs']);
// Every Go module under compat/ (each has its own go.mod and dependencies from the Go proxy).
const compat = join(root, 'compat');
const goModules = !args.length && existsSync(compat) ? readdirSync(compat).filter((d) => existsSync(join(compat, d, 'go.mod'))) : [];
for (const mod of goModules) {
  step(`go compatibility tests (compat/${mod})`, 'go', ['test', '-count=1', '-timeout', '15m', './...'], { cwd: join(compat, mod) });
}

// dtm's Python SDK (compat/python; its packages come from PyPI into compat/python/.venv).
const hasPython = spawnSync('python3', ['-c', 'import venv']).status === 0;
if (!args.length && hasPython) step('python compatibility tests (compat/python)', 'node', ['scripts/test-python.mjs']);

console.log('\n=== summary');
for (const r of results) console.log(`${r.ok ? 'PASS' : 'FAIL'}  ${r.name} (${r.seconds}s)`);
console.log(`total ${Math.round((Date.now() - started) / 1000)}s`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
