export { createLogger } from './log.ts';
export { exitOnSignals, type ShutdownLogger } from './shutdown.ts';
export { VERSION } from './version.ts';
export { isEntry, loadConfigOrExit } from './entry.ts';
