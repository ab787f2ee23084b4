import { readFileSync } from 'node:fs';

/** The coordinator's version (this package's package.json; every workspace package carries the same version), reported by /api/dtmsvr/version. */
export const VERSION = `v${(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version}`;
