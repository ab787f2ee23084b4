// The transactions filter lives in the URL, so a view can be shared as a link:
//   ?gid=order-&gidMode=prefix&status=submitted,aborting&type=saga&from=<ms>&to=<ms>&stuck=1
//   &overdue=<s>&retries=<n>&age=<s>&cursor=<id>
import type { Filter } from '@dtx/api/filters';
import { STATUSES, TRANS_TYPES } from '@dtx/api/filters';

type Status = (typeof STATUSES)[number];
type TransType = (typeof TRANS_TYPES)[number];

const int = (v: string | null) => (v && /^\d+$/.test(v) ? Number(v) : undefined);

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
    createdFrom: int(p.get('from')),
    createdTo: int(p.get('to')),
    stuck: p.get('stuck') === '1' || undefined,
    stuckOverdueSeconds: int(p.get('overdue')),
    stuckRetryCount: int(p.get('retries')),
    stuckAgeSeconds: int(p.get('age')),
  };
  return Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined));
}

export function paramsFromFilter(f: Filter, cursor?: string): URLSearchParams {
  const p = new URLSearchParams();
  if (f.gid) p.set('gid', f.gid);
  if (f.gid && f.gidMode === 'prefix') p.set('gidMode', 'prefix');
  if (f.status?.length) p.set('status', f.status.join(','));
  if (f.transType?.length) p.set('type', f.transType.join(','));
  if (f.createdFrom !== undefined) p.set('from', String(f.createdFrom));
  if (f.createdTo !== undefined) p.set('to', String(f.createdTo));
  if (f.stuck) p.set('stuck', '1');
  if (f.stuck && f.stuckOverdueSeconds !== undefined) p.set('overdue', String(f.stuckOverdueSeconds));
  if (f.stuck && f.stuckRetryCount !== undefined) p.set('retries', String(f.stuckRetryCount));
  if (f.stuck && f.stuckAgeSeconds !== undefined) p.set('age', String(f.stuckAgeSeconds));
  if (cursor) p.set('cursor', cursor);
  return p;
}
