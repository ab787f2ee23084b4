// One saga pass (transactions.md §4.1): run eligible actions, and once the saga is aborting,
// compensate what may have run in reverse (dependency) order. Ordering decisions come from
// plan.ts; this file only carries them out.
//
// Deliberate difference from dtm: when an action fails while others are still running, dtm starts
// compensating those in-flight actions at once. We first wait for them to answer (each call is
// bounded by its request timeout), so a compensation never overtakes its own action.
import type { DtmError } from '../errors.ts';
import type { ExecResult, Pass } from '../pass.ts';
import { Op, Status } from '../types.ts';
import { newSagaState, parseSagaCustom, pickActions, pickCompensations, prepareToCompensate } from './plan.ts';

interface Done {
  pos: number;
  result: ExecResult | null;
  error?: unknown;
}

export async function processSaga(p: Pass): Promise<DtmError | null> {
  const inflight = new Map<number, Promise<Done>>();
  try {
    return await sagaPass(p, inflight);
  } finally {
    // Never end a pass (and release its lease) while one of its calls is still running.
    await Promise.all(inflight.values());
  }
}

async function sagaPass(p: Pass, inflight: Map<number, Promise<Done>>): Promise<DtmError | null> {
  const custom = parseSagaCustom(p.trans.customData);
  const o = p.trans.options;
  const timeoutReason = () => `Timeout after ${o.timeoutToFail} seconds`;
  if (p.status === Status.Submitted && p.isTimedOut()) await p.changeStatus(Status.Aborting, timeoutReason());

  const branches = p.branches;
  const state = newSagaState(custom, branches.map((b) => b.status));
  let aToStart = 0;
  let aFailed = 0;
  let aSucceed = 0;
  for (let pos = 1; pos < branches.length; pos += 2) {
    if (branches[pos].status === Status.Prepared) aToStart++;
    else if (branches[pos].status === Status.Failed) aFailed++;
  }
  let failureMessage = '';
  let retries = o.retryCount;

  const start = (pos: number) => {
    state.started[pos] = true;
    inflight.set(
      pos,
      p.exec(branches[pos]).then(
        (result): Done => ({ pos, result }),
        (error): Done => ({ pos, result: null, error }),
      ),
    );
  };
  const next = async (): Promise<Done> => {
    const done = await Promise.race(inflight.values());
    inflight.delete(done.pos);
    if (done.error) throw done.error;
    state.status[done.pos] = branches[done.pos].status;
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
    if (branches[done.pos].op === Op.Compensate && state.status[done.pos] === Status.Succeed) compensated++;
  }
  if (p.status === Status.Aborting && compensated === toCompensate) await p.changeStatus(Status.Failed);
  return null;
}
