// Graceful shutdown on SIGTERM / SIGINT, shared by the coordinator and the dashboard processes.

/** The part of a logger shutdown needs (pino's Logger and the engine's Logger both fit). */
export interface ShutdownLogger {
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Runs `close` once on the first SIGTERM or SIGINT, then exits (1 if closing failed). */
export function exitOnSignals(log: ShutdownLogger, close: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    close().then(
      () => process.exit(0),
      (err: Error) => {
        log.error({ err: err.message }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
