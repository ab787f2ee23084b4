// Riding out a database outage (docs/operations.md, "Database outages"). A statement that could
// not reach the server (no connection could be had: refused, or none free in time, or the server
// has answered nothing for a while) never ran, so running it again later is always safe. Instead
// of failing at once, each such statement waits for the database to come back and runs then, up
// to a deadline:
//
// - a request of the transaction API has a StoreWait (newStoreWait) that the engine passes to the
//   store (`store.waiting(wait)`): its deadline is the coordinator's MaxStoreWait, shortened to
//   what its client waits (dtm's SDKs time their calls out at the transaction's request_timeout;
//   gRPC clients send a deadline);
// - everything else (scheduler passes, heartbeats, retention) waits BACKGROUND_WAIT_MS.
//
// The wait is passed explicitly, not through AsyncLocalStorage: on Node 20 that enables promise
// hooks for the whole process, which cost 7.5% of the coordinator's CPU per saga
// (docs/benchmarks.md).
//
// Past the deadline the statement fails with StoreUnavailableError, which the transports answer
// as a retryable refusal. A statement already sent on a connection is never abandoned: its
// outcome would be unknown.
import { StoreUnavailableError, type StoreWait } from './types.ts';

/** How long work outside any request waits for an unreachable database (as MariaDB's pool did). */
export const BACKGROUND_WAIT_MS = 20_000;

/** After this long without any statement answered while some are waiting, the database counts as stalled. */
export const STALL_MS = 2_000;

/** Least time between two probes of a stalled database. */
const PROBE_MS = 1_000;
const PROBE_TIMEOUT_MS = 5_000;

/** A request's wait: its statements wait at most `ms` for an unreachable database. */
export function newStoreWait(ms: number): StoreWait {
  return { deadline: performance.now() + Math.max(0, ms), wrote: false, done: false };
}

/** Runs `fn` with a new wait of `ms`, which ends (becomes background) when `fn` settles. */
export async function withStoreWait<T>(ms: number, fn: (wait: StoreWait) => Promise<T>): Promise<T> {
  const w = newStoreWait(ms);
  try {
    return await fn(w);
  } finally {
    w.done = true;
  }
}

/** Shortens `wait` to at most `ms` from now (the client will not wait longer). */
export function limitStoreWait(wait: StoreWait | undefined, ms: number): void {
  if (wait) wait.deadline = Math.min(wait.deadline, performance.now() + Math.max(0, ms));
}

/**
 * Whether the database answers: statements pending and none answered for STALL_MS means it has
 * stopped answering (frozen, or a network partition: connections hang instead of failing). New
 * statements then wait for an answer to any pending one, rather than being sent into the void
 * on an idle connection where they would hang too, their outcome unknown.
 */
export class Liveness {
  private pending = 0;
  private lastAnswer = performance.now();
  private waiters: (() => void)[] = [];
  private probing = false;

  /**
   * `probe` asks the server something trivial: while stalled, one probe at a time (at most every
   * PROBE_MS), so that a single statement hung on a dead connection cannot hold the others back
   * when the server itself answers.
   */
  constructor(
    private readonly probe?: () => Promise<unknown>,
    private readonly stallMs = STALL_MS,
  ) {}

  stalled(): boolean {
    const stalled = this.pending > 0 && performance.now() - this.lastAnswer > this.stallMs;
    if (stalled && this.probe && !this.probing) {
      this.probing = true;
      const done = () => setTimeout(() => (this.probing = false), PROBE_MS).unref();
      // A probe that hangs too (the server is frozen) leaves room for the next one after PROBE_TIMEOUT_MS.
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('probe timed out')), PROBE_TIMEOUT_MS).unref());
      Promise.race([this.probe(), timeout]).then(
        () => {
          done();
          this.answer();
        },
        () => done(),
      );
    }
    return stalled;
  }

  begin(): void {
    if (this.pending === 0) this.lastAnswer = performance.now();
    this.pending++;
  }

  /** `answered`: the server answered (a result or an SQL error), not a connection failure. */
  end(answered: boolean): void {
    this.pending--;
    if (answered) this.answer();
  }

  private answer(): void {
    this.lastAnswer = performance.now();
    const w = this.waiters;
    this.waiters = [];
    for (const wake of w) wake();
  }

  /** Resolves at the next answer, or after `ms`. */
  answered(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

export interface GuardOptions {
  live?: Liveness;
  /** The statement writes: once it has succeeded the context has stored something. */
  write: boolean;
  /** The error means the statement never reached the server. */
  unreachable: (err: unknown) => boolean;
  /** The error is a deadlock or lock-wait timeout: the statement was rolled back whole. */
  deadlock: (err: unknown) => boolean;
}

const DEADLOCK_ATTEMPTS = 5;

/**
 * Runs one statement (or transaction): waits while the database is stalled, runs it, retries it
 * after a pause when it could not reach the server (until the deadline) and when it lost a
 * deadlock (a few times, with a short random pause so that the two sides do not meet again).
 * `wait` is the request's (absent or done: background). `fn` gets the deadline, to bound its wait
 * for a pooled connection.
 */
export async function guarded<T>(o: GuardOptions, wait: StoreWait | undefined, fn: (deadline: number) => Promise<T>): Promise<T> {
  const ctx = wait && !wait.done ? wait : undefined;
  const deadline = ctx?.deadline ?? performance.now() + BACKGROUND_WAIT_MS;
  const started = performance.now();
  const giveUp = (why: string, cause?: unknown): never => {
    const waited = ((performance.now() - started) / 1000).toFixed(1);
    throw new StoreUnavailableError(`${why}; waited ${waited} s for it`, { cause, stored: ctx?.wrote ?? false });
  };
  for (let attempt = 1, pause = 50; ; attempt++) {
    while (o.live?.stalled()) {
      const left = deadline - performance.now();
      if (left <= 0) giveUp(`the database has answered no statement for more than ${STALL_MS / 1000} s`);
      await o.live.answered(Math.min(left, 250));
    }
    o.live?.begin();
    try {
      const out = await fn(deadline);
      o.live?.end(true);
      if (o.write && ctx) ctx.wrote = true;
      return out;
    } catch (err) {
      const unreachable = o.unreachable(err);
      o.live?.end(!unreachable);
      if (unreachable) {
        const left = deadline - performance.now();
        if (left <= pause) giveUp((err as Error).message, err);
        await new Promise((r) => setTimeout(r, pause));
        pause = Math.min(pause * 2, 1000);
        continue;
      }
      if (!o.deadlock(err) || attempt >= DEADLOCK_ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
    }
  }
}

/** An error that a pooled connection could not be had by `deadline` (the statement was not sent). */
export class AcquireTimeout extends Error {
  readonly code = 'DTX_ACQUIRE_TIMEOUT';
  constructor(ms: number) {
    super(`no database connection could be had within ${(ms / 1000).toFixed(1)} s`);
  }
}

const MIN_ACQUIRE_MS = 100;

/**
 * Waits for `acquiring` (a pooled connection) until `deadline`; a connection that arrives after
 * the caller gave up goes back to the pool through `release`.
 */
export async function acquireBy<C>(acquiring: Promise<C>, deadline: number, release: (c: C) => void): Promise<C> {
  // Even a request out of time gets a moment for a connection that is free now.
  const ms = Math.max(MIN_ACQUIRE_MS, deadline - performance.now());
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AcquireTimeout(ms)), ms);
  });
  try {
    return await Promise.race([acquiring, timeout]);
  } catch (err) {
    acquiring.then(release, () => undefined);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
