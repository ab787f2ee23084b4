// The checker: waits until every acknowledged saga has finished (or a deadline), then judges each
// saga by what the branch service saw, against dtm's saga semantics (docs/protocol/transactions.md
// §4.1 and the saga notes of docs/compatibility.md). For one gid, with steps 01 (TransOut) and 02
// (TransIn), "answered" meaning a call the service answered 200 SUCCESS:
//
//   succeed is legal only if: the saga was not scripted to roll back; every step's action was
//     answered at least once; no action was answered 409; no compensation was ever called.
//   failed is legal only if: the saga was scripted to roll back (nothing else fails one here:
//     no timeout_to_fail is set and 503s are retried); an action was answered 409; every step
//     whose action was called (answered or not: it may have taken effect) has an answered
//     compensation; no compensation was called for a step whose action never was (in this
//     two-step shape a saga fails only once step 02's action was called, so both were); no
//     compensation call started before the last call of its own action ended; compensations ran
//     in reverse order (no call of step 01's compensation started before step 02's compensation,
//     when there was one, had been answered); no action call started after a compensation did.
//
// Independently of the outcome:
//   overlapping: two calls of one gid whose [start, end] intervals intersect. A saga here runs its
//     steps one after the other, so this is one transaction processed twice at once.
//   duplicates: calls of one (gid, branch_id, op) beyond the first (dtm's delivery is at least
//     once, so these are allowed; they are counted), and among them those made after the same
//     branch had already been answered 200 (redelivery, not a retry of a fault).
//   lost: acknowledged (200) but unknown to the store, or not finished by the deadline.
import { acknowledged, type Ack } from './submitter.ts';
import type { CallRecord } from './branch-service.ts';
import { sleep } from './procs.ts';

export interface Final {
  gid: string;
  /** The store's status, or null when the store does not know the gid. */
  status: string | null;
}

export interface Report {
  submitted: number;
  acknowledged: number;
  /** Not acknowledged, by reason: `HTTP 503: message` or the client error. */
  notAcknowledged: Record<string, number>;
  /** Not acknowledged but found in the store all the same (it was written before the answer was lost). */
  unackedInStore: number;
  succeed: number;
  failed: number;
  lost: { notInStore: string[]; unfinished: { gid: string; status: string }[] };
  illegal: { gid: string; status: string; reasons: string[] }[];
  overlapping: { gid: string; a: string; b: string; overlapMs: number }[];
  duplicates: { calls: number; gids: number; afterSuccess: number };
  branchCalls: number;
  faultAnswers: Record<string, number>;
  latencyMs: { p50: number; p99: number; max: number };
  /** 5xx answers to submit other than the admission refusal, by status and message. */
  http5xx: Record<string, number>;
  /** Admission refusals (503 with a `reason`, nothing stored: docs/operations.md, "Overload"), by reason. */
  refused: Record<string, number>;
}

/** The reasons of the coordinator's admission refusal (retryable, nothing stored). */
export const REFUSAL_REASONS = ['inflight_submits', 'inflight_passes', 'event_loop_lag', 'store_unavailable'];

/** The refusal reason of a 503 answer's body, or '' when it is not the admission refusal. */
export function refusalReason(status: number, body: string): string {
  if (status !== 503) return '';
  try {
    const reason: unknown = (JSON.parse(body) as { reason?: unknown }).reason;
    return typeof reason === 'string' && REFUSAL_REASONS.includes(reason) ? reason : '';
  } catch {
    return '';
  }
}

const key = (c: CallRecord) => `${c.branch_id}:${c.op}`;
const label = (c: CallRecord) => `${c.route}/${c.op}@${c.start.toFixed(1)}-${c.end ? c.end.toFixed(1) : 'open'}(${c.status || 'aborted'})`;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return Math.round((sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0) * 10) / 10;
}

/** Why one finished saga's outcome is illegal (empty: legal). */
export function judge(status: string, rollback: boolean, calls: CallRecord[]): string[] {
  const reasons: string[] = [];
  const steps = ['01', '02'];
  const of = (b: string, op: string) => calls.filter((c) => c.branch_id === b && c.op === op);
  const answered = (cs: CallRecord[]) => cs.filter((c) => c.status === 200 && !c.aborted);
  const comps = calls.filter((c) => c.op === 'compensate');
  const refused = calls.filter((c) => c.op === 'action' && c.status === 409);
  if (status === 'succeed') {
    if (rollback) reasons.push('scripted to roll back, but succeeded');
    for (const b of steps) if (answered(of(b, 'action')).length === 0) reasons.push(`succeeded, but action ${b} was never answered 200`);
    if (refused.length > 0) reasons.push('succeeded, but an action was answered 409');
    if (comps.length > 0) reasons.push(`succeeded, but ${comps.length} compensation call(s) were made`);
  } else if (status === 'failed') {
    if (!rollback) reasons.push('failed, but was not scripted to roll back');
    if (refused.length === 0) reasons.push('failed, but no action was answered 409');
    for (const b of steps) {
      const acts = of(b, 'action');
      const cs = of(b, 'compensate');
      if (acts.length > 0 && answered(cs).length === 0) reasons.push(`action ${b} was called, but its compensation was never answered 200`);
      if (acts.length === 0 && cs.length > 0) reasons.push(`compensation ${b} was called, but its action never was`);
      const lastActionEnd = Math.max(...acts.map((c) => c.end || Infinity));
      if (cs.some((c) => c.start < lastActionEnd)) reasons.push(`compensation ${b} started before its action's last call ended`);
    }
    const c2 = answered(of('02', 'compensate'));
    const c1 = of('01', 'compensate');
    if (c2.length > 0 && c1.length > 0) {
      const firstC2Done = Math.min(...c2.map((c) => c.end));
      if (c1.some((c) => c.start < firstC2Done)) reasons.push('compensation 01 started before compensation 02 was answered (not reverse order)');
    }
    const firstComp = Math.min(...comps.map((c) => c.start));
    if (calls.some((c) => c.op === 'action' && c.start > firstComp)) reasons.push('an action was called after compensation had begun');
  }
  return reasons;
}

export function analyse(acks: Ack[], calls: CallRecord[], finals: Map<string, Final>): Report {
  const byGid = new Map<string, CallRecord[]>();
  for (const c of calls) byGid.set(c.gid, [...(byGid.get(c.gid) ?? []), c]);
  const r: Report = {
    submitted: acks.length,
    acknowledged: 0,
    notAcknowledged: {},
    unackedInStore: 0,
    succeed: 0,
    failed: 0,
    lost: { notInStore: [], unfinished: [] },
    illegal: [],
    overlapping: [],
    duplicates: { calls: 0, gids: 0, afterSuccess: 0 },
    branchCalls: calls.length,
    faultAnswers: {},
    latencyMs: { p50: 0, p99: 0, max: 0 },
    http5xx: {},
    refused: {},
  };
  for (const a of acks) {
    const f = finals.get(a.gid);
    const inStore = f !== undefined && f.status !== null;
    if (acknowledged(a)) {
      r.acknowledged++;
      if (f === undefined) r.lost.unfinished.push({ gid: a.gid, status: 'unread (no coordinator answered the query)' });
      else if (!inStore) r.lost.notInStore.push(a.gid);
      else if (f.status !== 'succeed' && f.status !== 'failed') r.lost.unfinished.push({ gid: a.gid, status: f.status! });
    } else {
      const why = a.status ? `HTTP ${a.status}: ${a.error.slice(0, 120)}` : a.error;
      r.notAcknowledged[why] = (r.notAcknowledged[why] ?? 0) + 1;
      if (inStore) r.unackedInStore++;
    }
    const refusal = refusalReason(a.status, a.error);
    if (refusal) r.refused[refusal] = (r.refused[refusal] ?? 0) + 1;
    else if (a.status >= 500) {
      const why = `${a.status} ${a.error.slice(0, 120)}`;
      r.http5xx[why] = (r.http5xx[why] ?? 0) + 1;
    }
    if (!inStore) continue;
    if (f.status === 'succeed') r.succeed++;
    if (f.status === 'failed') r.failed++;
    const cs = byGid.get(a.gid) ?? [];
    if (f.status === 'succeed' || f.status === 'failed') {
      const reasons = judge(f.status, a.rollback, cs);
      if (reasons.length > 0) r.illegal.push({ gid: a.gid, status: f.status, reasons });
    }
  }
  for (const [gid, cs] of byGid) {
    const sorted = [...cs].sort((x, y) => x.start - y.start);
    let open: CallRecord | null = null;
    for (const c of sorted) {
      if (open && c.start < (open.end || Infinity)) {
        r.overlapping.push({ gid, a: label(open), b: label(c), overlapMs: Math.round(((open.end || Infinity) - c.start) * 10) / 10 });
      }
      if (!open || (c.end || Infinity) > (open.end || Infinity)) open = c;
    }
    const seen = new Map<string, number>();
    const okAt = new Map<string, number>();
    let dup = false;
    for (const c of sorted) {
      const k = key(c);
      const n = (seen.get(k) ?? 0) + 1;
      seen.set(k, n);
      if (n > 1) {
        r.duplicates.calls++;
        dup = true;
        if ((okAt.get(k) ?? Infinity) < c.start) r.duplicates.afterSuccess++;
      }
      if (c.status === 200 && !c.aborted) okAt.set(k, Math.min(okAt.get(k) ?? Infinity, c.end));
      if (c.status === 503) r.faultAnswers['503 (injected)'] = (r.faultAnswers['503 (injected)'] ?? 0) + 1;
      if (c.aborted) r.faultAnswers['aborted by the coordinator'] = (r.faultAnswers['aborted by the coordinator'] ?? 0) + 1;
    }
    if (dup) r.duplicates.gids++;
  }
  const lat = acks.map((a) => a.latencyMs).sort((x, y) => x - y);
  r.latencyMs = { p50: percentile(lat, 50), p99: percentile(lat, 99), max: percentile(lat, 100) };
  return r;
}

/** The store's status of one gid, through a coordinator's query API; throws when none answers. */
async function queryStatus(targets: string[], gid: string): Promise<Final> {
  let last: unknown;
  for (const t of targets) {
    try {
      const r = await fetch(`${t}/api/dtmsvr/query?gid=${encodeURIComponent(gid)}`, { signal: AbortSignal.timeout(10_000) });
      if (r.status !== 200) throw new Error(`query ${gid}: HTTP ${r.status} ${await r.text()}`);
      const body = (await r.json()) as { transaction?: { status?: string } | null };
      return { gid, status: body.transaction?.status ?? null };
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

/**
 * Polls the store until every acknowledged gid is finished or `deadlineMs` passes, then reads
 * every submitted gid's final status.
 */
export async function drain(
  acks: Ack[],
  targets: () => string[],
  deadlineMs: number,
  progress?: (pending: number) => void,
): Promise<Map<string, Final>> {
  const finals = new Map<string, Final>();
  const finished = (f?: Final) => f?.status === 'succeed' || f?.status === 'failed';
  const deadline = Date.now() + deadlineMs;
  const read = async (gids: string[]) => {
    let i = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (i < gids.length) {
          const gid = gids[i++];
          if (gid === undefined) break;
          try {
            finals.set(gid, await queryStatus(targets(), gid));
          } catch {
            // no coordinator answered this time: asked again next round
          }
        }
      }),
    );
  };
  for (;;) {
    const pending = acks.filter((a) => acknowledged(a) && !finished(finals.get(a.gid))).map((a) => a.gid);
    progress?.(pending.length);
    if (pending.length === 0 || Date.now() > deadline) break;
    await read(pending);
    if (acks.every((a) => a.status !== 200 || finished(finals.get(a.gid)))) break;
    await sleep(1000);
  }
  await read(acks.filter((a) => !finished(finals.get(a.gid))).map((a) => a.gid));
  return finals;
}
