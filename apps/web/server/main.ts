// The dashboard process: `tsx apps/web/server/main.ts [--with-coordinator] [-c conf.yml] [--dev]`.
// With --with-coordinator (what the root `pnpm start` runs) the coordinator runs in the same
// process and the two share one database pool; without it, the dashboard joins coordinators that
// run elsewhere on the same database. `run` is exported for the release CLI
// (packages/release/src/cli.ts: `dtx start`, `dtx dashboard`), which passes the folder of the
// prebuilt Next.js app; run directly, the module starts itself.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import next from 'next';
import { redacted } from '@dtx/config';
import { startCoordinator, type Coordinator } from '@dtx/coordinator';
import { createLogger, exitOnSignals, isEntry, loadConfigOrExit } from '@dtx/runtime';
import { createDashboard } from '@dtx/api';
import { ensureBuild, WEB_DIR } from './build.ts';
import { distDirFor } from './dist-dir.ts';
import { startWebServer } from './http.ts';

export interface RunOptions {
  /** The prebuilt web app (the release's copy of apps/web with its .next build): never rebuilt. */
  webDir?: string;
  /** The command name shown in the usage text. */
  name?: string;
  /** Always run the coordinator in this process (`dtx start`); the flag is then not offered. */
  withCoordinator?: boolean;
}

export async function run(argv: string[], opts: RunOptions = {}): Promise<void> {
  const usage = `Usage: ${opts.name ?? 'dashboard'} ${opts.withCoordinator ? '' : '[--with-coordinator] '}[-c conf.yml] [-d]${opts.webDir ? '' : ' [--dev]'}
${opts.withCoordinator ? '' : '  --with-coordinator  also run a coordinator in this process (pnpm start)\n'}  -c <file>           YAML configuration (dtm's keys plus Dashboard.*)
  -d                  debug log level${opts.webDir ? '' : '\n  --dev               Next.js development mode (hot reload) instead of the production build'}`;
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        c: { type: 'string' },
        d: { type: 'boolean' },
        'with-coordinator': { type: 'boolean' },
        dev: { type: 'boolean' },
        h: { type: 'boolean' },
      },
    }).values;
    if (opts.withCoordinator && args['with-coordinator']) throw new Error(`${opts.name ?? 'dashboard'} always runs the coordinator`);
    if (opts.webDir && args.dev) throw new Error('--dev (next dev) needs the repository; the release serves its prebuilt dashboard');
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    process.exit(2);
  }
  if (args.h) {
    console.log(usage);
    return;
  }
  const config = loadConfigOrExit({ file: args.c, debug: args.d });
  const log = createLogger(config);
  const dev = !!args.dev;
  const webDir = opts.webDir ?? WEB_DIR;
  if (opts.webDir) requirePrebuilt(webDir, config.Dashboard.BasePath);
  else if (!dev) ensureBuild(config.Dashboard.BasePath);
  log.info({ config: redacted(config) }, 'configuration');

  // Signals are handled from here on (one during start-up closes what has started, in reverse order).
  const closers: Array<() => Promise<unknown>> = [];
  exitOnSignals(log, async () => {
    for (const close of closers.reverse()) await close();
  });
  let coordinator: Coordinator | null = null;
  if (args['with-coordinator'] || opts.withCoordinator) coordinator = await startCoordinator(config, { logger: log });
  const started = coordinator;
  if (started) closers.push(() => started.close());
  const dashboard = await createDashboard(config, { logger: log, db: coordinator?.db, coordinatorHttpPort: coordinator?.httpPort });
  closers.push(() => dashboard.close());

  const host = config.Dashboard.Host || config.ListenHost;
  // next.config.ts reads the base path and the build folder from here.
  process.env.DTX_WEB_BASE_PATH = config.Dashboard.BasePath;
  process.env.DTX_WEB_DIST_DIR = distDirFor(config.Dashboard.BasePath);
  const app = next({ dev, dir: webDir, hostname: host, port: config.Dashboard.Port });
  closers.push(() => app.close().catch(() => undefined));
  await app.prepare();
  const web = await startWebServer({
    deps: dashboard,
    next: app.getRequestHandler(),
    port: config.Dashboard.Port,
    host,
    scheduler: started ? () => started.engine.health() : undefined,
    dev,
  });
  closers.push(() => web.close());

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
}

/** A release cannot run `next build`: the base path must be one it was built for. */
function requirePrebuilt(webDir: string, basePath: string): void {
  if (existsSync(join(webDir, distDirFor(basePath), 'BUILD_ID'))) return;
  console.error(
    `The dashboard in this release was not built for Dashboard.BasePath '${basePath}' (no ${distDirFor(basePath)} in ${webDir}).\n` +
      'Build the release with DASHBOARD_BASE_PATH set to it (docs/deploying.md, "The release artifact").',
  );
  process.exit(2);
}

if (isEntry(import.meta.url)) {
  run(process.argv.slice(2)).catch((err: Error) => {
    console.error(`fatal: ${err.stack ?? err.message}`);
    process.exit(1);
  });
}
