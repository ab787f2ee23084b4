// Runs passes: one pass over one transaction under a lease token, with its branches loaded,
// dispatched to the transaction type's module, and the lease released with the schedule and
// diagnostics the pass produced. Tracks the running passes for the lease heartbeat and shutdown.
import { CasLostError, internal, StaleLeaseError, type DtmError } from './errors.ts';
import type { LeaseKeeper, RunningPasses } from './leases.ts';
import type { Logger } from './logger.ts';
import { Pass, type PassEnv, type PassTrans } from './pass.ts';
import { isFinished, type GlobalStatus } from './status.ts';
import type { BranchRow } from './store/port.ts';
import { findTransType } from './types/registry.ts';

/** Outcome of a pass, for callers that wait for it (wait_result). */
export interface PassOutcome {
  status: GlobalStatus;
  rollbackReason: string;
  err: DtmError | null;
}

interface Running {
  token: string;
  run: Promise<PassOutcome>;
  since: number;
}

export class PassRunner implements RunningPasses {
  /** Running passes by `<lease token>#<gid>`. */
  private readonly active = new Map<string, Running>();

  constructor(
    private readonly env: PassEnv,
    private readonly leases: LeaseKeeper,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.active.size;
  }

  tokensStartedBy(since: number): string[] {
    return [...new Set([...this.active.values()].filter((a) => a.since <= since).map((a) => a.token))];
  }

  /** Runs one pass under the lease `token`, then releases the lease. Never rejects. */
  run(trans: PassTrans, branches: BranchRow[], token: string): Promise<PassOutcome> {
    const key = `${token}#${trans.gid}`;
    const run = this.pass(trans, branches, token).finally(() => {
      this.active.delete(key);
    });
    this.active.set(key, { token, run, since: this.env.clock.now().getTime() });
    this.leases.keepAlive(this);
    return run;
  }

  /** Waits for the running passes, at most `graceMs`. */
  async drain(graceMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), graceMs)));
    try {
      while (this.active.size > 0) {
        const all = Promise.allSettled([...this.active.values()].map((a) => a.run)).then(() => 'done' as const);
        if ((await Promise.race([all, deadline])) === 'timeout') break;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  private async pass(trans: PassTrans, branches: BranchRow[], token: string): Promise<PassOutcome> {
    const { store, clock } = this.env;
    let err: DtmError | null = null;
    let pass: Pass | null = null;
    /** Why the pass stopped before it could finish its work, for the dashboard ('' when it did not). */
    let aborted = '';
    try {
      const type = findTransType(trans.transType);
      if (!type) throw new Error(`unknow trans type: ${trans.transType}`);
      pass = new Pass(this.env, trans, branches, token, type);
      err = await type.process(pass);
      if (err && err.kind !== 'ongoing') {
        this.log.warn({ gid: trans.gid, err: err.message }, 'pass ended with a branch error; will retry');
      }
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      err = internal(`dtm panic: ${message}`);
      this.log.error({ gid: trans.gid, err: message }, 'pass aborted');
      // A lost race (another actor moved the global on) is no fault of the transaction's.
      if (!(e instanceof CasLostError || e instanceof StaleLeaseError)) aborted = `pass aborted: ${message}`;
    }
    this.env.metrics?.pass(trans.transType, err === null, (clock.now().getTime() - trans.createTime.getTime()) / 1000);
    const status = pass?.status ?? trans.status;
    const unwritten = pass?.unwrittenResults() ?? [];
    if (isFinished(status) && unwritten.length > 0) {
      // Calls that answered after the final status change: still facts worth recording.
      await store.recordBranches(trans.gid, unwritten, clock.now(), status, '').catch((e: Error) => {
        this.log.warn({ gid: trans.gid, err: e.message }, 'could not record late branch results');
      });
    }
    if (!isFinished(status)) {
      const s = pass?.schedule;
      try {
        await store.endPass(
          trans.gid,
          token,
          {
            status,
            nextCronTime: s?.touched ? s.nextCronTime : null,
            nextCronInterval: s?.touched ? s.interval : null,
            errors: pass?.errors ?? 0,
            lastError: aborted || (pass?.lastError ?? ''),
            branches: unwritten,
          },
          clock.now(),
        );
      } catch (e) {
        // The lease expires by itself; the transaction is retried then.
        this.log.error({ gid: trans.gid, err: (e as Error).message }, 'could not release lease');
      }
    }
    return { status, rollbackReason: trans.rollbackReason, err };
  }
}
