'use client';
// The transactions list: counts per status, filters and sort order (in the URL, and saved as
// named views), newest first unless a column header says otherwise, keyset pages,
// refresh that can be paused, and selection for bulk actions. It reads at 1366 px: a fixed
// layout where the gid and the last error (or the stuck reason) always have room, optional
// columns chosen by the operator, the rest behind a row's expand button. New transactions do not
// push rows down while the operator reads: a banner counts them until shown (or "Live" shows
// them at once).
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useMemo, useState, useSyncExternalStore, type ReactNode } from 'react';
import { STATUSES, type SortKey, type View } from '@dtx/api/filters';
import { paramsFromView, viewFromParams } from '@dtx/api/list-query';
import { DataTable } from '@/components/DataTable';
import { Banner, Button, PageTitle, Spinner, StatusBadge, STATUS_STYLES } from '@/components/ui';
import { BulkDialog } from '@/features/actions/BulkDialog';
import { useCan, useMe } from '@/features/auth/useMe';
import { fmtAt, timeTitle, TimeModeSwitch, useTimeMode, zoneLabel } from '@/lib/time-mode';
import { errorMessage, useTRPC } from '@/lib/trpc';
import type { ListItem } from '@dtx/api';
import { Filters } from './Filters';
import { EmptyTransactions } from './FirstTransaction';
import { Views } from './Views';

const PAGE = 50;
/** The time columns, a little narrower than the others. */
const TIME_CELL = 'truncate whitespace-nowrap px-2 py-2 text-xs text-slate-600 dark:text-slate-300';

type Item = ListItem;

/** What each sort order says in the subtitle: the column, then descending and ascending. */
const SORTS: Record<SortKey, [string, string, string]> = {
  created: ['creation time', 'newest first', 'oldest first'],
  updated: ['last update', 'most recent first', 'least recent first'],
  nextRetry: ['next retry', 'latest first', 'soonest first'],
  retries: ['retry count', 'most first', 'fewest first'],
};

/** Columns the operator may hide or show (kept in the browser); GID, status and last error always show. */
const OPTIONAL = ['Type', 'Created', 'Updated', 'Finished', 'Next retry', 'Retries'] as const;
type Optional = (typeof OPTIONAL)[number];
const DEFAULT_COLUMNS: Optional[] = ['Type', 'Created', 'Next retry', 'Retries'];
const COLUMNS_KEY = 'dtx.listColumns';
const columnListeners = new Set<() => void>();
function readColumns(): string {
  return (typeof window === 'undefined' ? null : window.localStorage.getItem(COLUMNS_KEY)) ?? DEFAULT_COLUMNS.join(',');
}
function useColumns(): [Set<Optional>, (c: Optional) => void] {
  const raw = useSyncExternalStore(
    (fn) => {
      columnListeners.add(fn);
      return () => columnListeners.delete(fn);
    },
    readColumns,
    () => DEFAULT_COLUMNS.join(','),
  );
  const set = new Set(raw.split(',').filter((c): c is Optional => (OPTIONAL as readonly string[]).includes(c)));
  const toggle = (c: Optional) => {
    const n = new Set(set);
    if (n.has(c)) n.delete(c);
    else n.add(c);
    window.localStorage.setItem(COLUMNS_KEY, [...n].join(','));
    for (const fn of columnListeners) fn();
  };
  return [set, toggle];
}

/**
 * What the table shows: on the first page, without "Live", the rows the operator is reading keep
 * their places (their contents refresh) and newer ones are only counted, until shown.
 */
function useStableRows(fresh: Item[], key: string, ready: boolean, hold: boolean) {
  const [held, setHeld] = useState<{ key: string; rows: Item[] } | null>(null);
  const pass = { rows: fresh, newer: 0, show: () => undefined };
  if (!hold) {
    if (held) setHeld(null);
    return pass;
  }
  if (!held || held.key !== key || held.rows.length === 0) {
    // nothing read yet: take what came (during render, React's "adjusting state" pattern)
    if (ready && fresh.length > 0) setHeld({ key, rows: fresh });
    return pass;
  }
  const byId = new Map(fresh.map((r) => [r.id, r]));
  const top = held.rows.reduce((m, r) => (BigInt(r.id) > m ? BigInt(r.id) : m), 0n);
  return {
    rows: held.rows.map((r) => byId.get(r.id) ?? r),
    newer: fresh.filter((r) => BigInt(r.id) > top).length,
    show: () => setHeld({ key, rows: fresh }),
  };
}

export function TransactionsPage() {
  const trpc = useTRPC();
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const me = useMe();
  const canAct = useCan('operator');
  const filter = useMemo(() => viewFromParams(new URLSearchParams(params.toString())), [params]);
  // the filter alone (counts, bulk actions), without the sort order
  const onlyFilter = useMemo(() => {
    const { sort: _sort, dir: _dir, ...f } = filter;
    return f;
  }, [filter]);
  const cursor = params.get('cursor') ?? undefined;
  const [prev, setPrev] = useState<(string | undefined)[]>([]);
  const [live, setLive] = useState(true);
  /** Show new rows as they come (else a banner counts them). */
  const [follow, setFollow] = useState(false);
  const [open, setOpen] = useState<Set<string>>(new Set());
  const [columns, toggleColumn] = useColumns();
  const timeMode = useTimeMode();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [bulk, setBulk] = useState<null | { action: 'retry' | 'abort'; scope: 'selected' | 'filter' }>(null);
  const refetchInterval = live ? (me.data?.settings.refreshSeconds ?? 5) * 1000 : false;

  const list = useQuery({
    ...trpc.transactions.list.queryOptions({ ...filter, cursor, limit: PAGE }),
    refetchInterval,
    placeholderData: keepPreviousData,
  });
  const counts = useQuery({ ...trpc.transactions.counts.queryOptions(onlyFilter), refetchInterval, placeholderData: keepPreviousData });

  const openQuery = (q: string) => router.push(q ? `${pathname}?${q}` : pathname);
  const go = (f: View, c?: string) => openQuery(paramsFromView(f, c).toString());
  const apply = (f: View) => {
    setPrev([]);
    setSelected(new Set());
    go(f);
  };
  // New rows arrive at the top only in the default order: sorted, the rows simply refresh.
  const stable = useStableRows(
    list.data?.items ?? [],
    JSON.stringify({ filter, cursor }),
    !list.isPlaceholderData,
    !follow && !cursor && !filter.sort,
  );
  const items = stable.rows;
  const zone = zoneLabel(timeMode);
  const has = (c: Optional) => columns.has(c);
  /** A column header that sorts by `key`: descending, then ascending, then the default order. */
  const sortable = (key: SortKey | undefined, label: ReactNode) => {
    if (!key) return { header: label };
    const active = filter.sort === key ? (filter.dir ?? 'desc') : null;
    const next: View =
      active === 'asc' ? { ...filter, sort: undefined, dir: undefined } : { ...filter, sort: key, dir: active === 'desc' ? 'asc' : undefined };
    return {
      sort: active === 'asc' ? ('ascending' as const) : active === 'desc' ? ('descending' as const) : ('none' as const),
      header: (
        <button
          type="button"
          className="group inline-flex items-center gap-0.5 uppercase hover:text-slate-800 dark:hover:text-white"
          title={`sort by ${SORTS[key][0]}`}
          onClick={() => apply(next)}
        >
          {label}
          <span
            aria-hidden="true"
            className={active ? 'text-indigo-600 dark:text-indigo-400' : 'hidden text-slate-400 dark:text-slate-500 group-hover:inline'}
          >
            {active === 'asc' ? '▲' : '▼'}
          </span>
        </button>
      ),
    };
  };
  const time = (header: Optional, value: (t: Item) => number | null, key?: SortKey) =>
    has(header) && {
      ...sortable(
        key,
        <span title={`times: ${zone}`}>
          {header} <span className="normal-case text-slate-400 dark:text-slate-500">{timeMode === 'utc' ? 'UTC' : ''}</span>
        </span>,
      ),
      headerClassName: 'w-36 px-2 py-2',
      className: TIME_CELL,
      title: (t: Item) => timeTitle(value(t)),
      cell: (t: Item) => fmtAt(value(t), timeMode),
    };
  const allOnPage = items.length > 0 && items.every((t) => selected.has(t.gid));

  return (
    <div className="space-y-4">
      <PageTitle
        title={filter.stuck ? 'Stuck transactions' : 'Transactions'}
        subtitle={
          (filter.stuck ? 'Unfinished and failing, ongoing for long, past due, or too old (thresholds below)' : 'Every global transaction') +
          (filter.sort ? `, by ${SORTS[filter.sort][0]}, ${SORTS[filter.sort][filter.dir === 'asc' ? 2 : 1]}` : filter.stuck ? '' : ', newest first')
        }
        actions={
          <>
            <TimeModeSwitch />
            <span className="text-xs text-slate-500 dark:text-slate-400">
              {live ? `refreshing every ${me.data?.settings.refreshSeconds ?? 5} s` : 'paused'}
            </span>
            <Button size="sm" onClick={() => setLive((l) => !l)} aria-pressed={!live}>
              {live ? 'Pause' : 'Resume'}
            </Button>
            <label
              className="inline-flex items-center gap-1 text-xs text-slate-600 dark:text-slate-300"
              title="show new transactions at the top as they come"
            >
              <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} />
              Live
            </label>
          </>
        }
      />

      <div className="flex flex-wrap gap-2" aria-label="Counts per status">
        {STATUSES.map((s) => {
          const active = filter.status?.length === 1 && filter.status[0] === s;
          return (
            <button
              key={s}
              data-testid={`count-${s}`}
              onClick={() => apply({ ...filter, status: active ? undefined : [s] })}
              className={`rounded-lg px-3 py-2 text-left ring-1 ring-inset ${STATUS_STYLES[s]} ${active ? 'ring-2' : ''}`}
            >
              <div className="text-xs">{s}</div>
              <div className="text-lg font-semibold tabular-nums">{counts.data?.byStatus[s] ?? '…'}</div>
            </button>
          );
        })}
        <button
          data-testid="count-stuck"
          onClick={() => apply({ ...filter, stuck: filter.stuck ? undefined : true })}
          className={`rounded-lg bg-orange-50 dark:bg-orange-950/40 px-3 py-2 text-left text-orange-800 dark:text-orange-300 ring-1 ring-inset ring-orange-300 dark:ring-orange-800 ${filter.stuck ? 'ring-2' : ''}`}
        >
          <div className="text-xs">stuck</div>
          <div className="text-lg font-semibold tabular-nums">{counts.data?.stuck ?? '…'}</div>
        </button>
        <div className="ml-auto self-end">
          <Views
            query={paramsFromView(filter).toString()}
            onOpen={(q) => {
              setPrev([]);
              setSelected(new Set());
              openQuery(q);
            }}
          />
        </div>
      </div>

      <Filters filter={onlyFilter} defaults={me.data?.settings.stuck} onApply={(f) => apply({ ...f, sort: filter.sort, dir: filter.dir })} />

      {list.error && <Banner>{errorMessage(list.error)}</Banner>}

      {canAct && (
        <div className="flex flex-wrap items-center gap-2 text-sm">
          <span className="text-slate-500 dark:text-slate-400">{selected.size} selected</span>
          <Button size="sm" disabled={!selected.size} onClick={() => setBulk({ action: 'retry', scope: 'selected' })}>
            Retry selected
          </Button>
          <Button size="sm" disabled={!selected.size} onClick={() => setBulk({ action: 'abort', scope: 'selected' })}>
            Abort selected
          </Button>
          <span className="mx-2 h-4 w-px bg-slate-300 dark:bg-slate-600" />
          <Button size="sm" onClick={() => setBulk({ action: 'retry', scope: 'filter' })}>
            Retry all matching…
          </Button>
          <Button size="sm" onClick={() => setBulk({ action: 'abort', scope: 'filter' })}>
            Abort all matching…
          </Button>
        </div>
      )}

      <div className="flex flex-wrap items-center gap-3 text-xs text-slate-600 dark:text-slate-300" aria-label="Columns">
        <span className="font-medium">Columns</span>
        {OPTIONAL.map((c) => (
          <label key={c} className="inline-flex items-center gap-1">
            <input type="checkbox" aria-label={`Column ${c}`} checked={has(c)} onChange={() => toggleColumn(c)} />
            {c}
          </label>
        ))}
      </div>

      {/* a slot of its own, so the banner never moves the table */}
      <div className="h-8">
        {stable.newer > 0 && (
          <button
            data-testid="new-rows-banner"
            onClick={stable.show}
            className="h-8 w-full rounded-md bg-indigo-50 dark:bg-indigo-950/40 px-3 text-sm text-indigo-700 dark:text-indigo-300 ring-1 ring-inset ring-indigo-200 dark:ring-indigo-800 hover:bg-indigo-100 dark:hover:bg-indigo-900/50"
          >
            {stable.newer === PAGE ? `${PAGE}+` : stable.newer} new transaction{stable.newer === 1 ? '' : 's'}: show
          </button>
        )}
      </div>

      <div className="overflow-x-auto rounded-lg bg-white dark:bg-slate-900 shadow-sm ring-1 ring-slate-200 dark:ring-slate-700">
        <DataTable
          testId="transactions-table"
          tableClassName="w-full table-fixed text-sm"
          headClassName="whitespace-nowrap bg-slate-50 dark:bg-slate-950 text-left text-xs font-medium uppercase tracking-wide text-slate-500 dark:text-slate-400"
          bodyClassName="divide-y divide-slate-100 dark:divide-slate-800"
          rows={items}
          rowKey={(t) => t.id}
          rowAttributes={(t) => ({ className: 'hover:bg-slate-50 dark:hover:bg-slate-800', 'data-gid': t.gid })}
          expanded={(t) => (open.has(t.id) ? <RowDetails t={t} mode={timeMode} /> : null)}
          columns={[
            {
              header: <span className="sr-only">Expand</span>,
              headerClassName: 'w-8',
              className: 'px-1 py-2 text-center',
              cell: (t) => (
                <button
                  aria-label={`${open.has(t.id) ? 'Collapse' : 'Expand'} ${t.gid}`}
                  aria-expanded={open.has(t.id)}
                  className="text-slate-400 dark:text-slate-500 hover:text-slate-700 dark:hover:text-white"
                  onClick={() =>
                    setOpen((s) => {
                      const n = new Set(s);
                      if (n.has(t.id)) n.delete(t.id);
                      else n.add(t.id);
                      return n;
                    })
                  }
                >
                  {open.has(t.id) ? '▾' : '▸'}
                </button>
              ),
            },
            canAct && {
              header: (
                <input
                  type="checkbox"
                  aria-label="Select page"
                  checked={allOnPage}
                  onChange={() => setSelected(allOnPage ? new Set() : new Set(items.map((t) => t.gid)))}
                />
              ),
              headerClassName: 'w-8 px-2 py-2',
              className: 'px-2 py-2',
              cell: (t) => (
                <input
                  type="checkbox"
                  aria-label={`Select ${t.gid}`}
                  checked={selected.has(t.gid)}
                  onChange={() =>
                    setSelected((s) => {
                      const n = new Set(s);
                      if (n.has(t.gid)) n.delete(t.gid);
                      else n.add(t.gid);
                      return n;
                    })
                  }
                />
              ),
            },
            {
              header: 'GID',
              headerClassName: 'w-[22%] px-3 py-2',
              className: 'truncate px-3 py-2 font-mono text-xs',
              title: (t) => t.gid,
              cell: (t) => (
                <Link
                  data-testid="gid-cell"
                  className="text-indigo-600 dark:text-indigo-400 hover:underline"
                  href={`/transactions/${encodeURIComponent(t.gid)}`}
                >
                  {t.gid}
                </Link>
              ),
            },
            has('Type') && { header: 'Type', headerClassName: 'w-16 px-2 py-2', className: 'truncate px-2 py-2', cell: (t) => t.transType },
            {
              header: 'Status',
              headerClassName: 'w-28 px-2 py-2',
              className: 'px-2 py-2',
              cell: (t) => (
                <>
                  <StatusBadge status={t.status} />
                  {t.running && (
                    <span className="ml-1 text-xs text-indigo-500 dark:text-indigo-400" title="a coordinator is working on it now">
                      ●
                    </span>
                  )}
                </>
              ),
            },
            time('Created', (t) => t.createTime, 'created'),
            time('Updated', (t) => t.updateTime, 'updated'),
            time('Finished', (t) => t.finishTime),
            has('Next retry') && {
              ...sortable('nextRetry', 'Next retry'),
              headerClassName: 'w-28 px-2 py-2',
              className: TIME_CELL,
              title: (t) => timeTitle(t.nextCronTime),
              cell: (t) => (t.nextCronTime ? fmtAt(t.nextCronTime, 'relative') : '—'),
            },
            has('Retries') && {
              ...sortable('retries', 'Retries'),
              headerClassName: 'w-24 px-2 py-2 text-right',
              className: (t) =>
                `px-2 py-2 text-right tabular-nums ${t.retryCount > 0 ? 'font-medium text-amber-700 dark:text-amber-300' : 'text-slate-400 dark:text-slate-500'}`,
              cell: (t) => t.retryCount,
            },
            {
              header: filter.stuck ? 'Why stuck / last branch error' : 'Last branch error',
              headerClassName: 'px-3 py-2',
              className: (t) =>
                `px-3 py-2 text-xs ${t.status === 'succeed' ? 'text-slate-400 dark:text-slate-500' : 'text-rose-700 dark:text-rose-300'}`,
              title: (t) => [t.stuckReason, t.lastError].filter(Boolean).join('\n') || undefined,
              cell: (t) => (
                <div data-testid="error-cell" className="truncate">
                  {t.stuckReason && (
                    <span data-testid="stuck-reason" className="mr-2 font-medium text-orange-700 dark:text-orange-300">
                      {t.stuckReason}
                    </span>
                  )}
                  {t.lastError}
                </div>
              ),
            },
          ]}
          empty={
            list.isLoading ? null : (
              <EmptyTransactions onClear={() => apply(viewFromParams(new URLSearchParams()))} refetchInterval={refetchInterval} />
            )
          }
        />
        {list.isLoading && (
          <div className="p-4">
            <Spinner />
          </div>
        )}
      </div>

      <div className="flex items-center justify-between text-sm">
        <span className="text-slate-500 dark:text-slate-400">{list.isFetching ? 'updating…' : `${items.length} shown`}</span>
        <div className="flex gap-2">
          <Button
            size="sm"
            disabled={!cursor}
            onClick={() => {
              const p = [...prev];
              const back = p.pop();
              setPrev(p);
              go(filter, back);
            }}
          >
            {filter.sort ? '← Previous' : '← Newer'}
          </Button>
          <Button
            size="sm"
            disabled={!list.data?.nextCursor}
            onClick={() => {
              setPrev((p) => [...p, cursor]);
              go(filter, list.data!.nextCursor!);
            }}
          >
            {filter.sort ? 'Next →' : 'Older →'}
          </Button>
        </div>
      </div>

      {bulk && (
        <BulkDialog
          action={bulk.action}
          target={bulk.scope === 'selected' ? { gids: [...selected] } : { filter: onlyFilter }}
          onClose={(done) => {
            setBulk(null);
            if (done) {
              setSelected(new Set());
              void list.refetch();
              void counts.refetch();
            }
          }}
        />
      )}
    </div>
  );
}

function RowDetails({ t, mode }: { t: Item; mode: ReturnType<typeof useTimeMode> }) {
  const item = (label: string, value: string | number) => (
    <div>
      <dt className="text-slate-500 dark:text-slate-400">{label}</dt>
      <dd className="break-all">{value}</dd>
    </div>
  );
  return (
    <dl data-testid="row-details" className="grid grid-cols-2 gap-x-6 gap-y-1 bg-slate-50 dark:bg-slate-950 px-10 py-2 text-xs lg:grid-cols-4">
      {item('GID', t.gid)}
      {item('Type / protocol', `${t.transType} / ${t.protocol}`)}
      {item('Created', fmtAt(t.createTime, mode))}
      {item('Updated', fmtAt(t.updateTime, mode))}
      {item('Finished', fmtAt(t.finishTime, mode))}
      {item('Next retry', fmtAt(t.nextCronTime, mode))}
      {item('Failed calls', t.retryCount)}
      {t.failEndpoint && item('Failing at', t.failEndpoint)}
      {t.stuckReason && item('Why stuck', t.stuckReason)}
      <div className="col-span-full">
        <dt className="text-slate-500 dark:text-slate-400">Last branch error</dt>
        <dd className="whitespace-pre-wrap break-all">{t.lastError || '—'}</dd>
      </div>
    </dl>
  );
}
