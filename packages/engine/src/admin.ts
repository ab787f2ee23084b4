// Operator actions (dashboard, admin API): retry now, abort with rollback, force stop. Each one
// is a single conditional update, so it is race-free against running passes (on any instance)
// and against other operators; the scheduler then carries the transaction forward.
//
// Abort with rollback is new beyond dtm. What it does to each type in each status is the type's
// `operatorAbort` (types/*.ts); the rules common to all are here: aborting is already rolling
// back (accepted, nothing changes), succeed and failed are refused. A saga pass running at that
// moment is fenced: its next branch result or status change fails, it stops, and the
// compensating pass starts once its lease is released. `allowedActions` tells the dashboard,
// before it asks, which actions apply and what they will do.
import { checkGid } from './checks.ts';
import { systemClock, type Clock } from './clock.ts';
import { assertTransition, isFinished, Status, type GlobalStatus } from './status.ts';
import type { GlobalRow, Store } from './store/port.ts';
import { findTransType } from './types/registry.ts';

export type AdminAction = 'retry' | 'abort' | 'force-stop';

/** Whether an action applies to a transaction now, and what it will do (or why not). */
export interface ActionAvailability {
  allowed: boolean;
  /** What the action will do, when allowed; why it cannot, when not. */
  text: string;
}

const RETRY_TEXT =
  'Makes it due now: the coordinator (any instance) runs its next step within TransCronInterval instead of waiting for the back-off. Branches are called again as in any retry, so they must be idempotent.';
const FORCE_STOP_TEXT =
  'Marks it failed without calling any branch. Nothing is compensated or cancelled: data in the branch services may stay inconsistent. Use only when you will repair it by hand.';

/** The actions an operator may take on a transaction in this state, for the dashboard. */
export function allowedActions(t: { status: GlobalStatus; transType: string }): Record<AdminAction, ActionAvailability> {
  if (isFinished(t.status)) {
    const no = { allowed: false, text: `already ${t.status}` };
    return { retry: no, abort: no, 'force-stop': no };
  }
  let abort: ActionAvailability;
  const type = findTransType(t.transType);
  if (t.status === Status.Aborting) abort = { allowed: false, text: 'already rolling back' };
  else if (!type) abort = { allowed: false, text: `unknown transaction type ${t.transType}` };
  else {
    const rule = type.operatorAbort(t.status);
    abort = 'refuse' in rule ? { allowed: false, text: rule.refuse } : { allowed: true, text: type.explainAbort(t.status) };
  }
  return { retry: { allowed: true, text: RETRY_TEXT }, abort, 'force-stop': { allowed: true, text: FORCE_STOP_TEXT } };
}

export interface AdminResult {
  gid: string;
  ok: boolean;
  /** What happened, or why nothing did. */
  message: string;
  /** Status before and after (when known). */
  from?: string;
  to?: string;
}

const REASON_LIMIT = 1000;

export class Admin {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock = systemClock,
  ) {}

  private async load(gid: string): Promise<GlobalRow | AdminResult> {
    checkGid(gid);
    const g = await this.store.findGlobal(gid);
    return g ?? { gid, ok: false, message: 'no such transaction' };
  }

  private leased(g: GlobalRow, now: Date): boolean {
    return g.leaseExpire !== null && g.leaseExpire.getTime() > now.getTime();
  }

  /** Makes an unfinished transaction due now; the next scheduler poll (any instance) runs it. */
  async retryNow(gid: string): Promise<AdminResult> {
    const g = await this.load(gid);
    if (!('id' in g)) return g;
    const now = this.clock.now();
    if (isFinished(g.status)) return { gid, ok: false, message: `already ${g.status}`, from: g.status };
    if (await this.store.makeDue(gid, now)) {
      return { gid, ok: true, message: 'due now: the scheduler runs it within TransCronInterval', from: g.status, to: g.status };
    }
    const after = await this.store.findGlobal(gid);
    if (after && !isFinished(after.status) && this.leased(after, now)) {
      return { gid, ok: false, message: 'a pass is running on it right now', from: after.status };
    }
    return { gid, ok: false, message: `not retried: status is ${after?.status ?? 'unknown'}`, from: after?.status };
  }

  /** Abort with rollback (see the state machine above). */
  async abort(gid: string, reason: string, actor: string): Promise<AdminResult> {
    const g = await this.load(gid);
    if (!('id' in g)) return g;
    const now = this.clock.now();
    const why = `aborted by ${actor}${reason ? `: ${reason}` : ''}`.slice(0, REASON_LIMIT);
    const move = async (to: GlobalStatus, extra: { leaseFree?: boolean; noneSucceeded?: string[] } = {}): Promise<AdminResult> => {
      assertTransition(g.status, to);
      const ok = await this.store.changeStatus(gid, g.status, to, now, {
        rollbackReason: why,
        due: to === Status.Aborting,
        leaseFree: extra.leaseFree,
        noneSucceeded: extra.noneSucceeded,
      });
      if (ok) {
        return {
          gid,
          ok: true,
          message: to === Status.Aborting ? 'aborting: rollback starts at the next scheduler poll' : 'failed: nothing had run',
          from: g.status,
          to,
        };
      }
      const after = await this.store.findGlobal(gid);
      if (after && after.status !== g.status) {
        return { gid, ok: false, message: `status changed to ${after.status} meanwhile; nothing done`, from: after.status };
      }
      if (extra.leaseFree && after && this.leased(after, now)) {
        return { gid, ok: false, message: 'a pass is running on it right now; try again in a moment', from: g.status };
      }
      return {
        gid,
        ok: false,
        message: `a ${extra.noneSucceeded?.join('/')} already succeeded: rolling back would undo it; use force stop`,
        from: g.status,
      };
    };

    if (isFinished(g.status)) return { gid, ok: false, message: `already ${g.status}`, from: g.status };
    if (g.status === Status.Aborting) return { gid, ok: true, message: 'already rolling back', from: g.status, to: g.status };
    const type = findTransType(g.transType);
    if (!type) return { gid, ok: false, message: `unknown transaction type ${g.transType}; use force stop`, from: g.status };
    const rule = type.operatorAbort(g.status);
    if ('refuse' in rule) return { gid, ok: false, message: rule.refuse, from: g.status };
    return move(rule.to, { leaseFree: rule.leaseFree, noneSucceeded: rule.noneSucceeded });
  }

  /** dtm's forceStop: unfinished -> failed without calling any branch. */
  async forceStop(gid: string, reason: string, actor: string): Promise<AdminResult> {
    const g = await this.load(gid);
    if (!('id' in g)) return g;
    if (isFinished(g.status)) return { gid, ok: false, message: `already ${g.status}`, from: g.status };
    const why = `force stopped by ${actor}${reason ? `: ${reason}` : ''}`.slice(0, REASON_LIMIT);
    assertTransition(g.status, Status.Failed);
    const ok = await this.store.changeStatus(gid, g.status, Status.Failed, this.clock.now(), { rollbackReason: why });
    if (ok) return { gid, ok: true, message: 'failed; no branch was called', from: g.status, to: Status.Failed };
    const after = await this.store.findGlobal(gid);
    return { gid, ok: false, message: `status changed to ${after?.status} meanwhile; nothing done`, from: after?.status };
  }

  run(action: AdminAction, gid: string, reason: string, actor: string): Promise<AdminResult> {
    switch (action) {
      case 'retry':
        return this.retryNow(gid);
      case 'abort':
        return this.abort(gid, reason, actor);
      case 'force-stop':
        return this.forceStop(gid, reason, actor);
    }
  }
}
