// tcc and xa passes (transactions.md §4.4–4.5): once submitted, confirm/commit every registered
// branch; once aborting (or timed out while prepared), cancel/roll back. TCC walks the branches
// last registered first; XA first registered first. The first non-success stops the pass.
import type { DtmError } from './errors.ts';
import type { Pass } from './pass.ts';
import { Op, Status } from './types.ts';

async function twoPhase(p: Pass, ops: { forward: string; backward: string }, reverse: boolean, pending: (s: string) => boolean) {
  if (!p.needProcess()) return null;
  if (p.status === Status.Prepared && p.isTimedOut()) {
    await p.changeStatus(Status.Aborting, `Timeout after ${p.trans.options.timeoutToFail} seconds`);
  }
  const op = p.status === Status.Submitted ? ops.forward : ops.backward;
  const order = reverse ? [...p.branches].reverse() : p.branches;
  for (const b of order) {
    if (b.op !== op || !pending(b.status)) continue;
    const { err } = await p.exec(b);
    if (err) return err;
  }
  await p.changeStatus(p.status === Status.Submitted ? Status.Succeed : Status.Failed);
  return null;
}

export function processTcc(p: Pass): Promise<DtmError | null> {
  return twoPhase(p, { forward: Op.Confirm, backward: Op.Cancel }, true, (s) => s === Status.Prepared);
}

export function processXa(p: Pass): Promise<DtmError | null> {
  return twoPhase(p, { forward: Op.Commit, backward: Op.Rollback }, false, (s) => s !== Status.Succeed);
}
