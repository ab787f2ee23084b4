import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, type Config } from '@dtx/config';

/**
 * True when `moduleUrl` is the script node was started with, not a module another one imported:
 * the entry points (apps/server/src/main.ts, apps/web/server/main.ts) start themselves only then,
 * so that the release CLI can import their bundles and call `run` itself.
 */
export function isEntry(moduleUrl: string): boolean {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(fileURLToPath(moduleUrl)) === realpathSync(process.argv[1]);
  } catch {
    return false;
  }
}

/** The configuration of an entry point; an invalid one ends the process with its message and exit code 2. */
export function loadConfigOrExit(opts: { file?: string; debug?: boolean }): Config {
  try {
    return loadConfig(opts);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
}
