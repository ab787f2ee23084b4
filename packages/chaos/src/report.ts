// Human-readable output of a run: the summary table, and the details of anything wrong.
import type { ChaosResult } from './run.ts';

export const columns = [
  'store',
  'scenario',
  'submitted',
  'acked',
  'succeed',
  'failed',
  'lost',
  'illegal',
  'overlap',
  'dup calls',
  'dup after 200',
  'p50 ms',
  'p99 ms',
  'max ms',
  'refused',
  '5xx',
];

export function row(r: ChaosResult): string[] {
  const p = r.report;
  const lost = p.lost.notInStore.length + p.lost.unfinished.length;
  const n5xx = Object.values(p.http5xx).reduce((a, b) => a + b, 0);
  const refused = Object.values(p.refused ?? {}).reduce((a, b) => a + b, 0);
  return [
    r.store,
    r.scenario,
    p.submitted,
    p.acknowledged,
    p.succeed,
    p.failed,
    lost,
    p.illegal.length,
    p.overlapping.length,
    p.duplicates.calls,
    p.duplicates.afterSuccess,
    p.latencyMs.p50,
    p.latencyMs.p99,
    Math.round(p.latencyMs.max),
    refused,
    n5xx,
  ].map(String);
}

export function table(rows: string[][], head = columns): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(w[i] ?? 0)).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

export function details(r: ChaosResult, limit = 10): string {
  const p = r.report;
  const out: string[] = [];
  const list = <T>(title: string, items: T[], fmt: (t: T) => string) => {
    if (items.length === 0) return;
    out.push(`${title} (${items.length}):`);
    for (const t of items.slice(0, limit)) out.push(`  ${fmt(t)}`);
    if (items.length > limit) out.push(`  ... ${items.length - limit} more in ${r.outDir}/report.json`);
  };
  list('lost: acknowledged, unknown to the store', p.lost.notInStore, (g) => g);
  list('lost: acknowledged, not finished', p.lost.unfinished, (u) => `${u.gid}: ${u.status}`);
  list('illegal outcomes', p.illegal, (i) => `${i.gid} ${i.status}: ${i.reasons.join('; ')}`);
  list('overlapping calls', p.overlapping, (o) => `${o.gid}: ${o.a} overlaps ${o.b} by ${o.overlapMs} ms`);
  list('not acknowledged', Object.entries(p.notAcknowledged), ([k, v]) => `${v} × ${k}`);
  list('admission refusals (503, retryable, nothing stored)', Object.entries(p.refused ?? {}), ([k, v]) => `${v} × ${k}`);
  list('HTTP 5xx answers to submit other than the admission refusal', Object.entries(p.http5xx), ([k, v]) => `${v} × ${k}`);
  list('branch calls not answered 200', Object.entries(p.faultAnswers), ([k, v]) => `${v} × ${k}`);
  out.push(
    `branch calls: ${p.branchCalls}; duplicate calls ${p.duplicates.calls} over ${p.duplicates.gids} gid(s), ${p.duplicates.afterSuccess} after the branch had been answered 200; unacknowledged but stored: ${p.unackedInStore}`,
  );
  out.push(`faults: ${r.events.map((e) => `${e.t}s ${e.what}`).join(', ') || 'none'}`);
  out.push(
    `time: submit ${r.seconds.submit.toFixed(1)} s, drain ${r.seconds.drain.toFixed(1)} s, total ${r.seconds.total.toFixed(1)} s; files in ${r.outDir}`,
  );
  return out.join('\n');
}

/** Whether a run broke an invariant (losses, illegal outcomes, overlapping calls). */
export function broken(r: ChaosResult): boolean {
  const p = r.report;
  return p.lost.notInStore.length + p.lost.unfinished.length + p.illegal.length + p.overlapping.length > 0;
}
