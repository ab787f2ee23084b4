#!/usr/bin/env node
// `dtx`: the command of the release package (docs/deploying.md). The coordinator and the
// dashboard are separate entry points of the same bundle (server.js from apps/server/src/main.ts,
// dashboard.js from apps/web/server/main.ts, see ../build.mjs), loaded by their path at run time:
// this package composes the apps without importing them, so the arrows stay apps -> packages.
import { fileURLToPath } from 'node:url';
import { storeConfigOf } from '@dtx/config';
import { openDatabase } from '@dtx/db';
import { loadConfigOrExit, VERSION } from '@dtx/runtime';

const USAGE = `Usage: dtx <command> [options]

Commands:
  start       the coordinator and the dashboard in one process (SQLite by default)
  server      the coordinator alone (dtm's HTTP, JSON-RPC and gRPC APIs)
  dashboard   the dashboard alone, next to coordinators running on the same database
  migrate     apply pending database migrations and exit
  version     print the version
  help        this text

Options (start, server, dashboard, migrate):
  -c <file>   YAML configuration file (dtm's keys; see docs/configuration.md)
  -d          debug log level
Every configuration key can also be set by its environment variable (STORE_DRIVER, HTTP_PORT, ...).
'dtx <command> -h' shows a command's own options.`;

interface Entry {
  run(argv: string[], opts?: { webDir?: string; name?: string; withCoordinator?: boolean }): Promise<void>;
}

const load = (file: string): Promise<Entry> => import(new URL(file, import.meta.url).href) as Promise<Entry>;
const webDir = () => fileURLToPath(new URL('../web', import.meta.url));

function bad(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

async function migrate(argv: string[]): Promise<void> {
  const { parseArgs } = await import('node:util');
  let args;
  try {
    args = parseArgs({ args: argv, options: { c: { type: 'string' }, d: { type: 'boolean' }, h: { type: 'boolean' } } }).values;
  } catch (err) {
    bad((err as Error).message);
  }
  if (args.h) return void console.log('Usage: dtx migrate [-c conf.yml]\n  applies pending migrations to the configured store and exits');
  const config = loadConfigOrExit({ file: args.c, debug: args.d });
  const db = await openDatabase(storeConfigOf(config));
  const m = db.migration;
  await db.close();
  if (m?.adopted) console.log("adopted dtm's schema in this database");
  console.log(m?.applied.length ? `applied: ${m.applied.join(', ')}` : 'the schema is up to date');
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  switch (command) {
    case 'start':
      return (await load('./dashboard.js')).run(rest, { webDir: webDir(), name: 'dtx start', withCoordinator: true });
    case 'dashboard':
      return (await load('./dashboard.js')).run(rest, { webDir: webDir(), name: 'dtx dashboard' });
    case 'server':
      return (await load('./server.js')).run(rest);
    case 'migrate':
      return migrate(rest);
    case 'version':
    case '--version':
    case '-v':
      if (rest.length) bad(`dtx version takes no arguments`);
      return void console.log(`dtx version: ${VERSION}`);
    case 'help':
    case '--help':
    case '-h':
      return void console.log(USAGE);
    case undefined:
      return bad('no command given');
    default:
      return bad(`unknown command '${command}'`);
  }
}

main().catch((err: Error) => {
  console.error(`fatal: ${err.stack ?? err.message}`);
  process.exit(1);
});
