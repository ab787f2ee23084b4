// Starts what `pnpm start` starts (coordinator + dashboard in one process, production build) on a
// fresh SQLite database, reads the admin password it prints on first start, and hands the
// addresses to the tests through the environment.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestProvider, TEST_ROLE_VALUES } from '../../../tests/support/oidc-provider.ts';
import { freePort, startScript, type ScriptProcess } from '../../../tests/support/processes.ts';
import { freshStore, storeEnv, testStores } from '../../../tests/support/stores.ts';

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
  const sso = await startSso(dir);
  const empty = await startEmpty(dir);
  process.env.DTX_E2E_RUN = Date.now().toString(36);
  process.env.DTX_E2E_WEB = `http://127.0.0.1:${webPort}`;
  process.env.DTX_E2E_PROXIED = `http://127.0.0.1:${proxiedPort}`;
  process.env.DTX_E2E_DTM = `http://127.0.0.1:${httpPort}`;
  process.env.DTX_E2E_PASSWORD = /created dashboard user "admin" with password\s+(\S+)/.exec(main.output())![1];
  return async () => {
    await empty.stop('SIGTERM', 15_000);
    await sso.stop();
    await proxied.stop('SIGTERM', 15_000);
    await main.stop('SIGTERM', 15_000);
  };
}

export const SSO_ADMIN_PASSWORD = 'e2e-sso-admin-password';
export const EMPTY_ADMIN_PASSWORD = 'e2e-empty-admin-password';

/**
 * A dashboard with its coordinator on a database of its own that no test fills (polish.spec.ts:
 * the first-transaction hint of a new installation).
 */
async function startEmpty(dir: string) {
  const [webPort, httpPort] = [await freePort(), await freePort()];
  const env = {
    STORE_DRIVER: 'sqlite',
    STORE_DB: join(dir, 'empty.sqlite'),
    HTTP_PORT: String(httpPort),
    GRPC_PORT: '0',
    DASHBOARD_PORT: String(webPort),
    DASHBOARD_ADMIN_PASSWORD: EMPTY_ADMIN_PASSWORD,
    DASHBOARD_REFRESH_SECONDS: '1',
  };
  const proc = await start(['--with-coordinator'], env, (out) => out.includes('dashboard: http://'));
  process.env.DTX_E2E_EMPTY = `http://127.0.0.1:${webPort}`;
  process.env.DTX_E2E_EMPTY_DTM = `http://127.0.0.1:${httpPort}`;
  return proc;
}

/** Login limits of the dashboards on each store (stores.spec.ts): small, so that a test can reach them and wait them out. */
export const STORE_LOGIN_LIMITS = { userAttempts: 3, windowSeconds: 4 };

/** A dashboard of stores.spec.ts: its store and its address. */
export interface StoreDashboard {
  store: string;
  url: string;
}

/**
 * Single sign-on (sso.spec.ts): a real OpenID Connect provider (oidc-provider) in this process, a
 * dashboard that uses it, and one whose issuer cannot be reached (nothing listens on its port).
 * Both have their own database and a configured admin password for the local login.
 */
async function startSso(dir: string) {
  const [ssoPort, downPort, closedPort] = [await freePort(), await freePort(), await freePort()];
  const ssoUrl = `http://127.0.0.1:${ssoPort}`;
  // the server-side stores besides SQLite (DTX_TEST_STORES picks them, like vitest's)
  const others = testStores().filter((s) => s !== 'sqlite');
  const storeUrls = await Promise.all(others.map(async () => `http://127.0.0.1:${await freePort()}`));
  const idp = await startTestProvider([ssoUrl, ...storeUrls].map((u) => `${u}/api/auth/oidc/callback`));
  const oidc = (issuer: string, url: string) => ({
    DASHBOARD_ADMIN_PASSWORD: SSO_ADMIN_PASSWORD,
    DASHBOARD_OIDC_ISSUER: issuer,
    DASHBOARD_OIDC_CLIENT_ID: idp.clientId,
    DASHBOARD_OIDC_CLIENT_SECRET: idp.clientSecret,
    DASHBOARD_OIDC_DASHBOARD_URL: url,
    DASHBOARD_OIDC_NAME: 'Test IdP',
    DASHBOARD_OIDC_SCOPES: 'openid profile email groups',
    DASHBOARD_OIDC_ADMIN_VALUES: TEST_ROLE_VALUES.admin,
    DASHBOARD_OIDC_OPERATOR_VALUES: TEST_ROLE_VALUES.operator,
    DASHBOARD_OIDC_VIEWER_VALUES: TEST_ROLE_VALUES.viewer,
  });
  const ready = (out: string) => out.includes('dashboard: http://');
  const withSso = await start(
    [],
    { STORE_DRIVER: 'sqlite', STORE_DB: join(dir, 'sso.sqlite'), DASHBOARD_PORT: String(ssoPort), ...oidc(idp.issuer, ssoUrl) },
    ready,
  );
  const down = await start(
    [],
    {
      STORE_DRIVER: 'sqlite',
      STORE_DB: join(dir, 'sso-down.sqlite'),
      DASHBOARD_PORT: String(downPort),
      ...oidc(`http://127.0.0.1:${closedPort}`, `http://127.0.0.1:${downPort}`),
    },
    ready,
  );
  // sessions, login limits and SSO keep their state in the store: the same dashboard on a fresh
  // database of each other store (stores.spec.ts)
  const onStores = await Promise.all(
    others.map(async (name, i) => {
      const url = storeUrls[i]!;
      const env = {
        ...storeEnv(await freshStore(name, 'e2e')),
        DASHBOARD_PORT: new URL(url).port,
        DASHBOARD_LOGIN_USER_ATTEMPTS: String(STORE_LOGIN_LIMITS.userAttempts),
        DASHBOARD_LOGIN_WINDOW_SECONDS: String(STORE_LOGIN_LIMITS.windowSeconds),
        ...oidc(idp.issuer, url),
      };
      return { name, url, proc: await start([], env, ready) };
    }),
  );
  process.env.DTX_E2E_STORES = JSON.stringify(onStores.map(({ name, url }): StoreDashboard => ({ store: name, url })));
  process.env.DTX_E2E_SSO = ssoUrl;
  process.env.DTX_E2E_SSO_DOWN = `http://127.0.0.1:${downPort}`;
  // what the dashboard with the unreachable issuer logged at start-up
  process.env.DTX_E2E_SSO_DOWN_LOG = down
    .output()
    .split('\n')
    .filter((l) => l.includes('single sign-on'))
    .join('\n');
  return {
    stop: async () => {
      for (const d of onStores) await d.proc.stop('SIGTERM', 15_000);
      await down.stop('SIGTERM', 15_000);
      await withSso.stop('SIGTERM', 15_000);
      await idp.close();
    },
  };
}
