// The transactions filter lives in the URL, so a view can be shared as a link:
//   ?gid=order-&gidMode=prefix&status=submitted,aborting&type=saga&from=<ms>&to=<ms>
//   &stuck=1&failing=<s>&calls=<n>&ongoing=<s>&overdue=<s>&age=<s>   (stuck thresholds)
//   &failingAt=<endpoint>&error=<text>&retryMin=<n>&retryMax=<n>
//   &updFrom=<ms>&updTo=<ms>&finFrom=<ms>&finTo=<ms>&cursor=<id>
import type { Filter } from '@dtx/api/filters';
import { STATUSES, TRANS_TYPES } from '@dtx/api/filters';

type Status = (typeof STATUSES)[number];
type TransType = (typeof TRANS_TYPES)[number];

const int = (v: string | null) => (v && /^\d+$/.test(v) ? Number(v) : undefined);

/** Numeric filter keys and their URL parameter; the stuck thresholds only with `stuck`. */
const NUMBERS: [keyof Filter, string, 'stuck'?][] = [
  ['createdFrom', 'from'],
  ['createdTo', 'to'],
  ['stuckFailingSeconds', 'failing', 'stuck'],
  ['stuckFailedCalls', 'calls', 'stuck'],
  ['stuckOngoingSeconds', 'ongoing', 'stuck'],
  ['stuckOverdueSeconds', 'overdue', 'stuck'],
  ['stuckAgeSeconds', 'age', 'stuck'],
  ['retryMin', 'retryMin'],
  ['retryMax', 'retryMax'],
  ['updatedFrom', 'updFrom'],
  ['updatedTo', 'updTo'],
  ['finishedFrom', 'finFrom'],
  ['finishedTo', 'finTo'],
];

export function filterFromParams(p: URLSearchParams): Filter {
  const list = <T extends string>(k: string, allowed: readonly T[]) => {
    const v = (p.get(k) ?? '').split(',').filter((s): s is T => (allowed as readonly string[]).includes(s));
    return v.length ? v : undefined;
  };
  const f: Filter = {
    gid: p.get('gid') || undefined,
    gidMode: p.get('gidMode') === 'prefix' ? 'prefix' : undefined,
    status: list<Status>('status', STATUSES),
    transType: list<TransType>('type', TRANS_TYPES),
    stuck: p.get('stuck') === '1' || undefined,
    failingAt: p.get('failingAt') || undefined,
    errorText: p.get('error') || undefined,
    ...Object.fromEntries(NUMBERS.map(([key, param]) => [key, int(p.get(param))])),
  };
  return Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined));
}

export function paramsFromFilter(f: Filter, cursor?: string): URLSearchParams {
  const p = new URLSearchParams();
  if (f.gid) p.set('gid', f.gid);
  if (f.gid && f.gidMode === 'prefix') p.set('gidMode', 'prefix');
  if (f.status?.length) p.set('status', f.status.join(','));
  if (f.transType?.length) p.set('type', f.transType.join(','));
  if (f.stuck) p.set('stuck', '1');
  if (f.failingAt) p.set('failingAt', f.failingAt);
  if (f.errorText) p.set('error', f.errorText);
  for (const [key, param, only] of NUMBERS) {
    const v = f[key];
    if (typeof v === 'number' && (only !== 'stuck' || f.stuck)) p.set(param, String(v));
  }
  if (cursor) p.set('cursor', cursor);
  return p;
}
