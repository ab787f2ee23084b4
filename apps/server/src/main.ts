// The coordinator process: `dtx server [-c conf.yml] [-d] [-v]` (in the repository `pnpm
// start:server`), configured like dtm. `run` is exported for the release CLI
// (packages/release/src/cli.ts), which loads this module's bundle and calls it; run directly, the
// module starts itself.
import cluster from 'node:cluster';
import { parseArgs } from 'node:util';
import { Gauge } from 'prom-client';
import { redacted } from '@dtx/config';
import { startCoordinator } from '@dtx/coordinator';
import { createLogger, exitOnSignals, isEntry, loadConfigOrExit, VERSION } from '@dtx/runtime';
import { groupMetrics, runPrimary, workerCount, workerIndex } from './workers.ts';

const USAGE = `Usage: dtx server [options]
  -c <file>   YAML configuration file (dtm's keys; overrides environment variables)
  -d          debug log level
  -v          print the version and exit
  -h          this help`;

/** Starts the coordinator; returns once it serves (signals then stop it). Bad arguments: usage on stderr, exit 2. */
export async function run(argv: string[]): Promise<void> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        c: { type: 'string' },
        d: { type: 'boolean' },
        v: { type: 'boolean' },
        h: { type: 'boolean' },
      },
      allowPositionals: false,
    }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (args.h) {
    console.log(USAGE);
    return;
  }
  if (args.v) {
    console.log(`dtx version: ${VERSION}`);
    return;
  }
  const config = loadConfigOrExit({ file: args.c, debug: args.d });
  const log = createLogger(config);
  const workers = workerCount(config);
  if (workers > 1 && cluster.isPrimary) {
    log.info({ config: redacted(config) }, 'configuration');
    runPrimary(workers, log);
    return;
  }
  const index = workerIndex();
  const wlog = index === null ? log : log.child({ worker: index });
  // The process alone, or the group's first worker: says what the whole group would say once.
  const first = index === null || index === 0;
  if (first) wlog.info({ config: redacted(config) }, 'configuration');
  // Signals are handled from here on: one that arrives while the coordinator is starting stops it
  // once it has started (and the process exits 0), instead of killing it half-way.
  const coordinator = startCoordinator(config, {
    logger: wlog,
    register: first,
    worker: index === null ? undefined : { index, of: workers },
  });
  exitOnSignals(wlog, async () => (await coordinator).close());
  const c = await coordinator;
  // The group's size (docs/operations.md, "Workers"): one value for the group, not a sum.
  new Gauge({
    name: 'dtx_workers',
    help: 'Coordinator processes in this process group (Workers)',
    aggregator: 'first',
    registers: [c.metrics.registry],
  }).set(index === null ? 1 : workers);
  if (index !== null) c.metrics.collect = groupMetrics(c.metrics.registry);
}

if (isEntry(import.meta.url)) {
  run(process.argv.slice(2)).catch((err: Error) => {
    console.error(`fatal: ${err.stack ?? err.message}`);
    process.exit(1);
  });
}
