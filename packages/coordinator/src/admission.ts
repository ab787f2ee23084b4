// Admission control (docs/operations.md, "Overload"). A coordinator that cannot keep up refuses
// new work at once, with a retryable answer, instead of queueing it: every request held costs
// memory and pushes the latency of all the others (and of /api/ping) up, until clients time out
// and retry into a queue that never drains. Two bounds, checked before a request is parsed:
//
//   MaxInflightSubmits  requests of the transaction API being processed (HTTP, JSON-RPC, gRPC)
//   MaxInflightPasses   passes running, API-triggered and the scheduler's (engine.inFlight())
//   MaxEventLoopLag     how late the event loop runs (LoopLag), once a few requests are in progress
//
// A submit without wait_result is answered once stored while its pass goes on, so the first
// bound alone would let passes pile up; the second bounds them. Together they bound what can wait
// for the database pool: each admitted request or pass waits for at most a few queries at a time.
// A refused request has had no effect: nothing of it is stored, so retrying it is always safe.
//
// An admitted request that finds the database unreachable waits for it, holding its slot, up to
// MaxStoreWait (and never longer than its client waits), its statements retried transparently
// (packages/db/src/store-wait.ts); past that it gets the same refusal, reason store_unavailable
// (docs/operations.md, "Database outages"). Clients thus see one retryable refusal kind.
import { limitStoreWait, withStoreWait } from '@dtx/db';
import { StoreUnavailableError, type StoreWait } from '@dtx/engine';
import type { Metrics } from './metrics.ts';

/** The operations admission applies to. */
export type AdmittedOp = 'prepare' | 'submit' | 'abort' | 'registerBranch' | 'prepareWorkflow' | 'jsonrpc';

export type RefusalReason = 'inflight_submits' | 'inflight_passes' | 'event_loop_lag' | 'store_unavailable';

export interface Refusal {
  reason: RefusalReason;
  /** For the client: what happened and that it may retry. Never says FAILURE or ONGOING, which
   *  dtm's SDKs read as the transaction's outcome (docs/compatibility.md, "Overload"). */
  message: string;
}

export interface Slot {
  /**
   * Runs the request's work: its statements (those run with the StoreWait `fn` gets) wait for an
   * unreachable database up to MaxStoreWait, or until `clientDeadline` (Date.now() ms, e.g. a gRPC
   * deadline) if sooner.
   */
  run<T>(fn: (wait: StoreWait) => Promise<T>, clientDeadline?: number): Promise<T>;
  /** Gives the slot back; later calls do nothing. */
  release(): void;
}

export interface AdmissionOptions {
  maxInflightSubmits: number;
  maxInflightPasses: number;
  /** MaxStoreWait, in ms. */
  maxStoreWaitMs: number;
  /** MaxEventLoopLag (ms), and the lag now (LoopLag.ms); absent: not checked. */
  maxLoopLagMs?: number;
  loopLagMs?: () => number;
  /** Passes running now. */
  passes: () => number;
  metrics?: Metrics;
}

export class Admission {
  private inflight = 0;

  constructor(private readonly o: AdmissionOptions) {
    o.metrics?.observeAdmission(() => this.inflight, o.passes);
  }

  /** Requests of the transaction API being processed now. */
  get inflightSubmits(): number {
    return this.inflight;
  }

  /**
   * A slot for one request, or why not. registerBranch adds a branch to a transaction already
   * admitted and starts no pass, so only the request bound applies to it; a JSON-RPC envelope is
   * refused before its method is read, so it is held to both.
   */
  enter(op: AdmittedOp): Slot | Refusal {
    const { maxInflightSubmits, maxInflightPasses } = this.o;
    if (this.inflight >= maxInflightSubmits) {
      return this.refuse(
        'inflight_submits',
        `${this.inflight} requests of the transaction API are in progress (MaxInflightSubmits=${maxInflightSubmits})`,
      );
    }
    if (op !== 'registerBranch') {
      const passes = this.o.passes();
      if (passes >= maxInflightPasses) {
        return this.refuse('inflight_passes', `${passes} transaction passes are in progress (MaxInflightPasses=${maxInflightPasses})`);
      }
      // The process cannot keep up even below the bounds (a slower machine, cores shared with
      // others): its own work delays every answer, /api/ping included. Only with some work in
      // progress, so that a lag caused by something else does not refuse a lone request.
      const { maxLoopLagMs, loopLagMs } = this.o;
      if (maxLoopLagMs !== undefined && loopLagMs && this.inflight >= LAG_MIN_INFLIGHT) {
        const lag = loopLagMs();
        if (lag > maxLoopLagMs) {
          return this.refuse('event_loop_lag', `its event loop runs ${Math.round(lag)} ms late (MaxEventLoopLag=${maxLoopLagMs})`);
        }
      }
    }
    this.inflight++;
    let held = true;
    return {
      run: async (fn, clientDeadline) => {
        const ms = Math.min(this.o.maxStoreWaitMs, clientDeadline === undefined ? Infinity : clientDeadline - Date.now() - CLIENT_MARGIN_MS);
        try {
          return await withStoreWait(ms, fn);
        } catch (err) {
          if (err instanceof StoreUnavailableError && !err.stored) this.o.metrics?.admissionRefused('store_unavailable');
          throw err;
        }
      },
      release: () => {
        if (!held) return;
        held = false;
        this.inflight--;
      },
    };
  }

  private refuse(reason: RefusalReason, why: string): Refusal {
    this.o.metrics?.admissionRefused(reason);
    return { reason, message: `dtx is overloaded: ${why}; the request was not processed and nothing was stored, retry it later` };
  }
}

/** Requests in progress from which a late event loop refuses new ones. */
const LAG_MIN_INFLIGHT = 8;

const LAG_SAMPLES = 16;

/**
 * How late the event loop runs: a timer every `periodMs`, its lateness averaged over the last
 * LAG_SAMPLES firings (about a third of a second when the loop keeps up). Timers run before the
 * loop polls for I/O, so after a long turn the requests read in the next one already see it.
 */
export class LoopLag {
  private readonly samples = new Float64Array(LAG_SAMPLES);
  private i = 0;
  private last = performance.now();
  private readonly timer: NodeJS.Timeout;

  constructor(periodMs = 20) {
    this.timer = setInterval(() => {
      const now = performance.now();
      this.samples[this.i++ % LAG_SAMPLES] = Math.max(0, now - this.last - periodMs);
      this.last = now;
    }, periodMs);
    this.timer.unref();
  }

  /** Mean lateness (ms) of the last firings. */
  get ms(): number {
    let sum = 0;
    for (const v of this.samples) sum += v;
    return sum / LAG_SAMPLES;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** An answer this much before the client's deadline still reaches it. */
const CLIENT_MARGIN_MS = 500;

/**
 * The client of this request gives up after `requestTimeout` seconds (dtm's SDKs time their calls
 * to the coordinator out at the transaction's request_timeout; 0: no timeout): wait no longer.
 */
export function clientWaits(wait: StoreWait | undefined, requestTimeout: number): void {
  if (requestTimeout > 0) limitStoreWait(wait, requestTimeout * 1000 - CLIENT_MARGIN_MS);
}

export function isRefusal(r: Slot | Refusal): r is Refusal {
  return 'reason' in r;
}
