// The coordinator process: `dtx-server [-c conf.yml] [-d] [-v]`, configured like dtm.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, redacted } from '@dtx/config';
import { startCoordinator } from '@dtx/coordinator';
import { createLogger, exitOnSignals, VERSION } from '@dtx/runtime';

function usage(): never {
  console.log(`Usage: dtx-server [options]
  -c <file>   YAML configuration file (dtm's keys; overrides environment variables)
  -d          debug log level
  -v          print the version and exit
  -h          this help`);
  process.exit(0);
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      options: {
        c: { type: 'string' },
        d: { type: 'boolean' },
        v: { type: 'boolean' },
        h: { type: 'boolean' },
      },
      allowPositionals: false,
    }).values;
  } catch (err) {
    console.error((err as Error).message);
    usage();
  }
  if (args.h) usage();
  if (args.v) {
    console.log(`dtx version: ${VERSION}`);
    return;
  }
  let config;
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
  log.info({ config: redacted(config) }, 'configuration');
  const coordinator = await startCoordinator(config, { logger: log });
  exitOnSignals(log, () => coordinator.close());
}

main().catch((err: Error) => {
  console.error(`fatal: ${err.stack ?? err.message}`);
  process.exit(1);
});
