// Structured JSON logs (pino) to the outputs named by Log.Outputs: stderr, stdout or file paths.
import pino, { type Logger } from 'pino';
import type { Config } from '@dtx/config';

export function createLogger(c: Config): Logger {
  const outputs = c.Log.Outputs.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const streams = (outputs.length ? outputs : ['stderr']).map((o) => ({
    level: c.LogLevel as pino.Level,
    stream: o === 'stderr' ? pino.destination(2) : o === 'stdout' ? pino.destination(1) : pino.destination({ dest: o, mkdir: true, sync: false }),
  }));
  return pino({ level: c.LogLevel, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, pino.multistream(streams));
}
