// Admission control (docs/operations.md, "Overload"). A coordinator that cannot keep up refuses
// new work at once, with a retryable answer, instead of queueing it: every request held costs
// memory and pushes the latency of all the others (and of /api/ping) up, until clients time out
// and retry into a queue that never drains. Two bounds, checked before a request is parsed:
//
//   MaxInflightSubmits  requests of the transaction API being processed (HTTP, JSON-RPC, gRPC)
//   MaxInflightPasses   passes running, API-triggered and the scheduler's (engine.inFlight())
//
// A submit without wait_result is answered once stored while its pass goes on, so the first
// bound alone would let passes pile up; the second bounds them. Together they bound what can wait
// for the database pool: each admitted request or pass waits for at most a few queries at a time.
// A refused request has had no effect: nothing of it is stored, so retrying it is always safe.
import type { Metrics } from './metrics.ts';

/** The operations admission applies to. */
export type AdmittedOp = 'prepare' | 'submit' | 'abort' | 'registerBranch' | 'prepareWorkflow' | 'jsonrpc';

export type RefusalReason = 'inflight_submits' | 'inflight_passes';

export interface Refusal {
  reason: RefusalReason;
  /** For the client: what happened and that it may retry. Never says FAILURE or ONGOING, which
   *  dtm's SDKs read as the transaction's outcome (docs/compatibility.md, "Overload"). */
  message: string;
}

export interface Slot {
  /** Gives the slot back; later calls do nothing. */
  release(): void;
}

export interface AdmissionOptions {
  maxInflightSubmits: number;
  maxInflightPasses: number;
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
    }
    this.inflight++;
    let held = true;
    return {
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

export function isRefusal(r: Slot | Refusal): r is Refusal {
  return 'reason' in r;
}
