// The store port: every operation the engine needs from storage, with the conditions that make it
// safe when several coordinator instances share one database. The engine owns this interface
// (types only: importing it loads no driver); packages/db implements it in sql-store.ts (one
// class, three dialects), and nothing above that package sees SQL.
import { DtmError } from '../errors.ts';
import type { BranchStatus, GlobalStatus } from '../status.ts';

export type Dialect = 'sqlite' | 'postgres' | 'mysql';

/** A global transaction row (dtm's trans_global plus our lease and diagnostics columns). */
export interface GlobalRow {
  id: number;
  gid: string;
  transType: string;
  status: GlobalStatus;
  queryPrepared: string;
  protocol: string;
  createTime: Date | null;
  updateTime: Date | null;
  finishTime: Date | null;
  rollbackTime: Date | null;
  options: string;
  customData: string;
  nextCronInterval: number | null;
  nextCronTime: Date | null;
  owner: string;
  extData: string;
  result: string;
  rollbackReason: string;
  leaseExpire: Date | null;
  retryCount: number;
  lastError: string;
  failSince: Date | null;
  failStreak: number;
  ongoingSince: Date | null;
  failEndpoint: string;
  failDetail: string;
}

/**
 * The current run of answers of a transaction's branch calls, what the dashboard's Stuck view
 * reads (docs/operations.md, "The Stuck view"): failed calls in a row since `failSince`, or
 * "ongoing" answers since `ongoingSince`. A successful call ends both runs; a failed one ends
 * the ongoing run, an ongoing answer the failed run.
 */
export interface CallStreak {
  failSince: Date | null;
  failStreak: number;
  ongoingSince: Date | null;
  /** Endpoint of the last failed or ongoing call (endpoint.ts), '' when neither run is on. */
  failEndpoint: string;
  /** What that call answered, short (endpoint.ts answerOf). */
  failDetail: string;
}

export const NO_STREAK: Readonly<CallStreak> = Object.freeze({
  failSince: null,
  failStreak: 0,
  ongoingSince: null,
  failEndpoint: '',
  failDetail: '',
});

/** One operation of one branch (dtm's trans_branch_op). */
export interface BranchRow {
  id: number;
  gid: string;
  url: string;
  binData: Buffer | null;
  branchId: string;
  op: string;
  status: BranchStatus;
  finishTime: Date | null;
  rollbackTime: Date | null;
  createTime: Date | null;
  updateTime: Date | null;
}

export interface KvRow {
  id: number;
  cat: string;
  k: string;
  v: string | null;
  version: number;
  createTime: Date | null;
  updateTime: Date | null;
}

/** One call the coordinator made to a branch. */
export interface AttemptRow {
  id: number;
  gid: string;
  branchId: string;
  op: string;
  url: string;
  protocol: string;
  startedAt: Date;
  durationMs: number;
  httpStatus: number | null;
  grpcCode: number | null;
  outcome: string;
  response: string;
  error: string;
  owner: string;
}

export type NewAttempt = Omit<AttemptRow, 'id'>;

export interface NewGlobal {
  gid: string;
  transType: string;
  status: GlobalStatus;
  queryPrepared: string;
  protocol: string;
  options: string;
  customData: string;
  extData: string;
  rollbackReason: string;
  nextCronInterval: number;
  nextCronTime: Date;
  /** Lease token of the pass that will process the new row right away ('' for none). */
  owner: string;
  /** Length of that lease in ms (ignored without an owner), counted by the database's clock. */
  leaseMs: number;
}

/** A row whose lease a renewal extended. */
export interface RenewedLease {
  gid: string;
  owner: string;
}

export interface NewBranch {
  gid: string;
  url: string;
  binData: Buffer | null;
  branchId: string;
  op: string;
  status: BranchStatus;
}

/** A branch operation's settled status, written together with a global change (see Store). */
export interface BranchResult {
  branchId: string;
  op: string;
  status: BranchStatus;
}

export interface StatusChange {
  /**
   * Branch results to record in the same database transaction, whatever the outcome of the
   * compare-and-set (they are facts: the calls happened). Only prepared branches change.
   */
  branches?: BranchResult[];
  rollbackReason?: string;
  result?: string;
  /** Only change the row while this lease token holds it. */
  owner?: string;
  /** Clear the lease in the same statement (the pass is over). */
  release?: boolean;
  /** Failed branch calls of the pass (added to retry_count). */
  errors?: number;
  /** Last failed call of the pass. */
  lastError?: string;
  /** Also make the row due now (operator actions: the scheduler picks it up at once). */
  due?: boolean;
  /** Only while no pass holds the row (its lease is free, or expired by the database's clock). */
  leaseFree?: boolean;
  /** Only while none of the global's branch operations with these ops has succeeded. */
  noneSucceeded?: string[];
  /** The run of call answers to record (stuck view), written as is. */
  streak?: CallStreak;
}

/** A coordinator instance, as its heartbeat records it. */
export interface NodeRow {
  instanceId: string;
  address: string;
  version: string;
  hostname: string;
  pid: number;
  store: string;
  startedAt: Date;
  heartbeatAt: Date;
  inFlight: number;
  /** Index of this worker in its process group (docs/operations.md, "Workers"); null outside one. */
  worker?: number | null;
  /** Size of the process group (1 outside one). */
  workers?: number;
}

export interface PassEnd {
  /**
   * Status the pass believes the global has: the schedule is written only if it still has it
   * (an operator's abort made the row due now, and a stale pass must not push it back).
   */
  status: GlobalStatus;
  /** New schedule; null leaves next_cron_time / next_cron_interval as they are. */
  nextCronTime: Date | null;
  nextCronInterval: number | null;
  /** Failed branch calls made by the pass (added to retry_count). */
  errors: number;
  /** Text of the last failed call, '' to keep the stored one. */
  lastError: string;
  /** Branch results not written yet, recorded in the same database transaction. */
  branches?: BranchResult[];
  /** The run of call answers after the pass (stuck view); undefined keeps the stored one. */
  streak?: CallStreak;
}

export interface GlobalQuery {
  /** Only rows with id < position (cursor of the previous page). */
  position?: number;
  limit: number;
  status?: string;
  transType?: string;
  createTimeStart?: Date;
  createTimeEnd?: Date;
}

/**
 * The database could not be reached (no connection could be had from the pool in time, the
 * server refused the connection, or it answered nothing) and the statement was not sent. With
 * `stored` false nothing of the request was written and retrying it is safe: transports answer it
 * as the admission refusal (docs/operations.md, "Database outages"), not a failure.
 */
export class StoreUnavailableError extends DtmError {
  /** An earlier write of the same request had committed. */
  readonly stored: boolean;

  constructor(message: string, options?: ErrorOptions & { stored?: boolean }) {
    const stored = options?.stored ?? false;
    super(
      stored
        ? `the database became unreachable (${message}) after part of this request was stored: query the transaction before retrying`
        : `the database is unreachable (${message}); the request was not processed and nothing was stored, retry it later`,
      'unavailable',
    );
    this.name = 'StoreUnavailableError';
    this.stored = stored;
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/**
 * How long the statements of one API request may wait for an unreachable database
 * (docs/operations.md, "Database outages"): the transport makes one per admitted request and
 * hands it to the engine, which runs that request's statements on `store.waiting(wait)`. Statements
 * without one (scheduler passes, heartbeats, retention) wait the store's background time.
 */
export interface StoreWait {
  /** performance.now() after which a statement that cannot reach the database gives up. */
  deadline: number;
  /** A write of this request has committed (the refusal then cannot say "nothing was stored"). */
  wrote: boolean;
  /** The request has been answered: what it started and goes on (a pass) is background work. */
  done: boolean;
}

/** A storage operation refused what it was asked (not a connection or SQL failure). */
export class StoreError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StoreError';
  }
}

/** registerBranches: (gid, branch_id, op) is registered already. Keeps the database's message. */
export class DuplicateBranchError extends StoreError {
  constructor(
    readonly gid: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'DuplicateBranchError';
  }
}

/**
 * Leases. Every lease time (lease_expire) is set and compared by the database's own clock (on
 * SQLite, the one process's clock), never by an instance's: instances sharing a database need
 * not agree on the time for mutual exclusion. A lease is granted for `leaseMs` from the moment
 * the statement runs; the engine counts its own deadline from before it sent the statement
 * (leases.ts), so it always believes a lease ends before the database does.
 */
export interface Store {
  readonly dialect: Dialect;

  /**
   * Inserts a global with its branches in one database transaction. Returns false, writing
   * nothing, when the gid already exists.
   */
  insertTrans(global: NewGlobal, branches: NewBranch[], now: Date): Promise<boolean>;
  findGlobal(gid: string): Promise<GlobalRow | null>;
  findBranches(gid: string): Promise<BranchRow[]>;
  /**
   * Compare-and-set of the status: changes `from` to `to` (setting update_time, and finish_time
   * for succeed, rollback_time for failed). Returns false when the row is not in `from` (or,
   * with `owner`, not held by that lease).
   */
  changeStatus(gid: string, from: GlobalStatus, to: GlobalStatus, now: Date, change?: StatusChange): Promise<boolean>;
  /**
   * Records branch results (only prepared branches change), and tells in the same database
   * transaction whether the global still has `globalStatus` under the lease `owner` (false:
   * an operator aborted or stopped it, or the lease was lost; the pass must stop).
   */
  recordBranches(gid: string, branches: BranchResult[], now: Date, globalStatus: GlobalStatus, owner: string): Promise<boolean>;
  /**
   * Inserts registered branches while the global is `prepared` (the check and the insert are
   * one database transaction). 'not-prepared' when no prepared global has that gid; throws
   * DuplicateBranchError when (gid, branch_id, op) exists.
   */
  registerBranches(gid: string, branches: NewBranch[], now: Date): Promise<'ok' | 'not-prepared'>;

  /** Takes the lease of one unfinished global whose lease is free or expired. */
  acquireLease(gid: string, token: string, leaseMs: number): Promise<GlobalRow | null>;
  /** Extends the leases held under these tokens to `leaseMs` from now; returns the rows extended. */
  renewLeases(tokens: string[], leaseMs: number): Promise<RenewedLease[]>;
  /** Releases a lease, recording the schedule and diagnostics of the pass that held it. */
  endPass(gid: string, token: string, end: PassEnd, now: Date): Promise<void>;
  /**
   * Claims up to `limit` due globals (unfinished, next_cron_time <= now, lease free or expired)
   * for the lease `token` of `leaseMs`: sets owner, lease_expire and next_cron_time = `nextCronTime`.
   * Rows another claimer is locking are skipped, not waited for.
   */
  claimDue(token: string, now: Date, leaseMs: number, nextCronTime: Date, limit: number): Promise<GlobalRow[]>;

  /** resetCronTime: unfinished rows scheduled after `after` become due now. */
  resetCronTime(after: Date, limit: number, now: Date): Promise<number>;
  /** resetNextCronTime: the row (any status) becomes due now. False when the gid is unknown. */
  resetNextCronTime(gid: string, now: Date): Promise<boolean>;
  /** An unfinished row that no pass holds becomes due now. False otherwise. */
  makeDue(gid: string, now: Date): Promise<boolean>;

  /** Records (insert or refresh) a coordinator instance's heartbeat. */
  heartbeat(node: NodeRow): Promise<void>;
  removeNode(instanceId: string): Promise<void>;

  scanGlobals(query: GlobalQuery): Promise<GlobalRow[]>;

  /** KV entries (topics are category `topics`). `false` when (cat, k) exists. */
  kvCreate(cat: string, k: string, v: string, now: Date): Promise<boolean>;
  /** Optimistic update: only while the stored version is `version` (then version + 1). */
  kvUpdate(cat: string, k: string, v: string, version: number, now: Date): Promise<boolean>;
  kvDelete(cat: string, k: string): Promise<boolean>;
  /** Entries filtered by cat and/or key (empty = any), in id order. */
  kvFind(cat: string, k: string): Promise<KvRow[]>;
  /** Entries of a category with id < position, newest first. */
  kvScan(cat: string, position: number | undefined, limit: number): Promise<KvRow[]>;
  insertAttempts(rows: NewAttempt[]): Promise<void>;
  findAttempts(gid: string, limit: number): Promise<AttemptRow[]>;

  // Retention (retention.ts): small batches, so that deletes never hold locks long enough to
  // stall submits.
  /**
   * Deletes up to `limit` transactions that finished (succeed or failed) before `before`, with
   * their branch operations and attempt rows, in one database transaction. Returns how many.
   */
  deleteFinished(before: Date, limit: number): Promise<number>;
  /**
   * Looks at up to `scan` unfinished transactions with an id above `afterId`, and of each one that
   * has more than `keep` attempt rows deletes the oldest, keeping its first attempt and its newest
   * `keep - 1`. Returns the rows deleted and the last id looked at (0 when none was left: start
   * over).
   */
  trimAttempts(afterId: number, scan: number, keep: number): Promise<{ deleted: number; lastId: number }>;
  /** How many finished transactions are kept, and when the oldest of them finished. */
  finishedStats(): Promise<{ count: number; oldest: Date | null }>;

  ping(): Promise<void>;
  close(): Promise<void>;
  /** The same store, its statements waiting for an unreachable database as `wait` says (see StoreWait). */
  waiting(wait: StoreWait): Store;
}
