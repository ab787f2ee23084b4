// Two-phase message (docs/protocol/transactions.md §4.2): every rule of the type in one place.
// A pass asks the client whether a timed-out prepared message committed (query_prepared),
// honours `delay`, then calls the prepared actions (never compensated). A `topic://NAME` step
// fans out to the topic's subscribers when the message is saved.
import { checkBranchUrl, checkCustomData, checkPayloads, pad2, TOPIC_PREFIX, type TargetRules } from '../checks.ts';
import { internal, type DtmError } from '../errors.ts';
import type { Pass } from '../pass.ts';
import { Status } from '../status.ts';
import type { NewBranch } from '../store/port.ts';
import { Op, type TransRequest } from '../model.ts';
import type { TopicResolver, TransTypeModule } from './module.ts';

/** msg custom_data: `{"delay": seconds}` (key matched case-insensitively). */
export function parseMsgDelay(customData: string): number {
  if (!customData) return 0;
  const v: unknown = JSON.parse(customData);
  if (v === null) return 0;
  if (typeof v !== 'object' || Array.isArray(v)) throw new Error('msg custom_data must be a JSON object');
  for (const [k, d] of Object.entries(v as Record<string, unknown>)) {
    if (k.toLowerCase() !== 'delay' || d === null) continue;
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) throw new Error('msg custom_data.delay must be a non-negative integer');
    return d;
  }
  return 0;
}

async function mayQueryPrepared(p: Pass): Promise<void> {
  if (!p.needProcess() || p.status === Status.Submitted) return;
  const r = await p.callUrl(p.trans.queryPrepared, '00', Op.Msg, null);
  if (r.outcome === 'success') {
    await p.changeStatus(Status.Submitted);
  } else if (r.outcome === 'failure') {
    await p.changeStatus(Status.Failed);
  } else if (r.outcome === 'ongoing') {
    p.touch('reset');
  } else {
    p.noteError(`query_prepared ${p.trans.queryPrepared}`, r.message);
    p.touch('backoff');
  }
}

async function processMsg(p: Pass): Promise<DtmError | null> {
  await mayQueryPrepared(p);
  if (!p.needProcess() || p.status === Status.Prepared) return null;
  const delay = parseMsgDelay(p.trans.customData);
  if (delay > 0 && p.now().getTime() - p.trans.createTime.getTime() < delay * 1000) {
    p.touch('keep', delay);
    return null;
  }
  const todo = p.branches.filter((b) => b.op === Op.Action && b.status === Status.Prepared);
  let err: DtmError | null = null;
  if (p.trans.options.concurrent) {
    // Results are taken in completion order; the first non-success one decides the outcome.
    const settled = await Promise.allSettled(todo.map((b) => p.exec(b)));
    for (const s of settled) if (s.status === 'rejected') throw s.reason;
    err = settled.map((s) => (s as PromiseFulfilledResult<{ err: DtmError | null }>).value.err).find((e) => e !== null) ?? null;
  } else {
    for (const b of todo) {
      err = (await p.exec(b)).err;
      if (err) break;
    }
  }
  if (err?.kind === 'ongoing') return null;
  if (err) return err;
  await p.changeStatus(Status.Succeed);
  return null;
}

export const msg: TransTypeModule = {
  name: 'msg',
  submit: 'run',
  abortPrepared: 'fail',
  abortRollsBack: false,

  checkRequest(req: TransRequest, rules: TargetRules): void {
    checkPayloads(req);
    checkCustomData(parseMsgDelay, req.customData);
    req.steps.forEach((step, i) => checkBranchUrl(`steps[${i}].action`, step.action ?? '', req.protocol, rules, true));
    checkBranchUrl('query_prepared', req.queryPrepared, req.protocol, rules);
  },

  /** One row per step, or per subscriber of a topic step (branch ids 01-01, 01-02, ...). */
  generateBranches(req: TransRequest, topics: TopicResolver): NewBranch[] {
    const out: NewBranch[] = [];
    req.steps.forEach((step, i) => {
      const action = step.action ?? '';
      const urls = action.startsWith(TOPIC_PREFIX) ? topics.resolve(action.slice(TOPIC_PREFIX.length)) : [action];
      if (urls.length === 0) throw internal('topic not found', true);
      urls.forEach((url, j) => {
        out.push({
          gid: req.gid,
          url,
          binData: req.payloads[i] ?? null,
          branchId: urls.length === 1 ? pad2(i + 1) : `${pad2(i + 1)}-${pad2(j + 1)}`,
          op: Op.Action,
          status: Status.Prepared,
        });
      });
    });
    return out;
  },

  process: processMsg,
  /** A prepared message times out (and is queried) after the server's TimeoutToFail by default. */
  timeoutLimit: (o, server) => o.timeoutToFail || server.timeoutToFail,
  failureSettles: () => false,

  operatorAbort: (status) =>
    status === Status.Prepared ? { to: Status.Failed } : { refuse: 'a submitted message cannot be rolled back: its actions have no compensation' },
  explainAbort: (status) =>
    status === Status.Prepared
      ? 'A prepared message fails at once; nothing was called.'
      : 'Refused: a submitted message cannot be rolled back (no compensation).',
};
