// The coordinator's engine: the operations of dtm's API (prepare, submit, abort, registerBranch,
// ...) and the passes that drive transactions forward. Transports call these methods and map the
// DtmErrors they throw to status codes; nothing here knows HTTP or gRPC.
//
// Concurrency model. Every pass holds a lease on its global row (owner = lease token,
// lease_expire), renewed by a heartbeat while it runs and released when it ends. A row is
// claimed by the scheduler only when it is due and its lease is free or expired, so two
// instances never process one transaction at once, and a killed instance's transactions are
// picked up once its leases expire. Status changes are compare-and-set on the old status and
// fenced by the lease token.
import { randomBytes } from 'node:crypto';
import { StoreError, type BranchRow, type GlobalQuery, type GlobalRow, type NewBranch, type Store } from '@dtx/db';
import { AttemptWriter } from './attempts.ts';
import type { BranchTransport } from './calls/types.ts';
import { badRequest, DtmError, failure, internal, STORAGE_NOT_FOUND } from './errors.ts';
import { newGid } from './gid.ts';
import { silentLogger, type Logger } from './logger.ts';
import { processMsg } from './msg.ts';
import { decodeOptions, encodeOptions } from './options.ts';
import { Pass, passTransFromRow, systemClock, type Clock, type EngineMetrics, type PassEnv, type PassTrans } from './pass.ts';
import { checkGid, checkTransRequest, generateBranches, noTopics, registrationBranches, type TopicResolver } from './request.ts';
import { processSaga } from './saga/process.ts';
import { baseInterval } from './schedule.ts';
import { processTcc, processXa } from './tcc.ts';
import { isFinished, Status, type BranchRegistration, type TransRequest } from './types.ts';
import { processWorkflow } from './workflow.ts';

export interface EngineConfig {
  /** Conf.RetryInterval (s): base retry interval, and the length of a lease. */
  retryInterval: number;
  /** Conf.TimeoutToFail (s) */
  timeoutToFail: number;
  /** Conf.RequestTimeout (s) */
  requestTimeout: number;
  /** Conf.TransCronInterval (s): how often an idle scheduler looks for due transactions. */
  transCronInterval: number;
  alertRetryLimit: number;
  alertWebHook: string;
  /** Most passes the scheduler runs at once (recovery after an outage runs this many in parallel). */
  cronConcurrency: number;
}

export const defaultEngineConfig: EngineConfig = {
  retryInterval: 10,
  timeoutToFail: 35,
  requestTimeout: 3,
  transCronInterval: 3,
  alertRetryLimit: 3,
  alertWebHook: '',
  cronConcurrency: 64,
};

export interface EngineDeps {
  store: Store;
  caller: BranchTransport;
  config?: Partial<EngineConfig>;
  clock?: Clock;
  logger?: Logger;
  topics?: TopicResolver;
  instanceId?: string;
  metrics?: EngineMetrics;
}

/** Outcome of a pass, for callers that wait for it (wait_result). */
export interface PassOutcome {
  status: string;
  rollbackReason: string;
  err: DtmError | null;
}

type Processor = (p: Pass) => Promise<DtmError | null>;

const PROCESSORS: Record<string, Processor> = {
  saga: processSaga,
  msg: processMsg,
  tcc: processTcc,
  xa: processXa,
  workflow: processWorkflow,
};

export class Engine {
  readonly instanceId: string;
  readonly config: EngineConfig;
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly topics: TopicResolver;
  private readonly attempts: AttemptWriter;
  private readonly env: PassEnv;
  private seq = 0;
  /** Running passes by `<lease token>#<gid>` (rows of one scheduler claim share a token). */
  private readonly active = new Map<string, { token: string; run: Promise<PassOutcome>; since: number }>();
  private heartbeat: NodeJS.Timeout | null = null;
  private cronRunning = false;
  private cronLoop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private cronActive = 0;

  constructor(deps: EngineDeps) {
    this.config = { ...defaultEngineConfig, ...deps.config };
    this.store = deps.store;
    this.clock = deps.clock ?? systemClock;
    this.log = deps.logger ?? silentLogger;
    this.topics = deps.topics ?? noTopics;
    this.instanceId = deps.instanceId ?? randomBytes(6).toString('hex');
    this.attempts = new AttemptWriter(this.store, this.instanceId, this.log);
    this.env = {
      store: this.store,
      caller: deps.caller,
      clock: this.clock,
      attempts: this.attempts,
      timing: {
        retryInterval: this.config.retryInterval,
        timeoutToFail: this.config.timeoutToFail,
        requestTimeout: this.config.requestTimeout,
        alertRetryLimit: this.config.alertRetryLimit,
      },
      alert: this.config.alertWebHook ? (body) => void this.sendAlert(body) : undefined,
      metrics: deps.metrics,
    };
  }

  // ------------------------------------------------------------------------------------------
  // API operations

  newGid(): string {
    return newGid();
  }

  async prepare(req: TransRequest): Promise<void> {
    checkTransRequest(req);
    const inserted = await this.save(req, Status.Prepared, '');
    if (inserted) return;
    const existing = await this.store.findGlobal(req.gid);
    if (existing && existing.status !== Status.Prepared) {
      throw failure(`current status '${existing.status}', cannot prepare.`);
    }
  }

  async submit(req: TransRequest): Promise<void> {
    if (req.transType === 'workflow') return this.submitWorkflow(req);
    checkTransRequest(req);
    const token = this.newToken();
    const now = this.clock.now();
    const inserted = await this.save(req, Status.Submitted, token);
    let branches: BranchRow[];
    let leaseToken = token;
    if (inserted) {
      branches = generateBranches(req, this.topics).map((b) => branchRow(b, now));
    } else {
      const existing = await this.store.findGlobal(req.gid);
      if (!existing) throw internal(STORAGE_NOT_FOUND, true);
      if (existing.status === Status.Prepared) {
        if (!(await this.store.changeStatus(req.gid, Status.Prepared, Status.Submitted, now))) {
          throw internal(STORAGE_NOT_FOUND, true);
        }
      } else if (existing.status !== Status.Submitted) {
        throw failure(`current status '${existing.status}', cannot sumbmit.`);
      }
      // dtm re-runs a pass here too; we run it over the stored branches (transactions.md §3.3).
      const lease = await this.acquireLease(req.gid, req.options.waitResult);
      if (!lease) {
        if (req.options.waitResult) throw failure('wait result not return success:');
        return;
      }
      leaseToken = lease.owner;
      branches = await this.store.findBranches(req.gid);
    }
    // The first pass runs on the request (its options, a create time of now), like dtm.
    const base = baseInterval(req.options, this.env.timing);
    const trans: PassTrans = {
      gid: req.gid,
      transType: req.transType,
      status: Status.Submitted,
      protocol: req.protocol,
      queryPrepared: req.queryPrepared,
      customData: req.customData,
      rollbackReason: '',
      createTime: now,
      options: req.options,
      extHeaders: req.extHeaders,
      nextCronInterval: base,
      nextCronTime: new Date(now.getTime() + base * 1000),
    };
    await this.runAndReport(trans, branches, leaseToken, req.options.waitResult, true);
  }

  private async submitWorkflow(req: TransRequest): Promise<void> {
    checkGid(req.gid);
    const to = req.reqExtra.status ?? '';
    if (to !== Status.Succeed && to !== Status.Failed) {
      throw badRequest(`req_extra.status must be succeed or failed, not '${to}'`);
    }
    const ok = await this.store.changeStatus(req.gid, Status.Prepared, to, this.clock.now(), {
      rollbackReason: req.reqExtra.rollback_reason ?? '',
      result: req.reqExtra.result ?? '',
    });
    if (!ok) throw internal(STORAGE_NOT_FOUND, true);
  }

  async abort(req: TransRequest): Promise<void> {
    checkGid(req.gid);
    const existing = await this.store.findGlobal(req.gid);
    if (!existing) throw internal(`no TransGlobal with gid: ${req.gid} found`, true);
    const now = this.clock.now();
    if (existing.transType === 'msg' && existing.status === Status.Prepared) {
      if (!(await this.store.changeStatus(req.gid, Status.Prepared, Status.Failed, now))) {
        throw internal(STORAGE_NOT_FOUND, true);
      }
      return;
    }
    if (
      (req.transType !== 'tcc' && req.transType !== 'xa') ||
      (existing.status !== Status.Prepared && existing.status !== Status.Aborting)
    ) {
      throw failure(`trans type: '${existing.transType}' current status '${existing.status}', cannot abort.`);
    }
    const ok = await this.store.changeStatus(req.gid, existing.status, Status.Aborting, now, {
      rollbackReason: req.rollbackReason,
    });
    if (!ok) throw internal(STORAGE_NOT_FOUND, true);
    // The pass runs on the stored row, with its stored options (wait_result included).
    const options = decodeOptions(existing.options);
    const lease = await this.acquireLease(req.gid, options.waitResult);
    if (!lease) return;
    const trans = passTransFromRow(lease, options);
    await this.runAndReport(trans, await this.store.findBranches(req.gid), lease.owner, options.waitResult, false);
  }

  async forceStop(gid: string): Promise<void> {
    checkGid(gid);
    const existing = await this.store.findGlobal(gid);
    if (!existing) throw internal(`no TransGlobal with gid: ${gid} found`, true);
    if (isFinished(existing.status)) {
      throw failure(`global transaction force stop error. status: ${existing.status}. error:`);
    }
    if (!(await this.store.changeStatus(gid, existing.status, Status.Failed, this.clock.now()))) {
      throw internal(STORAGE_NOT_FOUND, true);
    }
  }

  async registerBranch(reg: BranchRegistration): Promise<void> {
    const rows = registrationBranches(reg);
    try {
      const r = await this.store.registerBranches(reg.gid, rows, this.clock.now());
      if (r === 'not-prepared') throw failure(`no trans with gid: ${reg.gid} status: ${Status.Prepared} found`);
    } catch (err) {
      if (err instanceof StoreError) throw internal(err.message);
      throw err;
    }
  }

  /** prepareWorkflow: create the workflow, or return it with its recorded progress. */
  async prepareWorkflow(req: TransRequest): Promise<{ global: GlobalRow; branches: BranchRow[] }> {
    checkTransRequest(req);
    await this.save(req, Status.Prepared, '');
    const global = await this.store.findGlobal(req.gid);
    if (!global) throw internal(STORAGE_NOT_FOUND, true);
    return { global, branches: await this.store.findBranches(req.gid) };
  }

  async query(gid: string): Promise<{ global: GlobalRow | null; branches: BranchRow[] }> {
    const global = await this.store.findGlobal(gid);
    return { global, branches: global ? await this.store.findBranches(gid) : [] };
  }

  scan(q: GlobalQuery): Promise<GlobalRow[]> {
    return this.store.scanGlobals(q);
  }

  /** resetCronTime: unfinished transactions sleeping longer than `timeoutSeconds` become due now. */
  async resetCronTime(timeoutSeconds: number, limit: number): Promise<{ hasRemaining: boolean; succeedCount: number }> {
    const now = this.clock.now();
    const n = await this.store.resetCronTime(new Date(now.getTime() + timeoutSeconds * 1000), limit, now);
    if (n > 0) this.poke();
    return { hasRemaining: n === limit, succeedCount: n };
  }

  async resetNextCronTime(gid: string): Promise<void> {
    checkGid(gid);
    if (!(await this.store.resetNextCronTime(gid, this.clock.now()))) {
      throw internal(`no TransGlobal with gid: ${gid} found`, true);
    }
    this.poke();
  }

  // ------------------------------------------------------------------------------------------
  // Passes

  private newToken(): string {
    return `${this.instanceId}:${++this.seq}`;
  }

  private leaseUntil(): Date {
    return new Date(this.clock.now().getTime() + this.config.retryInterval * 1000);
  }

  /** Inserts the global and its generated branches; false when the gid exists. */
  private async save(req: TransRequest, status: string, token: string): Promise<boolean> {
    const now = this.clock.now();
    const branches = generateBranches(req, this.topics);
    const base = baseInterval(req.options, this.env.timing);
    return this.store.insertTrans(
      {
        gid: req.gid,
        transType: req.transType,
        status,
        queryPrepared: req.queryPrepared,
        protocol: req.protocol,
        options: encodeOptions(req.options),
        customData: req.customData,
        extData: Object.keys(req.extHeaders).length ? JSON.stringify({ headers: req.extHeaders }) : '',
        rollbackReason: req.rollbackReason,
        nextCronInterval: base,
        nextCronTime: new Date(now.getTime() + base * 1000),
        owner: token,
        leaseExpire: token ? this.leaseUntil() : null,
      },
      branches,
      now,
    );
  }

  /**
   * Leases an existing row for an API-triggered pass. Another pass may hold it (a scheduler on
   * some instance): wait for it when the caller waits for the result, else make the row due
   * so that whoever is free next processes it.
   */
  private async acquireLease(gid: string, wait: boolean): Promise<GlobalRow | null> {
    const deadline = Date.now() + (this.config.requestTimeout + 2) * 1000;
    for (;;) {
      const token = this.newToken();
      const row = await this.store.acquireLease(gid, token, this.clock.now(), this.leaseUntil());
      if (row) return row;
      if (!wait || Date.now() > deadline) {
        await this.store.resetNextCronTime(gid, this.clock.now());
        this.poke();
        return null;
      }
      await sleep(50);
    }
  }

  private async runAndReport(
    trans: PassTrans,
    branches: BranchRow[],
    token: string,
    wait: boolean,
    submitting: boolean,
  ): Promise<void> {
    const run = this.runPass(trans, branches, token);
    if (!wait) {
      void run;
      return;
    }
    const r = await run;
    if (r.err) throw r.err;
    if (submitting && r.status !== Status.Succeed) {
      throw failure(r.rollbackReason ? r.rollbackReason : 'wait result not return success:');
    }
  }

  /** Runs one pass under the lease `token`, then releases the lease. Never rejects. */
  runPass(trans: PassTrans, branches: BranchRow[], token: string): Promise<PassOutcome> {
    const key = `${token}#${trans.gid}`;
    const run = this.doPass(trans, branches, token).finally(() => {
      this.active.delete(key);
    });
    this.active.set(key, { token, run, since: Date.now() });
    this.ensureHeartbeat();
    return run;
  }

  private async doPass(trans: PassTrans, branches: BranchRow[], token: string): Promise<PassOutcome> {
    const pass = new Pass(this.env, trans, branches, token);
    let err: DtmError | null = null;
    try {
      const processor = PROCESSORS[trans.transType];
      if (!processor) throw new Error(`unknow trans type: ${trans.transType}`);
      err = await processor(pass);
      if (err && err.kind !== 'ongoing') {
        this.log.warn({ gid: trans.gid, err: err.message }, 'pass ended with a branch error; will retry');
      }
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      err = internal(`dtm panic: ${message}`);
      this.log.error({ gid: trans.gid, err: message }, 'pass aborted');
    }
    this.env.metrics?.pass(trans.transType, err === null, (this.clock.now().getTime() - trans.createTime.getTime()) / 1000);
    const unwritten = pass.unwrittenResults();
    if (isFinished(pass.status) && unwritten.length > 0) {
      // Calls that answered after the final status change: still facts worth recording.
      await this.store.recordBranches(trans.gid, unwritten, this.clock.now(), pass.status, '').catch((e: Error) => {
        this.log.warn({ gid: trans.gid, err: e.message }, 'could not record late branch results');
      });
    }
    if (!isFinished(pass.status)) {
      const s = pass.schedule;
      try {
        await this.store.endPass(
          trans.gid,
          token,
          {
            status: pass.status,
            nextCronTime: s.touched ? s.nextCronTime : null,
            nextCronInterval: s.touched ? s.interval : null,
            errors: pass.errors,
            lastError: pass.lastError,
            branches: unwritten,
          },
          this.clock.now(),
        );
      } catch (e) {
        // The lease expires by itself; the transaction is retried then.
        this.log.error({ gid: trans.gid, err: (e as Error).message }, 'could not release lease');
      }
    }
    return { status: pass.status, rollbackReason: pass.trans.rollbackReason, err };
  }

  private ensureHeartbeat(): void {
    if (this.heartbeat) return;
    const every = Math.max(200, (this.config.retryInterval * 1000) / 3);
    this.heartbeat = setInterval(() => {
      if (this.active.size === 0) {
        if (this.heartbeat) clearInterval(this.heartbeat);
        this.heartbeat = null;
        return;
      }
      // Only passes that have run for a while need their lease extended (most end in
      // milliseconds, and every lease is granted for a whole RetryInterval).
      const old = Date.now() - every;
      const tokens = [...new Set([...this.active.values()].filter((a) => a.since <= old).map((a) => a.token))];
      if (tokens.length === 0) return;
      this.store.renewLeases(tokens, this.leaseUntil()).catch((e: Error) => {
        this.log.error({ err: e.message }, 'could not renew leases');
      });
    }, every);
    this.heartbeat.unref();
  }

  private async sendAlert(body: object): Promise<void> {
    try {
      await fetch(this.config.alertWebHook, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.config.requestTimeout * 1000),
      });
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'alert webhook failed');
    }
  }

  // ------------------------------------------------------------------------------------------
  // Scheduler

  /** Starts the scheduler: claims due transactions and runs their passes, up to cronConcurrency at once. */
  start(): void {
    if (this.cronRunning) return;
    this.cronRunning = true;
    this.cronLoop = this.loop();
  }

  /** Wakes the scheduler now (something became due). */
  poke(): void {
    this.wake?.();
  }

  private async loop(): Promise<void> {
    while (this.cronRunning) {
      let claimed = 0;
      const room = this.config.cronConcurrency - this.cronActive;
      if (room > 0) {
        try {
          claimed = await this.claimAndRun(room);
        } catch (e) {
          this.log.error({ err: (e as Error).message }, 'claiming due transactions failed');
        }
      }
      if (!this.cronRunning) break;
      if (claimed > 0 && claimed === room) continue;
      const idle = Math.max(0.05, this.config.transCronInterval - Math.random()) * 1000;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, room > 0 ? idle : 1000);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  /** Claims up to `limit` due transactions and starts their passes. Returns how many. */
  async claimAndRun(limit: number): Promise<number> {
    const token = this.newToken();
    const now = this.clock.now();
    const rows = await this.store.claimDue(
      token,
      now,
      this.leaseUntil(),
      new Date(now.getTime() + this.config.retryInterval * 1000),
      limit,
    );
    for (const row of rows) {
      this.cronActive++;
      void this.runClaimed(row, token).finally(() => {
        this.cronActive--;
        this.poke();
      });
    }
    return rows.length;
  }

  private async runClaimed(row: GlobalRow, token: string): Promise<void> {
    let branches: BranchRow[];
    try {
      branches = await this.store.findBranches(row.gid);
    } catch (e) {
      this.log.error({ gid: row.gid, err: (e as Error).message }, 'could not load branches');
      return;
    }
    const trans = passTransFromRow(row, decodeOptions(row.options));
    await this.runPass(trans, branches, token);
  }

  /** Stops the scheduler and waits (up to `graceMs`) for running passes, then flushes the attempt log. */
  async stop(graceMs = 10_000): Promise<void> {
    this.cronRunning = false;
    this.poke();
    await this.cronLoop;
    const deadline = sleep(graceMs);
    while (this.active.size > 0) {
      const winner = await Promise.race([Promise.allSettled([...this.active.values()].map((a) => a.run)).then(() => 'done'), deadline.then(() => 'timeout')]);
      if (winner === 'timeout') break;
    }
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    await this.attempts.flush();
  }

  /** Transactions this instance is processing right now. */
  inFlight(): number {
    return this.active.size;
  }

  /** Waits until the attempt log is written (tests, shutdown). */
  flushAttempts(): Promise<void> {
    return this.attempts.flush();
  }
}

function branchRow(b: NewBranch, now: Date): BranchRow {
  return { ...b, id: 0, finishTime: null, rollbackTime: null, createTime: now, updateTime: now };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
