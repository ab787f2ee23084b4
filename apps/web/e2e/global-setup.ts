// Starts what `pnpm start` starts (coordinator + dashboard in one process, production build) on a
// fresh SQLite database, reads the admin password it prints on first start, and hands the
// addresses to the tests through the environment.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface Started {
  stop(): Promise<void>;
  output(): string;
}

/** Runs apps/web/server/main.ts and waits until it prints its URL. */
async function start(args: string[], env: Record<string, string>, ready: (out: string) => boolean): Promise<Started> {
  let out = '';
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'apps/web/server/main.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, LISTEN_HOST: '127.0.0.1', LOG_LEVEL: 'warn', NEXT_TELEMETRY_DISABLED: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 180_000;
  while (!ready(out)) {
    if (proc.exitCode !== null) throw new Error(`dashboard exited with ${proc.exitCode}:\n${out}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`dashboard did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    output: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 15_000).unref();
      }),
  };
}

export default async function globalSetup() {
  const dir = mkdtempSync(join(tmpdir(), 'dtx-e2e-'));
  const [webPort, httpPort, proxiedPort] = [await freePort(), await freePort(), await freePort()];
  const store = { STORE_DRIVER: 'sqlite', STORE_DB: join(dir, 'e2e.sqlite') };
  // `pnpm start`: coordinator and dashboard in one process, first start on an empty database
  const main = await start(
    ['--with-coordinator'],
    {
      ...store,
      HTTP_PORT: String(httpPort),
      GRPC_PORT: '0',
      DASHBOARD_PORT: String(webPort),
      TRANS_CRON_INTERVAL: '1',
      DASHBOARD_REFRESH_SECONDS: '1',
    },
    (out) => /created dashboard user "admin" with password\s+\S+/.test(out) && out.includes('dashboard: http://'),
  );
  // a second dashboard on the same database, as behind a reverse proxy that forwards /dtx/*
  const proxied = await start([], { ...store, DASHBOARD_PORT: String(proxiedPort), DASHBOARD_BASE_PATH: '/dtx' }, (out) =>
    out.includes('dashboard: http://'),
  );
  process.env.DTX_E2E_RUN = Date.now().toString(36);
  process.env.DTX_E2E_WEB = `http://127.0.0.1:${webPort}`;
  process.env.DTX_E2E_PROXIED = `http://127.0.0.1:${proxiedPort}`;
  process.env.DTX_E2E_DTM = `http://127.0.0.1:${httpPort}`;
  process.env.DTX_E2E_PASSWORD = /created dashboard user "admin" with password\s+(\S+)/.exec(main.output())![1];
  return async () => {
    await proxied.stop();
    await main.stop();
  };
}
