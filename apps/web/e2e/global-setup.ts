// Starts what `pnpm start` starts (coordinator + dashboard in one process, production build) on a
// fresh SQLite database, reads the admin password it prints on first start, and hands the
// addresses to the tests through the environment.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startScript, type ScriptProcess } from '../../../tests/support/processes.ts';

/** Runs apps/web/server/main.ts and waits until its output says it is ready. */
function start(args: string[], env: Record<string, string>, ready: (out: string) => boolean): Promise<ScriptProcess> {
  return startScript({
    script: 'apps/web/server/main.ts',
    args,
    env: { LISTEN_HOST: '127.0.0.1', LOG_LEVEL: 'warn', NEXT_TELEMETRY_DISABLED: '1', ...env },
    ready,
    name: 'dashboard',
    timeoutMs: 180_000,
    everyMs: 200,
  });
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
    await proxied.stop('SIGTERM', 15_000);
    await main.stop('SIGTERM', 15_000);
  };
}
