// The release artifact (docs/deploying.md): `pnpm release` builds release/dtx-<version>.tgz, which
// is installed with `npm install --omit=dev` into an empty folder outside the repository and run
// from there: `dtx start` on SQLite with no configuration (quick-start saga over HTTP and gRPC,
// the dashboard's login page in Chromium, SIGTERM), `dtx migrate` then `dtx server` on PostgreSQL
// and MariaDB, and bad input. The child processes get a minimal environment (no NODE_PATH, no
// NODE_OPTIONS): anything the package would load from the repository, or tsx, makes it fail.
//
// better-sqlite3 compiles from source on install (2-3 minutes on two cores). By default the test
// hands npm the addon the workspace already compiled, through prebuild-install's documented
// local-prebuilds option, so that the install takes seconds; DTX_RELEASE_COMPILE=1 compiles it as
// a user's install would. DTX_SKIP_RELEASE=1 skips the suite.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BranchServer, eventually } from './support/branches.ts';
import { DtmHttp, ROOT } from './support/coordinator.ts';
import { DtmGrpc, GrpcBranchServer } from './support/grpc.ts';
import { freePort } from './support/processes.ts';
import { freshStore, storeEnv, testStores, type StoreName } from './support/stores.ts';

/** The fields of a package.json read here. */
interface PackageJson {
  name: string;
  version: string;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
}

function readPackageJson(dir: string): PackageJson {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
}

const VERSION = readPackageJson(ROOT).version;
const TARBALL = join(ROOT, 'release', `dtx-${VERSION}.tgz`);

/** The environment of every process started from the installed package: nothing that points into the repository. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', LANG: 'C.UTF-8' };
  return { ...env, ...extra };
}

/** The workspace's compiled better-sqlite3 addon as a prebuild-install tarball (see the header). */
function localPrebuild(dir: string): Record<string, string> {
  if (process.env.DTX_RELEASE_COMPILE) return {};
  const req = createRequire(join(ROOT, 'packages', 'db', 'package.json'));
  const pkgDir = dirname(req.resolve('better-sqlite3/package.json'));
  const version = readPackageJson(pkgDir).version;
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  execFileSync('tar', ['czf', join(dir, name), '-C', pkgDir, 'build/Release/better_sqlite3.node']);
  return { npm_config_better_sqlite3_local_prebuilds: dir };
}

/** The part of Playwright's API used here: its types belong to apps/web, out of the root's reach. */
interface Locator {
  fill(value: string): Promise<void>;
  click(): Promise<void>;
  filter(options: { hasText: string }): Locator;
  waitFor(options: { timeout: number }): Promise<void>;
}
interface Page {
  goto(url: string): Promise<unknown>;
  url(): string;
  getByLabel(text: string): Locator;
  getByRole(role: 'button', options: { name: RegExp }): Locator;
  getByTestId(id: string): Locator;
}
interface Browser {
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

function filesUnder(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) filesUnder(p, out);
    else out.push(p);
  }
  return out;
}

interface Running {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function dtx(cwd: string, args: string[], env: Record<string, string>): Running {
  const proc = spawn(process.execPath, [join(cwd, 'node_modules', 'dtx', 'dist', 'cli.js'), ...args], {
    cwd,
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, output: () => out, exited };
}

async function stop(r: Running, timeoutMs = 10_000): Promise<{ code: number | null; ms: number }> {
  const t0 = Date.now();
  r.proc.kill('SIGTERM');
  const code = await Promise.race([r.exited, new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), timeoutMs))]);
  if (code === 'timeout') {
    r.proc.kill('SIGKILL');
    throw new Error(`no exit within ${timeoutMs} ms of SIGTERM\n${r.output()}`);
  }
  return { code, ms: Date.now() - t0 };
}

const ping = async (port: number) => (await fetch(`http://127.0.0.1:${port}/api/ping`).catch(() => null))?.ok ?? false;

describe.skipIf(!!process.env.DTX_SKIP_RELEASE)('release package', () => {
  let dir: string;
  const running: Running[] = [];

  beforeAll(() => {
    const build = spawnSync('pnpm', ['run', '-s', 'release'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' } });
    if (build.status !== 0) throw new Error(`pnpm release failed:\n${build.stdout}\n${build.stderr}`);
    expect(existsSync(TARBALL)).toBe(true);
    // outside the repository, and not below any folder with a node_modules of the workspace
    dir = mkdtempSync(join(tmpdir(), 'dtx-release-'));
    const prebuilds = join(dir, '.prebuilds');
    mkdirSync(prebuilds);
    const app = join(dir, 'app');
    // the same script the Dockerfile's build stage runs
    const install = spawnSync(process.execPath, [join(ROOT, 'packages', 'release', 'install.mjs'), TARBALL, app], {
      encoding: 'utf8',
      env: cleanEnv(localPrebuild(prebuilds)),
    });
    if (install.status !== 0) throw new Error(`npm install failed:\n${install.stdout}\n${install.stderr}`);
    dir = app;
  }, 240_000);

  afterAll(() => {
    for (const r of running) if (r.proc.exitCode === null) r.proc.kill('SIGKILL');
    if (dir) rmSync(dirname(dir), { recursive: true, force: true });
  });

  it('installs without anything of the repository, TypeScript or tsx', () => {
    const installed = join(dir, 'node_modules', 'dtx');
    const manifest = readPackageJson(installed);
    expect(manifest.name).toBe('dtx');
    expect(manifest.bin).toEqual({ dtx: 'dist/cli.js' });
    expect(Object.keys(manifest.dependencies).filter((d) => d.startsWith('@dtx/'))).toEqual([]);
    for (const f of filesUnder(installed)) {
      if (/\.(js|mjs|json|html|txt)$/.test(f)) expect(readFileSync(f, 'utf8').includes(ROOT), `${f} names ${ROOT}`).toBe(false);
      expect(f.endsWith('.ts') && !f.endsWith('.d.ts'), `${f} is TypeScript`).toBe(false);
    }
    for (const dev of ['tsx', 'typescript', 'prisma', '@dtx', 'vitest', 'esbuild']) {
      expect(existsSync(join(dir, 'node_modules', dev)), `${dev} installed`).toBe(false);
    }
  });

  it('dtx start: the quick-start saga over HTTP and gRPC, the dashboard in Chromium, SIGTERM exits 0', async () => {
    const [http, grpcPort, dash] = [await freePort(), await freePort(), await freePort()];
    const t0 = Date.now();
    const r = dtx(dir, ['start'], { HTTP_PORT: String(http), GRPC_PORT: String(grpcPort), DASHBOARD_PORT: String(dash) });
    running.push(r);
    await eventually(() => ping(http), 30_000, 50);
    const firstAnswerMs = Date.now() - t0;
    await eventually(async () => (await fetch(`http://127.0.0.1:${dash}/api/health/ready`).catch(() => null))?.status === 200, 30_000);
    expect(r.output()).not.toMatch(/tsx|next build/);
    // no configuration: the SQLite file lands in ./data of the working directory
    expect(existsSync(join(dir, 'data', 'dtm.sqlite'))).toBe(true);
    expect((await fetch(`http://127.0.0.1:${http}/api/health/ready`)).status).toBe(200);
    expect(((await (await fetch(`http://127.0.0.1:${http}/api/dtmsvr/version`)).json()) as { version: string }).version).toBe(`v${VERSION}`);

    // the quick start over HTTP: success, then TransIn's 409 rolls back
    const svc = new BranchServer();
    await svc.start();
    const dtm = new DtmHttp(`http://127.0.0.1:${http}`);
    const saga = (gid: string, p: string) => ({
      gid,
      trans_type: 'saga',
      steps: [
        { action: svc.url(`/${p}/TransOut`), compensate: svc.url(`/${p}/TransOutRevert`) },
        { action: svc.url(`/${p}/TransIn`), compensate: svc.url(`/${p}/TransInRevert`) },
      ],
      payloads: ['{"amount":30}', '{"amount":30}'],
    });
    try {
      expect((await dtm.post('submit', saga('rel-ok', 'ok'))).status).toBe(200);
      await dtm.waitStatus('rel-ok', 'succeed');
      expect(svc.trail('rel-ok')).toEqual(['/ok/TransOut:action', '/ok/TransIn:action']);
      svc.on('/bad/TransIn', { status: 409, body: { error: 'insufficient balance' } });
      expect((await dtm.post('submit', saga('rel-409', 'bad'))).status).toBe(200);
      await dtm.waitStatus('rel-409', 'failed');
      expect(svc.trail('rel-409')).toEqual([
        '/bad/TransOut:action',
        '/bad/TransIn:action',
        '/bad/TransInRevert:compensate',
        '/bad/TransOutRevert:compensate',
      ]);
    } finally {
      await svc.stop();
    }

    // the same over gRPC (dtmgimp.proto is read from the package)
    const busi = new GrpcBranchServer(['/busi.Busi/TransOut', '/busi.Busi/TransOutRevert', '/busi.Busi/TransIn', '/busi.Busi/TransInRevert']);
    await busi.start();
    const grpc = new DtmGrpc(`127.0.0.1:${grpcPort}`);
    const gsaga = (gid: string) => ({
      Gid: gid,
      TransType: 'saga',
      Steps: JSON.stringify([
        { action: busi.url('/busi.Busi/TransOut'), compensate: busi.url('/busi.Busi/TransOutRevert') },
        { action: busi.url('/busi.Busi/TransIn'), compensate: busi.url('/busi.Busi/TransInRevert') },
      ]),
      BinPayloads: [Buffer.from([0x08, 0x1e]), Buffer.from([0x08, 0x1e])],
    });
    try {
      expect(await grpc.call('Submit', gsaga('rel-grpc-ok'))).toMatchObject({ ok: true });
      await dtm.waitStatus('rel-grpc-ok', 'succeed');
      busi.on('/busi.Busi/TransIn', { code: 10, details: 'FAILURE' }); // Aborted: dtm's gRPC failure
      expect(await grpc.call('Submit', gsaga('rel-grpc-fail'))).toMatchObject({ ok: true });
      const failed = await dtm.waitStatus('rel-grpc-fail', 'failed');
      expect(failed.branches.filter((b) => b.op === 'compensate').map((b) => b.status)).toEqual(['succeed', 'succeed']);
    } finally {
      grpc.close();
      busi.stop();
    }

    // the dashboard's login page in Chromium, served from the prebuilt Next app
    const webReq = createRequire(join(ROOT, 'apps', 'web', 'package.json'));
    // @playwright/test is the dashboard's dev dependency (apps/web); the root has no types for it
    const { chromium } = webReq('@playwright/test') as { chromium: { launch(o: object): Promise<Browser> } };
    const browser = await chromium.launch({
      executablePath: process.env.DTX_CHROMIUM ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${dash}/`);
      expect(new URL(page.url()).pathname).toBe('/login');
      // the first start printed the generated admin password; logging in proves the API behind the page
      const password = /user "admin" with password\s+(\S+)/.exec(r.output())?.[1];
      expect(password).toBeTruthy();
      await page.getByLabel('Username').fill('admin');
      await page.getByLabel('Password').fill(password!);
      await page.getByRole('button', { name: /sign in|log in/i }).click();
      await page.getByTestId('whoami').filter({ hasText: 'admin' }).waitFor({ timeout: 15_000 });
    } finally {
      await browser.close();
    }

    const { code, ms } = await stop(r);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(10_000);
    // SQLite's checkpoints ran on their worker thread all along (packages/db/src/sqlite-checkpointer.ts
    // warns once when they fall back to the store's connection).
    expect(r.output()).not.toMatch(/DtxSqliteCheckpoint/);
    console.log(`release: dtx start answered its first request after ${firstAnswerMs} ms`);
  }, 120_000);

  it('dtx server answers its first request without building anything', async () => {
    const http = await freePort();
    const t0 = Date.now();
    const r = dtx(dir, ['server'], { HTTP_PORT: String(http), GRPC_PORT: '0', STORE_DB: join(dir, 'data', 'server.sqlite') });
    running.push(r);
    await eventually(() => ping(http), 30_000, 20);
    const ms = Date.now() - t0;
    console.log(`release: dtx server answered its first request after ${ms} ms`);
    // The target, 2 s, is measured on a quiet machine (docs/benchmarks.md, "Start-up"); on the
    // shared 2-core test machine start-up takes up to 13 s under load. This bound catches what
    // matters here: no build and no compilation at start (a `next build` alone takes ~100 s).
    expect(ms).toBeLessThan(20_000);
    expect((await stop(r)).code).toBe(0);
  }, 60_000);

  const servers = testStores().filter((s): s is Exclude<StoreName, 'sqlite'> => s !== 'sqlite');
  it.each(servers)(
    'dtx migrate, then dtx server, on %s',
    async (name) => {
      const store = await freshStore(name, 'release');
      const migrate = dtx(dir, ['migrate'], storeEnv(store));
      expect(await migrate.exited, migrate.output()).toBe(0);
      expect(migrate.output()).toMatch(/applied: 0001_init/);
      const again = dtx(dir, ['migrate'], storeEnv(store));
      expect(await again.exited).toBe(0);
      expect(again.output()).toMatch(/the schema is up to date/);

      const http = await freePort();
      // Two workers (docs/operations.md, "Workers"): the bundled entry point forks itself.
      const r = dtx(dir, ['server'], { ...storeEnv(store), HTTP_PORT: String(http), GRPC_PORT: '0', WORKERS: '2' });
      running.push(r);
      await eventually(async () => (await fetch(`http://127.0.0.1:${http}/api/health/ready`).catch(() => null))?.status === 200, 30_000);
      await eventually(() => (r.output().match(/coordinator started/g) ?? []).length === 2 || null, 30_000);
      expect(r.output()).not.toMatch(/schema migrations applied/); // dtx migrate did it
      const gid = await new DtmHttp(`http://127.0.0.1:${http}`).get('newGid');
      expect(gid.status).toBe(200);
      expect((await stop(r)).code).toBe(0);
    },
    60_000,
  );

  it('refuses unknown commands and flags with usage on stderr and exit code 2; version and help', () => {
    for (const args of [['frobnicate'], [], ['server', '--bogus'], ['start', '--bogus'], ['migrate', 'extra']]) {
      const r = spawnSync(process.execPath, [join(dir, 'node_modules', 'dtx', 'dist', 'cli.js'), ...args], {
        cwd: dir,
        env: cleanEnv(),
        encoding: 'utf8',
      });
      expect(r.status, `dtx ${args.join(' ')}`).toBe(2);
      expect(r.stderr).toMatch(/Usage: dtx/);
      expect(r.stdout).toBe('');
    }
    const v = spawnSync(join(dir, 'node_modules', '.bin', 'dtx'), ['version'], { cwd: dir, env: cleanEnv(), encoding: 'utf8' });
    expect(v.status).toBe(0);
    expect(v.stdout.trim()).toBe(`dtx version: v${VERSION}`);
    const h = spawnSync(join(dir, 'node_modules', '.bin', 'dtx'), ['--help'], { cwd: dir, env: cleanEnv(), encoding: 'utf8' });
    expect(h.status).toBe(0);
    expect(h.stdout).toMatch(/start .*\n.*server .*\n.*dashboard .*\n.*migrate /);
  });
});
