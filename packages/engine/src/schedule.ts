// Retry timing (dtm's scheduling rules), as pure functions over plain values so that back-off is
// tested without sleeping. Each type's timeout is its module's timeoutLimit (types/).
import type { TransOptions } from './model.ts';

export interface ServerTiming {
  /** Conf.RetryInterval: base retry interval and claim lease, seconds. */
  retryInterval: number;
  /** Conf.TimeoutToFail: default timeout of tcc, xa and prepared msg, seconds. */
  timeoutToFail: number;
}

/** The "reset" interval of a transaction. */
export function baseInterval(o: TransOptions, server: ServerTiming): number {
  if (o.retryInterval !== 0) return o.retryInterval;
  if (o.timeoutToFail > 0 && o.timeoutToFail < server.retryInterval) return o.timeoutToFail;
  return server.retryInterval;
}

export type TouchKind = 'reset' | 'keep' | 'backoff';

export interface Schedule {
  /** Current retry interval, seconds. */
  interval: number;
  nextCronTime: Date;
  /** When the schedule was last touched (pass start, or the last touch). */
  lastTouched: Date;
  /** Whether any touch happened (only then is the schedule written back). */
  touched: boolean;
}

/** Applies one touch; `delaySeconds` overrides the next time only (msg delay). */
export function touch(s: Schedule, kind: TouchKind, base: number, now: Date, delaySeconds = 0): Schedule {
  const interval = kind === 'backoff' ? s.interval * 2 : kind === 'keep' ? s.interval : base;
  const next = new Date(now.getTime() + (delaySeconds > 0 ? delaySeconds : interval) * 1000);
  return { interval, nextCronTime: next, lastTouched: now, touched: true };
}

/**
 * After a successful call dtm resets the interval only if 1.5 s passed since the last touch or the
 * interval had been backed off; otherwise it writes nothing.
 */
export function shouldResetAfterSuccess(s: Schedule, o: TransOptions, server: ServerTiming, now: Date): boolean {
  return now.getTime() - s.lastTouched.getTime() >= 1500 || (s.interval > server.retryInterval && s.interval > o.retryInterval);
}

/** dtm's retry count for alerts: floor(log2(interval / base)). */
export function retryCountOf(interval: number, base: number): number {
  if (base <= 0 || interval <= base) return 0;
  return Math.floor(Math.log2(interval / base));
}
