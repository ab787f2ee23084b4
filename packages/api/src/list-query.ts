// The transactions list's view (filter and sort order) as a URL query string, so a view can be
// shared as a link and saved by name:
//   ?gid=order-&gidMode=prefix&status=submitted,aborting&type=saga&from=<ms>&to=<ms>
//   &stuck=1&failing=<s>&calls=<n>&ongoing=<s>&overdue=<s>&age=<s>   (stuck thresholds)
//   &failingAt=<endpoint>&error=<text>&retryMin=<n>&retryMax=<n>&branchUrl=<prefix>
//   &updFrom=<ms>&updTo=<ms>&finFrom=<ms>&finTo=<ms>&sort=<created|updated|nextRetry|retries>&dir=asc
//   &cursor=<page>
// The page reads it leniently (what it does not understand is left out); a saved view is read
// strictly (parseViewQuery), so what is stored is exactly what the page will show.
import { describeZodError } from './errors.ts';
import { SORT_KEYS, STATUSES, TRANS_TYPES, viewSchema, type Filter, type SortKey, type View } from './filters.ts';

type Status = (typeof STATUSES)[number];
type TransType = (typeof TRANS_TYPES)[number];

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
/** Text filter keys and their URL parameter. */
const TEXTS: [keyof Filter, string][] = [
  ['gid', 'gid'],
  ['failingAt', 'failingAt'],
  ['errorText', 'error'],
  ['branchUrl', 'branchUrl'],
];
const PARAMS = new Set([...NUMBERS.map(([, p]) => p), ...TEXTS.map(([, p]) => p), 'gidMode', 'status', 'type', 'stuck', 'sort', 'dir', 'cursor']);

/** The view in a query string, and what in it could not be read (empty when all of it could). */
function readView(p: URLSearchParams): { view: View; problems: string[] } {
  const problems: string[] = [];
  for (const k of new Set(p.keys())) if (!PARAMS.has(k)) problems.push(`There is no parameter ${k} in the list's query.`);
  const list = <T extends string>(k: string, allowed: readonly T[]) => {
    const all = (p.get(k) ?? '').split(',').filter(Boolean);
    const v = all.filter((s): s is T => (allowed as readonly string[]).includes(s));
    if (v.length < all.length) problems.push(`The ${k} parameter must be some of ${allowed.join(', ')}.`);
    return v.length ? v : undefined;
  };
  const int = (k: string) => {
    const v = p.get(k);
    if (!v) return undefined;
    if (/^\d+$/.test(v)) return Number(v);
    problems.push(`The ${k} parameter must be a whole number.`);
    return undefined;
  };
  const oneOf = <T extends string>(k: string, allowed: readonly T[]): T | undefined => {
    const v = p.get(k);
    if (!v) return undefined;
    if ((allowed as readonly string[]).includes(v)) return v as T;
    problems.push(`The ${k} parameter must be one of ${allowed.join(', ')}.`);
    return undefined;
  };
  const f: View = {
    ...Object.fromEntries(TEXTS.map(([key, param]) => [key, p.get(param) || undefined])),
    gidMode: oneOf('gidMode', ['exact', 'prefix'] as const) === 'prefix' ? 'prefix' : undefined,
    status: list<Status>('status', STATUSES),
    transType: list<TransType>('type', TRANS_TYPES),
    stuck: oneOf('stuck', ['1']) ? true : undefined,
    ...Object.fromEntries(NUMBERS.map(([key, param]) => [key, int(param)])),
    sort: oneOf<SortKey>('sort', SORT_KEYS),
    dir: oneOf('dir', ['asc', 'desc'] as const) === 'asc' ? 'asc' : undefined,
  };
  return { view: Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined)), problems };
}

/** The page's view from its URL: what cannot be read is left out. */
export function viewFromParams(p: URLSearchParams): View {
  return readView(p).view;
}

/** The query string of a view (and page cursor): only what differs from the defaults. */
export function paramsFromView(f: View, cursor?: string): URLSearchParams {
  const p = new URLSearchParams();
  if (f.gid) p.set('gid', f.gid);
  if (f.gid && f.gidMode === 'prefix') p.set('gidMode', 'prefix');
  if (f.status?.length) p.set('status', f.status.join(','));
  if (f.transType?.length) p.set('type', f.transType.join(','));
  if (f.stuck) p.set('stuck', '1');
  for (const [key, param] of TEXTS) {
    const v = f[key];
    if (key !== 'gid' && typeof v === 'string' && v) p.set(param, v);
  }
  for (const [key, param, only] of NUMBERS) {
    const v = f[key];
    if (typeof v === 'number' && (only !== 'stuck' || f.stuck)) p.set(param, String(v));
  }
  if (f.sort) p.set('sort', f.sort);
  if (f.sort && f.dir === 'asc') p.set('dir', 'asc');
  if (cursor) p.set('cursor', cursor);
  return p;
}

/**
 * A saved view's query string, read strictly: the view and its canonical query string (without
 * a page cursor), or the problems in sentences ("There is no parameter colour in the list's query.").
 */
export function parseViewQuery(query: string): { ok: true; view: View; query: string } | { ok: false; problems: string } {
  const q = query.trim().replace(/^\?/, '');
  const { view, problems } = readView(new URLSearchParams(q));
  if (problems.length) return { ok: false, problems: problems.join(' ') };
  const checked = viewSchema.safeParse(view);
  if (!checked.success) return { ok: false, problems: describeZodError(checked.error) };
  return { ok: true, view: checked.data, query: paramsFromView(checked.data).toString() };
}
