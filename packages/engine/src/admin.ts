// Operator actions (dashboard, admin API): retry now, abort with rollback, force stop. Each one
// is a single conditional update, so it is race-free against running passes (on any instance)
// and against other operators; the scheduler then carries the transaction forward.
//
// Abort with rollback is new beyond dtm. Its state machine:
//
//   saga     submitted -> aborting   compensations of every step that ran (or may have run) run in
//                                    reverse order. A pass running at that moment is fenced: its
//                                    next branch result or status change fails, it stops, and the
//                                    compensating pass starts once its lease is released.
//   saga     prepared  -> failed     never executed (a saga is normally submitted directly).
//   tcc, xa  prepared  -> aborting   cancels / rollbacks of every registered branch (like dtm's
//                                    abort); later registrations are refused.
//   tcc, xa  submitted -> aborting   only while no pass is running and no confirm / commit has
//                                    succeeded: cancelling a confirmed branch would be wrong.
//   msg      prepared  -> failed     nothing was called (like dtm's abort).
//   msg      submitted               refused: message actions have no compensation.
//   workflow                         refused: the client SDK drives workflows (use force stop).
//   aborting                         already rolling back: accepted, nothing changes.
//   succeed, failed                  refused.
import type { GlobalRow, Store } from '@dtx/db';
import { systemClock, type Clock } from './pass.ts';
import { checkGid } from './request.ts';
import { isFinished, Op, Status } from './types.ts';

export type AdminAction = 'retry' | 'abort' | 'force-stop';

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
    const move = async (to: string, extra: { leaseFree?: boolean; noneSucceeded?: string[] } = {}): Promise<AdminResult> => {
      const ok = await this.store.changeStatus(gid, g.status, to, now, {
        rollbackReason: why,
        due: to === Status.Aborting,
        leaseFreeAt: extra.leaseFree ? now : undefined,
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
      return { gid, ok: false, message: `a ${extra.noneSucceeded?.join('/')} already succeeded: rolling back would undo it; use force stop`, from: g.status };
    };

    if (isFinished(g.status)) return { gid, ok: false, message: `already ${g.status}`, from: g.status };
    if (g.status === Status.Aborting) return { gid, ok: true, message: 'already rolling back', from: g.status, to: g.status };
    switch (g.transType) {
      case 'saga':
        return move(g.status === Status.Prepared ? Status.Failed : Status.Aborting);
      case 'tcc':
      case 'xa':
        if (g.status === Status.Prepared) return move(Status.Aborting);
        return move(Status.Aborting, { leaseFree: true, noneSucceeded: [g.transType === 'tcc' ? Op.Confirm : Op.Commit] });
      case 'msg':
        if (g.status === Status.Prepared) return move(Status.Failed);
        return { gid, ok: false, message: 'a submitted message cannot be rolled back: its actions have no compensation', from: g.status };
      default:
        return { gid, ok: false, message: `${g.transType} transactions are driven by their client; use force stop`, from: g.status };
    }
  }

  /** dtm's forceStop: unfinished -> failed without calling any branch. */
  async forceStop(gid: string, reason: string, actor: string): Promise<AdminResult> {
    const g = await this.load(gid);
    if (!('id' in g)) return g;
    if (isFinished(g.status)) return { gid, ok: false, message: `already ${g.status}`, from: g.status };
    const why = `force stopped by ${actor}${reason ? `: ${reason}` : ''}`.slice(0, REASON_LIMIT);
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
