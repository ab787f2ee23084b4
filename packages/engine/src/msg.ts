// One msg pass (transactions.md §4.2): ask the client whether a timed-out prepared message
// committed, honour `delay`, then call the prepared actions (never compensated).
import type { DtmError } from './errors.ts';
import type { Pass } from './pass.ts';
import { Op, Status } from './types.ts';

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

export async function processMsg(p: Pass): Promise<DtmError | null> {
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
