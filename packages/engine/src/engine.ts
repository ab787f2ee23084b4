// The coordinator's engine: the one object transports hold. It wires the parts and exposes dtm's
// API operations (operations.ts), the reads, and the scheduler's controls. Transports call these
// methods and map the DtmErrors they throw to status codes; nothing here knows HTTP or gRPC.
//
//   operations.ts  prepare, submit, abort, forceStop, registerBranch, prepareWorkflow
//   runner.ts      one pass: dispatched to the transaction type's module (types/), lease released
//   scheduler.ts   claims due transactions and runs their passes
//   leases.ts      lease tokens, leases for API-triggered passes, the renewal heartbeat
import { randomBytes } from 'node:crypto';
import { AttemptWriter } from './attempts.ts';
import type { BranchTransport } from './calls/types.ts';
import { checkGid, type TargetRules } from './checks.ts';
import { TransNotFoundError } from './errors.ts';
import { newGid } from './gid.ts';
import { LeaseKeeper } from './leases.ts';
import { silentLogger, type Logger } from './logger.ts';
import { Operations } from './operations.ts';
import { systemClock, type Clock } from './clock.ts';
import type { EngineMetrics, PassEnv } from './pass.ts';
import { PassRunner } from './runner.ts';
import { Scheduler, type SchedulerHealth } from './scheduler.ts';
import type { BranchRow, GlobalQuery, GlobalRow, Store, StoreWait } from './store/port.ts';
import type { TopicResolver } from './types/module.ts';
import type { BranchRegistration, TransRequest } from './model.ts';

export type { PassOutcome } from './runner.ts';

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
  /**
   * Schemes of gRPC branch targets the coordinator's MicroService driver resolves (etcd, direct,
   * ...); a target with any other scheme is refused at submit. [] (the default driver): none.
   */
  grpcSchemes: string[];
}

export const defaultEngineConfig: EngineConfig = {
  retryInterval: 10,
  timeoutToFail: 35,
  requestTimeout: 3,
  transCronInterval: 3,
  alertRetryLimit: 3,
  alertWebHook: '',
  cronConcurrency: 64,
  grpcSchemes: [],
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
  /** The egress policy's request-time verdicts on branch URLs (docs/security.md, "Egress policy"). */
  egress?: TargetRules['egress'];
  /** Posts the alert webhook's JSON (the coordinator's policy-checked client); default: fetch. */
  postAlert?: (url: string, json: string, timeoutMs: number) => Promise<void>;
}

const noTopics: TopicResolver = { resolve: () => [] };

export class Engine {
  readonly instanceId: string;
  readonly config: EngineConfig;
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly attempts: AttemptWriter;
  private readonly env: PassEnv;
  private readonly leases: LeaseKeeper;
  private readonly runner: PassRunner;
  private readonly scheduler: Scheduler;
  private readonly ops: Operations;
  private readonly postAlert: (url: string, json: string, timeoutMs: number) => Promise<void>;

  constructor(deps: EngineDeps) {
    const config = (this.config = { ...defaultEngineConfig, ...deps.config });
    const store = (this.store = deps.store);
    const clock = (this.clock = deps.clock ?? systemClock);
    const log = (this.log = deps.logger ?? silentLogger);
    this.instanceId = deps.instanceId ?? randomBytes(6).toString('hex');
    this.postAlert = deps.postAlert ?? postWithFetch;
    this.attempts = new AttemptWriter(store, this.instanceId, log);
    const { retryInterval, requestTimeout } = config;
    this.leases = new LeaseKeeper({ store, clock, log, instanceId: this.instanceId, retryInterval, requestTimeout });
    this.env = {
      store,
      leases: this.leases,
      caller: deps.caller,
      clock,
      attempts: this.attempts,
      timing: {
        retryInterval: config.retryInterval,
        timeoutToFail: config.timeoutToFail,
        requestTimeout: config.requestTimeout,
        alertRetryLimit: config.alertRetryLimit,
      },
      alert: config.alertWebHook ? (body) => void this.sendAlert(body) : undefined,
      metrics: deps.metrics,
    };
    this.runner = new PassRunner(this.env, this.leases, log);
    this.ops = new Operations({
      store,
      clock,
      topics: deps.topics ?? noTopics,
      timing: this.env.timing,
      leases: this.leases,
      runner: this.runner,
      targets: { grpcSchemes: config.grpcSchemes.map((s) => s.toLowerCase()), egress: deps.egress },
      poke: () => this.poke(),
    });
    this.scheduler = new Scheduler({
      store,
      clock,
      log,
      leases: this.leases,
      runner: this.runner,
      retryInterval,
      transCronInterval: config.transCronInterval,
      concurrency: config.cronConcurrency,
    });
  }

  newGid(): string {
    return newGid();
  }

  // `wait`: the request's StoreWait (store/port.ts), which its transport got from admission.

  prepare(req: TransRequest, wait?: StoreWait): Promise<void> {
    return this.ops.prepare(req, wait);
  }

  submit(req: TransRequest, wait?: StoreWait): Promise<void> {
    return this.ops.submit(req, wait);
  }

  abort(req: TransRequest, wait?: StoreWait): Promise<void> {
    return this.ops.abort(req, wait);
  }

  forceStop(gid: string): Promise<void> {
    return this.ops.forceStop(gid);
  }

  registerBranch(reg: BranchRegistration, wait?: StoreWait): Promise<void> {
    return this.ops.registerBranch(reg, wait);
  }

  /** prepareWorkflow: create the workflow, or return it with its recorded progress. */
  prepareWorkflow(req: TransRequest, wait?: StoreWait): Promise<{ global: GlobalRow; branches: BranchRow[] }> {
    return this.ops.prepareWorkflow(req, wait);
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
    if (!(await this.store.resetNextCronTime(gid, this.clock.now()))) throw new TransNotFoundError(gid);
    this.poke();
  }

  // ------------------------------------------------------------------------------------------
  // Passes and the scheduler

  /** Starts the scheduler: claims due transactions and runs their passes, up to cronConcurrency at once. */
  start(): void {
    this.scheduler.start();
  }

  /** Wakes the scheduler now (something became due). */
  poke(): void {
    this.scheduler.poke();
  }

  /** Claims up to `limit` due transactions and starts their passes. Returns how many. */
  claimAndRun(limit: number): Promise<number> {
    return this.scheduler.claimAndRun(limit);
  }

  /** Stops the scheduler and waits (up to `graceMs`) for running passes, then flushes the attempt log. */
  async stop(graceMs = 10_000): Promise<void> {
    await this.scheduler.stop();
    await this.runner.drain(graceMs);
    this.leases.stop();
    await this.attempts.flush();
  }

  /** The scheduler's health, for readiness checks: running and a loop turn within a few TransCronIntervals. */
  health(): SchedulerHealth {
    return this.scheduler.healthy();
  }

  /** Transactions this instance is processing right now (claimed ones included). */
  inFlight(): number {
    return this.runner.size + this.scheduler.starting;
  }

  /** Waits until the attempt log is written (tests, shutdown). */
  flushAttempts(): Promise<void> {
    return this.attempts.flush();
  }

  private async sendAlert(body: object): Promise<void> {
    try {
      await this.postAlert(this.config.alertWebHook, JSON.stringify(body), this.config.requestTimeout * 1000);
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'alert webhook failed');
    }
  }
}

async function postWithFetch(url: string, json: string, timeoutMs: number): Promise<void> {
  await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json, signal: AbortSignal.timeout(timeoutMs) });
}
