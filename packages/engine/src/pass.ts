// One processing pass over a global transaction: the "doing" half of the engine. Processors
// (saga/, msg.ts, tcc.ts, ...) decide what to call; a Pass carries the calls out, records each
// attempt and branch result, keeps the retry schedule, and changes the global status with a
// compare-and-set fenced by the pass's lease.
import type { BranchCall, BranchTransport, CallResult } from './calls/types.ts';
import { CasLostError, DtmError, ongoing } from './errors.ts';
import { decodeExtHeaders } from './options.ts';
import { baseInterval, retryCountOf, shouldResetAfterSuccess, touch, type Schedule, type ServerTiming, type TouchKind } from './schedule.ts';
import { assertBranchTransition, assertTransition, isFinished, Status, type GlobalStatus } from './status.ts';
import { NO_STREAK, type BranchResult, type BranchRow, type CallStreak, type GlobalRow, type Store } from './store/port.ts';
import { answerOf, endpointOf } from './endpoint.ts';
import type { HeldLease, LeaseKeeper } from './leases.ts';
import type { Clock } from './clock.ts';
import type { TransOptions } from './model.ts';

/**
 * What a pass asks of its transaction's type (the type's module implements it: types/module.ts).
 */
export interface PassRules {
  /** Seconds after creation at which an unfinished transaction times out; 0 = never. */
  timeoutLimit(o: TransOptions, server: ServerTiming): number;
  /** Whether a FAILURE answer to an `op` call settles that branch as failed (else it is retried). */
  failureSettles(op: string): boolean;
  /** HTTP branch calls are POSTs even with an empty payload. */
  readonly postWithoutPayload?: boolean;
}

export interface PassTiming extends ServerTiming {
  /** Conf.RequestTimeout, seconds. */
  requestTimeout: number;
  /** Conf.AlertRetryLimit */
  alertRetryLimit: number;
}

export interface AttemptSink {
  record(gid: string, call: BranchCall, result: CallResult): void;
}

/** Counters the engine reports (Prometheus in the server). */
export interface EngineMetrics {
  /** One processing pass ended; `ok` when it returned no error. */
  pass(model: string, ok: boolean, secondsSinceCreate: number): void;
  /** One branch call ended; `ok` when the branch became succeed. */
  branch(model: string, branchId: string, op: string, ok: boolean): void;
  /** One call to a branch endpoint (endpoint.ts) answered with `outcome`. */
  call?(endpoint: string, outcome: CallResult['outcome']): void;
}

export interface PassEnv {
  store: Store;
  /** Keeps the pass's lease long enough for each call, or stops the pass. */
  leases: LeaseKeeper;
  caller: BranchTransport;
  timing: PassTiming;
  clock: Clock;
  attempts: AttemptSink;
  /** Alert webhook (fire and forget), called after a back-off from the alert threshold on. */
  alert?: (body: { gid: string; status: string; branch: string; error: string; retry_count: number }) => void;
  metrics?: EngineMetrics;
}

/** The global as a pass sees it: the stored row plus decoded options. */
export interface PassTrans {
  gid: string;
  transType: string;
  status: GlobalStatus;
  protocol: string;
  queryPrepared: string;
  customData: string;
  rollbackReason: string;
  createTime: Date;
  options: TransOptions;
  extHeaders: Record<string, string>;
  nextCronInterval: number;
  nextCronTime: Date;
  /** The stored run of call answers (stuck view); none for a transaction's first pass. */
  streak?: CallStreak;
}

export function passTransFromRow(row: GlobalRow, options: TransOptions): PassTrans {
  return {
    gid: row.gid,
    transType: row.transType,
    status: row.status,
    protocol: row.protocol,
    queryPrepared: row.queryPrepared,
    customData: row.customData,
    rollbackReason: row.rollbackReason,
    createTime: row.createTime ?? new Date(),
    options,
    extHeaders: decodeExtHeaders(row.extData),
    nextCronInterval: row.nextCronInterval ?? 0,
    nextCronTime: row.nextCronTime ?? new Date(),
    streak: {
      failSince: row.failSince,
      failStreak: row.failStreak,
      ongoingSince: row.ongoingSince,
      failEndpoint: row.failEndpoint,
      failDetail: row.failDetail,
    },
  };
}

/** The run of answers after one more call (see CallStreak). */
export function nextStreak(s: CallStreak, url: string, r: Pick<CallResult, 'outcome' | 'httpStatus' | 'grpcCode' | 'message'>, at: Date): CallStreak {
  if (r.outcome === 'success') return { ...NO_STREAK };
  const endpoint = endpointOf(url);
  const detail = answerOf(r);
  if (r.outcome === 'ongoing') {
    return { ...NO_STREAK, ongoingSince: s.ongoingSince ?? at, failEndpoint: endpoint, failDetail: detail };
  }
  return {
    failSince: s.failSince ?? at,
    failStreak: s.failStreak + 1,
    ongoingSince: null,
    failEndpoint: endpoint,
    failDetail: detail,
  };
}

/** What a processor gets back from executing one branch (dtm's execBranch). */
export interface ExecResult {
  /** New branch status when the call settled it (succeed, or failed where the type says so). */
  status: typeof Status.Succeed | typeof Status.Failed | null;
  /** Error of the call: ONGOING, or a FAILURE/error to retry (null when settled). */
  err: DtmError | null;
  /** Saga action FAILURE: `url:<URL> return failed: <answer> FAILURE` */
  failureMessage?: string;
}

/**
 * Branch results are written with the pass's next write to the global (its status change, or the
 * release of its lease), in one database transaction: a two-step saga then costs two commits
 * instead of four. A pass that runs longer writes them sooner: before each branch call once the
 * pass is this old, and while a branch call has been running this long. So a slow pass notices an
 * operator's abort between its steps, and a crash during a slow call does not lose the results
 * before it. A crash loses at most the results of the last BRANCH_FLUSH_MS: those branches are
 * called again (branches are idempotent, as dtm requires; dtm's UpdateBranchSync=0 makes the same
 * trade).
 */
export const BRANCH_FLUSH_MS = 250;

const RESULT_SPEC_PREFIX =
  'your http/grpc result should be specified as in:\nhttp://d.dtm.pub/practice/arch.html#proto\nunkown result will be retried: ';

export class Pass {
  /** The lease token: status changes and branch results are written only while it holds the row. */
  readonly token: string;
  schedule: Schedule;
  errors = 0;
  lastError = '';
  /** The run of call answers (stuck view), as stored before the pass and then after each call. */
  streak: CallStreak;
  /** Whether a call of this pass changed `streak` (else the stored one is left alone). */
  streakChanged = false;
  private readonly base: number;
  /** Branch results not written yet, oldest first. */
  private pending: { result: BranchResult }[] = [];
  /** Writes of pending results run one at a time. */
  private writing: Promise<unknown> = Promise.resolve();
  private readonly startedAt: number;
  /** Set when a background write found that the global moved on. */
  private stale = false;

  constructor(
    readonly env: PassEnv,
    readonly trans: PassTrans,
    readonly branches: BranchRow[],
    /** The lease the pass holds: status changes are fenced by its token, calls by its deadline. */
    readonly lease: HeldLease,
    /** The transaction's type: what it decides is asked of its module. */
    readonly type: PassRules,
  ) {
    this.token = lease.token;
    this.startedAt = env.clock.now().getTime();
    this.base = baseInterval(trans.options, env.timing);
    this.streak = trans.streak ?? { ...NO_STREAK };
    this.schedule = {
      interval: trans.nextCronInterval || this.base,
      nextCronTime: trans.nextCronTime,
      lastTouched: env.clock.now(),
      touched: false,
    };
  }

  now(): Date {
    return this.env.clock.now();
  }

  get status(): GlobalStatus {
    return this.trans.status;
  }

  isTimedOut(): boolean {
    const limit = this.type.timeoutLimit(this.trans.options, this.env.timing);
    return limit > 0 && this.now().getTime() - this.trans.createTime.getTime() >= limit * 1000;
  }

  /** dtm's needProcess: unfinished work exists now. */
  needProcess(): boolean {
    const s = this.trans.status;
    return s === Status.Submitted || s === Status.Aborting || (s === Status.Prepared && this.isTimedOut());
  }

  /**
   * Compare-and-set of the global status from what this pass believes it is. Losing the race
   * (another actor changed it, or the lease was lost) aborts the pass like dtm's panic does.
   */
  async changeStatus(to: GlobalStatus, rollbackReason?: string): Promise<void> {
    const from = this.trans.status;
    assertTransition(from, to);
    const ok = await this.withPending((branches) =>
      this.env.store.changeStatus(this.trans.gid, from, to, this.now(), {
        branches,
        rollbackReason,
        owner: this.token,
        release: isFinished(to),
        errors: isFinished(to) ? this.errors : undefined,
        lastError: isFinished(to) ? this.lastError : undefined,
        // A finished transaction is stuck on nothing. Cleared only when there is something to
        // clear: SQLite rewrites an index entry for every indexed column the UPDATE assigns.
        streak: isFinished(to) && this.hasStreak() ? { ...NO_STREAK } : undefined,
      }),
    );
    if (!ok) throw new CasLostError(this.trans.gid, from, to);
    this.trans.status = to;
    if (rollbackReason) this.trans.rollbackReason = rollbackReason;
  }

  /** Whether the stored row may hold a run of call answers: this pass changed it, or it was read with one. */
  private hasStreak(): boolean {
    if (this.streakChanged) return true;
    const s = this.trans.streak;
    return s !== undefined && (s.failSince !== null || s.failStreak !== 0 || s.ongoingSince !== null || s.failEndpoint !== '' || s.failDetail !== '');
  }

  /**
   * Runs a store write that records the pending branch results; they count as written once it
   * resolves (whatever else it reports), and stay pending if it throws.
   */
  private withPending<T>(write: (branches: BranchResult[]) => Promise<T>): Promise<T> {
    const run = this.writing.then(async () => {
      const batch = this.pending.slice();
      const out = await write(batch.map((p) => p.result));
      this.pending.splice(0, batch.length);
      return out;
    });
    this.writing = run.catch(() => undefined);
    return run;
  }

  /** Branch results not written yet (the engine writes them when it releases the lease). */
  unwrittenResults(): BranchResult[] {
    return this.pending.map((p) => p.result);
  }

  /** Writes the pending results; false when the global moved on (the pass is stale). */
  private flush(): Promise<boolean> {
    return this.withPending((branches) =>
      branches.length === 0
        ? Promise.resolve(true)
        : this.env.store.recordBranches(this.trans.gid, branches, this.now(), this.trans.status, this.token),
    );
  }

  /** In a pass that has run a while, writes pending results; stops the pass if the global moved on. */
  private async flushStale(): Promise<void> {
    // The global moved on (an operator aborted or stopped it) or another pass holds it: a lost
    // compare-and-set; the pass ends and releases what is still its own.
    if (this.stale) throw new CasLostError(this.trans.gid, this.trans.status, this.trans.status);
    if (this.pending.length === 0 || this.now().getTime() - this.startedAt < BRANCH_FLUSH_MS) return;
    // An operator aborted or stopped the transaction, or the lease was lost: this pass is stale.
    if (!(await this.flush())) throw new CasLostError(this.trans.gid, this.trans.status, this.trans.status);
  }

  touch(kind: TouchKind, delaySeconds = 0): void {
    this.schedule = touch(this.schedule, kind, this.base, this.now(), delaySeconds);
  }

  private callFor(url: string, branchId: string, op: string, payload: Buffer | null): BranchCall {
    const o = this.trans.options;
    return {
      gid: this.trans.gid,
      transType: this.trans.transType,
      branchId,
      op,
      url,
      payload: payload ?? Buffer.alloc(0),
      protocol: this.trans.protocol,
      headers: { ...this.trans.extHeaders, ...o.branchHeaders },
      post: this.type.postWithoutPayload === true || (payload !== null && payload.length > 0),
      timeoutMs: (o.requestTimeout || this.env.timing.requestTimeout) * 1000,
    };
  }

  /**
   * Calls a URL that is not a stored branch (msg query-prepared, workflow resume), and every
   * branch through exec. Never once the lease may have run out: see leases.ts.
   */
  async callUrl(url: string, branchId: string, op: string, payload: Buffer | null): Promise<CallResult> {
    const call = this.callFor(url, branchId, op, payload);
    if (call.url !== '') await this.env.leases.ensure(this.lease, call.timeoutMs);
    const calledAt = this.now();
    const result = await this.env.caller.call(call);
    if (result.transport !== 'none') {
      this.env.attempts.record(this.trans.gid, call, result);
      this.streak = nextStreak(this.streak, call.url, result, calledAt);
      this.streakChanged = true;
      this.env.metrics?.call?.(endpointOf(call.url), result.outcome);
    }
    return result;
  }

  /** dtm's execBranch: call, settle the branch row, touch the schedule. */
  async exec(branch: BranchRow): Promise<ExecResult> {
    await this.flushStale();
    // While a slow call runs, write what the pass has learnt so far.
    const timer = setTimeout(() => {
      this.flush().then(
        (ok) => (this.stale ||= !ok),
        () => undefined, // a failed write leaves the results pending for the next one
      );
    }, BRANCH_FLUSH_MS);
    let result: CallResult;
    try {
      result = await this.callUrl(branch.url, branch.branchId, branch.op, branch.binData);
    } finally {
      clearTimeout(timer);
    }
    let out: ExecResult;
    if (result.outcome === 'success') {
      out = { status: Status.Succeed, err: null };
    } else if (result.outcome === 'failure' && this.type.failureSettles(branch.op)) {
      out = { status: Status.Failed, err: null, failureMessage: `url:${branch.url} return failed: ${result.message}` };
    } else if (result.outcome === 'ongoing') {
      out = { status: null, err: ongoing() };
    } else {
      out = {
        status: null,
        err: new DtmError(RESULT_SPEC_PREFIX + result.message, result.outcome === 'failure' ? 'failure' : 'error'),
      };
    }
    this.env.metrics?.branch(this.trans.transType, branch.branchId, branch.op, out.status === Status.Succeed);
    if (out.status) {
      assertBranchTransition(branch.status, out.status);
      this.pending.push({ result: { branchId: branch.branchId, op: branch.op, status: out.status } });
      branch.status = out.status;
    }
    if (out.err === null) {
      if (shouldResetAfterSuccess(this.schedule, this.trans.options, this.env.timing, this.now())) this.touch('reset');
    } else if (out.err.kind === 'ongoing') {
      this.touch('keep');
    } else {
      this.touch('backoff');
      this.errors++;
      this.lastError = `${branch.branchId}/${branch.op} ${branch.url}: ${result.message}`;
      const retryCount = retryCountOf(this.schedule.interval, this.base);
      if (this.env.alert && retryCount >= this.env.timing.alertRetryLimit) {
        this.env.alert({
          gid: this.trans.gid,
          status: this.trans.status,
          branch: branch.url,
          error: out.err.message,
          retry_count: retryCount,
        });
      }
    }
    return out;
  }

  /** Records a failed call that is not a branch (query-prepared) for the dashboard's last error. */
  noteError(what: string, message: string): void {
    this.errors++;
    this.lastError = `${what}: ${message}`;
  }
}
