// Saga (docs/protocol/transactions.md §4.1): every rule of the type in one place. A pass runs
// eligible actions and, once the saga is aborting, compensates what may have run in reverse
// (dependency) order. Ordering decisions come from saga-plan.ts (pure); this file carries them out.
//
// Deliberate difference from dtm: when an action fails while others are still running, dtm starts
// compensating those in-flight actions at once. We first wait for them to answer (each call is
// bounded by its request timeout), so a compensation never overtakes its own action.
import { checkBranchUrl, checkCustomData, checkPayloads, pad2, type TargetRules } from '../checks.ts';
import type { DtmError } from '../errors.ts';
import type { ExecResult, Pass } from '../pass.ts';
import { Status } from '../status.ts';
import type { BranchRow, NewBranch } from '../store/port.ts';
import { Op, type TransRequest } from '../model.ts';
import type { TransTypeModule } from './module.ts';
import { checkSagaOrders, newSagaState, parseSagaCustom, pickActions, pickCompensations, prepareToCompensate } from './saga-plan.ts';

export const saga: TransTypeModule = {
  name: 'saga',
  submit: 'run',
  abortRollsBack: false,

  checkRequest(req: TransRequest, rules: TargetRules): void {
    checkPayloads(req);
    checkCustomData((text) => checkSagaOrders(parseSagaCustom(text), req.steps.length), req.customData);
    req.steps.forEach((step, i) => {
      checkBranchUrl(`steps[${i}].action`, step.action ?? '', req.protocol, rules);
      checkBranchUrl(`steps[${i}].compensate`, step.compensate ?? '', req.protocol, rules);
    });
  },

  /** Two rows per step, (compensate, action): position 2*s is step s's compensation. */
  generateBranches(req: TransRequest): NewBranch[] {
    const out: NewBranch[] = [];
    req.steps.forEach((step, i) => {
      for (const op of [Op.Compensate, Op.Action]) {
        out.push({ gid: req.gid, url: step[op] ?? '', binData: req.payloads[i] ?? null, branchId: pad2(i + 1), op, status: Status.Prepared });
      }
    });
    return out;
  },

  process: processSaga,
  /** A saga has no default timeout: only its own timeout_to_fail. */
  timeoutLimit: (o) => o.timeoutToFail,
  /** A FAILURE answer to an action fails the step (and so the saga); anything else is retried. */
  failureSettles: (op) => op === Op.Action,

  operatorAbort: (status) => ({ to: status === Status.Prepared ? Status.Failed : Status.Aborting }),
  explainAbort: (status) =>
    status === Status.Prepared
      ? 'It never ran: it becomes failed at once.'
      : 'It goes to aborting: the step in flight (if any) finishes, then every step that ran (or may have run) is compensated in reverse order, and it ends failed.',
};

interface Done {
  pos: number;
  result: ExecResult | null;
  /** Set when the call rejected; `error` is what it rejected with. */
  failed?: true;
  error?: unknown;
}

async function processSaga(p: Pass): Promise<DtmError | null> {
  const inflight = new Map<number, Promise<Done>>();
  try {
    return await sagaPass(p, inflight);
  } finally {
    // Never end a pass (and release its lease) while one of its calls is still running.
    await Promise.all(inflight.values());
  }
}

async function sagaPass(p: Pass, inflight: Map<number, Promise<Done>>): Promise<DtmError | null> {
  // Rows adopted from dtm were never checked: a pass that cannot use them records why (runner.ts).
  const custom = checkCustomData((text) => checkSagaOrders(parseSagaCustom(text), p.branches.length / 2), p.trans.customData);
  const o = p.trans.options;
  const timeoutReason = () => `Timeout after ${o.timeoutToFail} seconds`;
  if (p.status === Status.Submitted && p.isTimedOut()) await p.changeStatus(Status.Aborting, timeoutReason());

  const branches = p.branches;
  const state = newSagaState(
    custom,
    branches.map((b) => b.status),
  );
  let aToStart = 0;
  let aFailed = 0;
  let aSucceed = 0;
  for (let pos = 1; pos < branches.length; pos += 2) {
    if (branches[pos]?.status === Status.Prepared) aToStart++;
    else if (branches[pos]?.status === Status.Failed) aFailed++;
  }
  let failureMessage = '';
  let retries = o.retryCount;

  const branchAt = (pos: number): BranchRow => {
    const b = branches[pos];
    if (!b) throw new Error(`saga: no branch at position ${pos}`);
    return b;
  };
  const start = (pos: number) => {
    state.started[pos] = true;
    inflight.set(
      pos,
      p.exec(branchAt(pos)).then(
        (result): Done => ({ pos, result }),
        (error): Done => ({ pos, result: null, failed: true, error }),
      ),
    );
  };
  const next = async (): Promise<Done> => {
    const done = await Promise.race(inflight.values());
    inflight.delete(done.pos);
    if (done.failed) throw done.error;
    state.status[done.pos] = branchAt(done.pos).status;
    return done;
  };

  // Forward: actions.
  const count = (done: Done): void => {
    if (state.status[done.pos] === Status.Failed) {
      aFailed++;
      failureMessage ||= done.result?.failureMessage ?? '';
    } else if (state.status[done.pos] === Status.Succeed) {
      aSucceed++;
    }
  };
  const accountAction = async (done: Done): Promise<void> => {
    const stillPrepared = state.status[done.pos] === Status.Prepared;
    if (o.retryLimit > 0 && stillPrepared && p.status === Status.Submitted) {
      if (retries < o.retryLimit) {
        retries++;
        start(done.pos);
        return;
      }
      await p.changeStatus(Status.Aborting, `RetryCount is greater than RetryLimit, RetryLimit: ${o.retryLimit}`);
      return;
    }
    count(done);
  };
  while (p.status === Status.Submitted && !p.isTimedOut() && aFailed === 0) {
    for (const pos of pickActions(state)) start(pos);
    if (inflight.size === 0) break;
    await accountAction(await next());
  }
  // Let actions still running answer before anything is compensated.
  while (inflight.size > 0) count(await next());

  if (p.status === Status.Submitted && aFailed === 0 && aToStart === aSucceed) {
    await p.changeStatus(Status.Succeed);
    return null;
  }
  if (p.status === Status.Submitted && aFailed > 0) {
    await p.changeStatus(Status.Aborting, failureMessage || 'fail message lost');
  }
  if (p.status === Status.Submitted && p.isTimedOut()) {
    await p.changeStatus(Status.Aborting, timeoutReason());
  }
  if (p.status !== Status.Aborting) return null;

  // Backward: compensations.
  const toCompensate = prepareToCompensate(state);
  let compensated = 0;
  while (p.status === Status.Aborting) {
    for (const pos of pickCompensations(state)) start(pos);
    if (inflight.size === 0) break;
    const done = await next();
    if (branchAt(done.pos).op === Op.Compensate && state.status[done.pos] === Status.Succeed) compensated++;
  }
  if (p.status === Status.Aborting && compensated === toCompensate) await p.changeStatus(Status.Failed);
  return null;
}
