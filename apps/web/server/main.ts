// The dashboard process: `tsx apps/web/server/main.ts [--with-coordinator] [-c conf.yml] [--dev]`.
// With --with-coordinator (what the root `pnpm start` runs) the coordinator runs in the same
// process and the two share one database pool; without it, the dashboard joins coordinators that
// run elsewhere on the same database.
import { parseArgs } from 'node:util';
import next from 'next';
import { ConfigError, loadConfig, redacted, type Config } from '@dtx/config';
import { startCoordinator, type Coordinator } from '@dtx/coordinator';
import { createLogger, exitOnSignals } from '@dtx/runtime';
import { createDashboard } from '@dtx/api';
import { ensureBuild, WEB_DIR } from './build.ts';
import { distDirFor } from './dist-dir.ts';
import { startWebServer } from './http.ts';

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      c: { type: 'string' },
      d: { type: 'boolean' },
      'with-coordinator': { type: 'boolean' },
      dev: { type: 'boolean' },
      h: { type: 'boolean' },
    },
  });
  if (args.h) {
    console.log(`Usage: dashboard [--with-coordinator] [-c conf.yml] [-d] [--dev]
  --with-coordinator  also run a coordinator in this process (pnpm start)
  -c <file>           YAML configuration (dtm's keys plus Dashboard.*)
  -d                  debug log level
  --dev               Next.js development mode (hot reload) instead of the production build`);
    return;
  }
  let config: Config;
  try {
    config = loadConfig({ file: args.c, debug: args.d });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config);
  const dev = !!args.dev;
  if (!dev) ensureBuild(config.Dashboard.BasePath);
  log.info({ config: redacted(config) }, 'configuration');

  let coordinator: Coordinator | null = null;
  if (args['with-coordinator']) coordinator = await startCoordinator(config, { logger: log });
  const dashboard = await createDashboard(config, { logger: log, db: coordinator?.db });

  const host = config.Dashboard.Host || config.ListenHost;
  // next.config.ts reads the base path and the build folder from here.
  process.env.DTX_WEB_BASE_PATH = config.Dashboard.BasePath;
  process.env.DTX_WEB_DIST_DIR = distDirFor(config.Dashboard.BasePath);
  const app = next({ dev, dir: WEB_DIR, hostname: host, port: config.Dashboard.Port });
  await app.prepare();
  const web = await startWebServer({
    deps: dashboard,
    next: app.getRequestHandler(),
    port: config.Dashboard.Port,
    host,
    scheduler: coordinator ? () => coordinator.engine.health() : undefined,
  });

  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  const url = `http://${shown}:${web.port}${config.Dashboard.BasePath}/`;
  if (dashboard.createdAdminPassword) {
    // Shown once: only the hash is stored. Printed outside the JSON log so it is easy to find.
    process.stderr.write(
      `\n  First start: created dashboard user "admin" with password  ${dashboard.createdAdminPassword}\n` +
        '  It is shown only this once; log in and change it on the Users page.\n\n',
    );
  }
  log.info({ url, coordinator: coordinator ? `http://${shown}:${coordinator.httpPort}` : null }, 'dashboard started');
  process.stdout.write(`dashboard: ${url}\n`);
  if (coordinator) process.stdout.write(`coordinator: http://${shown}:${coordinator.httpPort}/api/dtmsvr\n`);

  exitOnSignals(log, async () => {
    await web.close();
    await app.close().catch(() => undefined);
    await dashboard.close();
    await coordinator?.close();
  });
}

main().catch((err: Error) => {
  console.error(`fatal: ${err.stack ?? err.message}`);
  process.exit(1);
});
