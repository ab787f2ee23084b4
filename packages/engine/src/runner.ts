// Runs passes: one pass over one transaction under a lease token, with its branches loaded,
// dispatched to the transaction type's module, and the lease released with the schedule and
// diagnostics the pass produced. Tracks the running passes for the lease heartbeat and shutdown.
import { CasLostError, internal, ongoing, StaleLeaseError, type DtmError } from './errors.ts';
import type { HeldLease, LeaseKeeper } from './leases.ts';
import type { Logger } from './logger.ts';
import { Pass, type PassEnv, type PassTrans } from './pass.ts';
import { isFinished, type GlobalStatus } from './status.ts';
import { StoreUnavailableError, type BranchRow, type Store } from './store/port.ts';
import { findTransType } from './types/registry.ts';

/** Outcome of a pass, for callers that wait for it (wait_result). */
export interface PassOutcome {
  status: GlobalStatus;
  rollbackReason: string;
  err: DtmError | null;
}

export class PassRunner {
  /** Running passes by `<lease token>#<gid>`. */
  private readonly active = new Map<string, Promise<PassOutcome>>();

  constructor(
    private readonly env: PassEnv,
    private readonly leases: LeaseKeeper,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.active.size;
  }

  /**
   * Runs one pass under `lease`, then releases the lease. Never rejects. `store`: the request's
   * view of the store for a pass an API request started (Store.waiting), else the engine's.
   */
  run(trans: PassTrans, branches: BranchRow[], lease: HeldLease, store: Store = this.env.store): Promise<PassOutcome> {
    const key = `${lease.token}#${trans.gid}`;
    this.leases.keepAlive();
    const env = store === this.env.store ? this.env : { ...this.env, store };
    const run = this.pass(env, trans, branches, lease).finally(() => {
      this.active.delete(key);
      this.leases.drop(lease);
    });
    this.active.set(key, run);
    return run;
  }

  /** Waits for the running passes, at most `graceMs`. */
  async drain(graceMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), graceMs)));
    try {
      while (this.active.size > 0) {
        const all = Promise.allSettled([...this.active.values()]).then(() => 'done' as const);
        if ((await Promise.race([all, deadline])) === 'timeout') break;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  private async pass(env: PassEnv, trans: PassTrans, branches: BranchRow[], lease: HeldLease): Promise<PassOutcome> {
    const { store, clock } = env;
    const token = lease.token;
    let err: DtmError | null;
    let pass: Pass | null = null;
    let fenced = false;
    /** Why the pass stopped before it could finish its work, for the dashboard ('' when it did not). */
    let aborted = '';
    try {
      const type = findTransType(trans.transType);
      if (!type) throw new Error(`unknow trans type: ${trans.transType}`);
      pass = new Pass(env, trans, branches, lease, type);
      err = await type.process(pass);
      if (err && err.kind !== 'ongoing') {
        this.log.warn({ gid: trans.gid, err: err.message }, 'pass ended with a branch error; will retry');
      }
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      // The database stopped answering during the pass: the transaction stays as stored and a
      // later pass carries it on; a client waiting for the result learns that it is still in
      // progress, not a failure (docs/operations.md, "Database outages").
      err =
        e instanceof StoreUnavailableError
          ? ongoing(`the database stopped answering during the pass; the transaction is stored and will be carried on: ${message}`)
          : internal(`dtm panic: ${message}`);
      // A pass that could not be sure of its lease leaves it to expire: another instance may
      // hold the transaction already, and nothing this pass learnt is written under a lost lease.
      fenced = e instanceof StaleLeaseError;
      this.log.error({ gid: trans.gid, err: message, fenced }, 'pass aborted');
      // A lost race (another actor moved the global on) is no fault of the transaction's.
      if (!(e instanceof CasLostError || fenced)) aborted = `pass aborted: ${message}`;
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
    if (!isFinished(status) && !fenced) {
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
            streak: pass?.streakChanged ? pass.streak : undefined,
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
