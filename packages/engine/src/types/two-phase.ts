// What TCC and XA share (docs/protocol/transactions.md §4.4-4.5): the client registers each branch
// while the global is prepared; once submitted the coordinator runs the forward op (confirm /
// commit) of every branch, once aborting (or timed out while prepared) the backward op (cancel /
// rollback). The first non-success stops the pass. tcc.ts and xa.ts say which ops and order.
import type { TargetRules } from '../checks.ts';
import type { DtmError } from '../errors.ts';
import type { Pass } from '../pass.ts';
import { Status, type BranchStatus } from '../status.ts';
import type { NewBranch } from '../store/port.ts';
import type { BranchRegistration } from '../model.ts';
import type { TransTypeModule } from './module.ts';

export interface TwoPhaseRules {
  name: string;
  forward: string;
  backward: string;
  /** Walk the branches last registered first (TCC) instead of first registered first (XA). */
  reverse: boolean;
  /** Which branch statuses still need the op. */
  pending: (s: BranchStatus) => boolean;
  /** The forward and backward URLs of one registration, each checked as the field it came from. */
  urls(reg: BranchRegistration, rules: TargetRules): { forward: string; backward: string };
  postWithoutPayload?: boolean;
  /** What an operator abort says it will do. */
  explain: string;
}

async function twoPhase(p: Pass, r: TwoPhaseRules): Promise<DtmError | null> {
  if (!p.needProcess()) return null;
  if (p.status === Status.Prepared && p.isTimedOut()) {
    await p.changeStatus(Status.Aborting, `Timeout after ${p.trans.options.timeoutToFail} seconds`);
  }
  const op = p.status === Status.Submitted ? r.forward : r.backward;
  const order = r.reverse ? [...p.branches].reverse() : p.branches;
  for (const b of order) {
    if (b.op !== op || !r.pending(b.status)) continue;
    const { err } = await p.exec(b);
    if (err) return err;
  }
  await p.changeStatus(p.status === Status.Submitted ? Status.Succeed : Status.Failed);
  return null;
}

/** A TCC- or XA-like type from its rules. */
export function twoPhaseType(r: TwoPhaseRules): TransTypeModule {
  return {
    name: r.name,
    submit: 'run',
    abortRollsBack: true,
    postWithoutPayload: r.postWithoutPayload,
    // Branches come from registrations; the global itself carries nothing to check.
    checkRequest: () => undefined,
    generateBranches: () => [],
    registerBranch(reg: BranchRegistration, rules: TargetRules): NewBranch[] {
      const urls = r.urls(reg, rules);
      const row = (op: string, url: string): NewBranch => ({
        gid: reg.gid,
        url,
        binData: reg.payload,
        branchId: reg.branchId,
        op,
        status: Status.Prepared,
      });
      // Backward op first, like dtm: the pass walks one op's rows in registration order.
      return [row(r.backward, urls.backward), row(r.forward, urls.forward)];
    },
    process: (p) => twoPhase(p, r),
    timeoutLimit: (o, server) => o.timeoutToFail || server.timeoutToFail,
    failureSettles: () => false,
    operatorAbort: (status) =>
      status === Status.Prepared
        ? { to: Status.Aborting }
        : // Cancelling a branch whose forward op succeeded would be wrong, and so is racing a pass.
          { to: Status.Aborting, leaseFree: true, noneSucceeded: [r.forward] },
    explainAbort: () => r.explain,
  };
}
