'use client';
// A picture of a transaction's steps: one box per branch, showing which ran, which failed or is
// being retried, and which were compensated / cancelled / rolled back.
import type { TransactionDetail } from '@dtx/api';

type Branch = TransactionDetail['branches'][number];
type Attempt = TransactionDetail['attempts'][number];

const FORWARD = new Set(['action', 'try', 'confirm', 'commit', 'msg']);
const BACKWARD = new Set(['compensate', 'cancel', 'rollback']);

export interface StepView {
  branchId: string;
  forward?: Branch;
  backward?: Branch;
  state: 'pending' | 'retrying' | 'done' | 'failed' | 'compensated' | 'compensating';
  lastAttempt?: Attempt;
}

export function stepsOf(d: TransactionDetail): StepView[] {
  const byId = new Map<string, StepView>();
  for (const b of d.branches) {
    const s = byId.get(b.branchId) ?? { branchId: b.branchId, state: 'pending' as const };
    if (FORWARD.has(b.op)) s.forward = b;
    else if (BACKWARD.has(b.op)) s.backward = b;
    byId.set(b.branchId, s);
  }
  const unfinished = !['succeed', 'failed'].includes(d.transaction.status);
  for (const s of byId.values()) {
    const attempts = d.attempts.filter((a) => a.branchId === s.branchId);
    s.lastAttempt = attempts[attempts.length - 1];
    const f = s.forward?.status;
    const b = s.backward?.status;
    if (b === 'succeed') s.state = 'compensated';
    else if (f === 'failed') s.state = d.transaction.status === 'aborting' && s.backward ? 'compensating' : 'failed';
    else if (f === 'succeed') s.state = d.transaction.status === 'aborting' && s.backward ? 'compensating' : 'done';
    else if (unfinished && s.lastAttempt && s.lastAttempt.outcome !== 'success') s.state = 'retrying';
  }
  return [...byId.values()];
}

const STATE_STYLE: Record<StepView['state'], string> = {
  pending: 'bg-slate-50 dark:bg-slate-950 ring-slate-300 dark:ring-slate-600 text-slate-600 dark:text-slate-300',
  retrying: 'bg-amber-50 dark:bg-amber-950/40 ring-amber-400 text-amber-900 dark:text-amber-300',
  done: 'bg-emerald-50 dark:bg-emerald-950/40 ring-emerald-400 text-emerald-900 dark:text-emerald-300',
  failed: 'bg-rose-50 dark:bg-rose-950/40 ring-rose-400 text-rose-900 dark:text-rose-300',
  compensated: 'bg-violet-50 dark:bg-violet-950/40 ring-violet-400 text-violet-900 dark:text-violet-300',
  compensating: 'bg-amber-50 dark:bg-amber-950/40 ring-violet-400 text-violet-900 dark:text-violet-300',
};

const path = (url: string) => {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
};

export function SagaSteps({ detail }: { detail: TransactionDetail }) {
  const steps = stepsOf(detail);
  if (steps.length === 0) return <p className="text-sm text-slate-500 dark:text-slate-400">No branches (yet).</p>;
  return (
    <ol className="flex flex-wrap items-stretch gap-2" aria-label="Steps">
      {steps.map((s, i) => (
        <li key={s.branchId} className="flex items-center gap-2">
          <div data-testid={`step-${s.branchId}`} data-state={s.state} className={`w-48 rounded-lg px-3 py-2 text-xs ring-2 ${STATE_STYLE[s.state]}`}>
            <div className="flex items-center justify-between font-semibold">
              <span>step {s.branchId}</span>
              <span className="uppercase tracking-wide">{s.state}</span>
            </div>
            {s.forward && (
              <div className="mt-1 truncate" title={s.forward.url}>
                {s.forward.op}: {path(s.forward.url)} <b>({s.forward.status})</b>
              </div>
            )}
            {s.backward && (
              <div className="truncate" title={s.backward.url}>
                {s.backward.op}: {path(s.backward.url)} <b>({s.backward.status})</b>
              </div>
            )}
            {s.state === 'retrying' && s.lastAttempt && (
              <div className="mt-1 truncate">
                last call: {s.lastAttempt.httpStatus ?? (s.lastAttempt.grpcCode !== null ? `gRPC ${s.lastAttempt.grpcCode}` : s.lastAttempt.outcome)}
              </div>
            )}
          </div>
          {i < steps.length - 1 && <span className="text-slate-400 dark:text-slate-500">→</span>}
        </li>
      ))}
    </ol>
  );
}
