// dtm's API operations that change transactions: prepare, submit, abort, forceStop,
// registerBranch, prepareWorkflow. What differs between transaction types is asked of the type's
// module (types/); passes run in runner.ts. Every status change is a compare-and-set on the old
// status (a legal move of status.ts), so instances sharing a database never both win.
import { checkGid, checkRegistration, type TargetRules } from './checks.ts';
import { badRequest, CasLostError, failure, internal, TransNotFoundError } from './errors.ts';
import type { HeldLease, LeaseKeeper } from './leases.ts';
import { decodeOptions, encodeOptions } from './options.ts';
import type { Clock } from './clock.ts';
import { passTransFromRow, type PassTiming, type PassTrans } from './pass.ts';
import { checkTransRequest } from './request.ts';
import type { PassRunner } from './runner.ts';
import { baseInterval } from './schedule.ts';
import { assertTransition, isFinished, Status, type GlobalStatus } from './status.ts';
import { DuplicateBranchError, type BranchRow, type GlobalRow, type NewBranch, type StatusChange, type Store, type StoreWait } from './store/port.ts';
import type { TopicResolver } from './types/module.ts';
import { findTransType } from './types/registry.ts';
import type { BranchRegistration, TransRequest } from './model.ts';

export interface OperationsDeps {
  store: Store;
  clock: Clock;
  topics: TopicResolver;
  timing: PassTiming;
  leases: LeaseKeeper;
  runner: PassRunner;
  /** What branch URLs may name (gRPC schemes of the configured driver). */
  targets: TargetRules;
  /** Wakes the local scheduler (a row became due). */
  poke: () => void;
}

export class Operations {
  private readonly store: Store;
  private readonly clock: Clock;

  constructor(private readonly d: OperationsDeps) {
    this.store = d.store;
    this.clock = d.clock;
  }

  // Each operation an API request makes takes the request's StoreWait (store/port.ts) and runs
  // its statements, and the pass it starts, on `store.waiting(wait)`.

  async prepare(req: TransRequest, wait?: StoreWait): Promise<void> {
    const type = checkTransRequest(req, this.d.targets);
    const store = this.storeFor(wait);
    if (await this.save(store, req, Status.Prepared, '', type.generateBranches(req, this.d.topics))) return;
    const existing = await store.findGlobal(req.gid);
    if (existing && existing.status !== Status.Prepared) {
      throw failure(`current status '${existing.status}', cannot prepare.`);
    }
  }

  async submit(req: TransRequest, wait?: StoreWait): Promise<void> {
    const store = this.storeFor(wait);
    if (findTransType(req.transType)?.submit === 'record') return this.recordOutcome(store, req);
    const type = checkTransRequest(req, this.d.targets);
    const now = this.clock.now();
    const generated = type.generateBranches(req, this.d.topics);
    const token = this.d.leases.newToken();
    const sentAt = this.d.leases.now();
    let branches: BranchRow[];
    let lease: HeldLease;
    if (await this.save(store, req, Status.Submitted, token, generated)) {
      lease = this.d.leases.hold(req.gid, token, sentAt);
      branches = generated.map((b) => branchRow(b, now));
    } else {
      const existing = await store.findGlobal(req.gid);
      if (!existing) throw new TransNotFoundError(req.gid);
      if (existing.status === Status.Prepared) {
        await this.cas(store, req.gid, Status.Prepared, Status.Submitted);
      } else if (existing.status !== Status.Submitted) {
        throw failure(`current status '${existing.status}', cannot sumbmit.`);
      }
      // dtm re-runs a pass here too; we run it over the stored branches
      // (docs/protocol/transactions.md §3.3).
      const acquired = await this.d.leases.acquire(req.gid, req.options.waitResult, this.d.poke, store);
      if (!acquired) {
        if (req.options.waitResult) throw failure('wait result not return success:');
        return;
      }
      lease = acquired.lease;
      branches = await store.findBranches(req.gid);
    }
    // The first pass runs on the request (its options, a create time of now), like dtm.
    const base = baseInterval(req.options, this.d.timing);
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
    await this.runAndReport(store, trans, branches, lease, req.options.waitResult, true);
  }

  /** submit of a type the client runs itself (workflow): records the outcome it reports. */
  private async recordOutcome(store: Store, req: TransRequest): Promise<void> {
    checkGid(req.gid);
    const to = req.reqExtra.status ?? '';
    if (to !== Status.Succeed && to !== Status.Failed) {
      throw badRequest(`req_extra.status must be succeed or failed, not '${to}'`);
    }
    await this.cas(store, req.gid, Status.Prepared, to, {
      rollbackReason: req.reqExtra.rollback_reason ?? '',
      result: req.reqExtra.result ?? '',
    });
  }

  async abort(req: TransRequest, wait?: StoreWait): Promise<void> {
    checkGid(req.gid);
    const store = this.storeFor(wait);
    const existing = await store.findGlobal(req.gid);
    if (!existing) throw new TransNotFoundError(req.gid);
    if (existing.status === Status.Prepared && findTransType(existing.transType)?.abortPrepared === 'fail') {
      await this.cas(store, req.gid, Status.Prepared, Status.Failed);
      return;
    }
    // dtm decides by the request's trans_type here, not the stored one.
    if (!findTransType(req.transType)?.abortRollsBack || (existing.status !== Status.Prepared && existing.status !== Status.Aborting)) {
      throw failure(`trans type: '${existing.transType}' current status '${existing.status}', cannot abort.`);
    }
    await this.cas(store, req.gid, existing.status, Status.Aborting, { rollbackReason: req.rollbackReason });
    // The pass runs on the stored row, with its stored options (wait_result included).
    const options = decodeOptions(existing.options);
    const acquired = await this.d.leases.acquire(req.gid, options.waitResult, this.d.poke, store);
    if (!acquired) return;
    const trans = passTransFromRow(acquired.row, options);
    await this.runAndReport(store, trans, await store.findBranches(req.gid), acquired.lease, options.waitResult, false);
  }

  async forceStop(gid: string): Promise<void> {
    checkGid(gid);
    const existing = await this.store.findGlobal(gid);
    if (!existing) throw new TransNotFoundError(gid);
    if (isFinished(existing.status)) {
      throw failure(`global transaction force stop error. status: ${existing.status}. error:`);
    }
    await this.cas(this.store, gid, existing.status, Status.Failed);
  }

  async registerBranch(reg: BranchRegistration, wait?: StoreWait): Promise<void> {
    checkRegistration(reg);
    const type = findTransType(reg.transType);
    if (!type?.registerBranch) throw internal(`unknow trans type: ${reg.transType}`);
    const rows = type.registerBranch(reg, this.d.targets);
    try {
      const r = await this.storeFor(wait).registerBranches(reg.gid, rows, this.clock.now());
      if (r === 'not-prepared') throw failure(`no trans with gid: ${reg.gid} status: ${Status.Prepared} found`);
    } catch (err) {
      if (err instanceof DuplicateBranchError) throw internal(err.message);
      throw err;
    }
  }

  /** prepareWorkflow: create the workflow, or return it with its recorded progress. */
  async prepareWorkflow(req: TransRequest, wait?: StoreWait): Promise<{ global: GlobalRow; branches: BranchRow[] }> {
    const type = checkTransRequest(req, this.d.targets);
    const store = this.storeFor(wait);
    await this.save(store, req, Status.Prepared, '', type.generateBranches(req, this.d.topics));
    const global = await store.findGlobal(req.gid);
    if (!global) throw new TransNotFoundError(req.gid);
    return { global, branches: await store.findBranches(req.gid) };
  }

  private storeFor(wait: StoreWait | undefined): Store {
    return wait ? this.store.waiting(wait) : this.store;
  }

  /** A compare-and-set of an API operation: a legal move, or CasLostError when another won. */
  private async cas(store: Store, gid: string, from: GlobalStatus, to: GlobalStatus, change?: StatusChange): Promise<void> {
    assertTransition(from, to);
    if (!(await store.changeStatus(gid, from, to, this.clock.now(), change))) throw new CasLostError(gid, from, to);
  }

  /** Inserts the global and its branches; false when the gid exists. */
  private async save(store: Store, req: TransRequest, status: GlobalStatus, token: string, branches: NewBranch[]): Promise<boolean> {
    const now = this.clock.now();
    const base = baseInterval(req.options, this.d.timing);
    return store.insertTrans(
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
        leaseMs: this.d.leases.leaseMs,
      },
      branches,
      now,
    );
  }

  private async runAndReport(
    store: Store,
    trans: PassTrans,
    branches: BranchRow[],
    lease: HeldLease,
    wait: boolean,
    submitting: boolean,
  ): Promise<void> {
    const run = this.d.runner.run(trans, branches, lease, store);
    if (!wait) return;
    const r = await run;
    if (r.err) throw r.err;
    if (submitting && r.status !== Status.Succeed) {
      throw failure(r.rollbackReason ? r.rollbackReason : 'wait result not return success:');
    }
  }
}

// Written out rather than `{ ...b, id: 0, ... }`: on Node 20's V8 a spread followed by new keys
// takes a slow runtime path (about 2 µs a call here), and a saga makes four of these per submit.
function branchRow(b: NewBranch, now: Date): BranchRow {
  return {
    gid: b.gid,
    url: b.url,
    binData: b.binData,
    branchId: b.branchId,
    op: b.op,
    status: b.status,
    id: 0,
    finishTime: null,
    rollbackTime: null,
    createTime: now,
    updateTime: now,
  };
}
