'use client';
// The transactions list: counts per status, filters (in the URL), newest first, keyset pages,
// live refresh that can be paused, and selection for bulk actions.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useMemo, useState } from 'react';
import { STATUSES, type Filter } from '@dtx/api/filters';
import { DataTable } from '@/components/DataTable';
import { Banner, Button, PageTitle, Spinner, StatusBadge, STATUS_STYLES } from '@/components/ui';
import { BulkDialog } from '@/features/actions/BulkDialog';
import { useCan, useMe } from '@/features/auth/useMe';
import { fmtRelative, fmtTime } from '@/lib/format';
import { errorMessage, useTRPC } from '@/lib/trpc';
import { Filters } from './Filters';
import { filterFromParams, paramsFromFilter } from './url';

const PAGE = 50;
/** The time columns, a little narrower than the others. */
const TIME_CELL = 'whitespace-nowrap px-2 py-2 text-xs text-slate-600';

export function TransactionsPage() {
  const trpc = useTRPC();
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const me = useMe();
  const canAct = useCan('operator');
  const filter = useMemo(() => filterFromParams(new URLSearchParams(params.toString())), [params]);
  const cursor = params.get('cursor') ?? undefined;
  const [prev, setPrev] = useState<(string | undefined)[]>([]);
  const [live, setLive] = useState(true);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [bulk, setBulk] = useState<null | { action: 'retry' | 'abort'; scope: 'selected' | 'filter' }>(null);
  const refetchInterval = live ? (me.data?.settings.refreshSeconds ?? 5) * 1000 : false;

  const list = useQuery({
    ...trpc.transactions.list.queryOptions({ ...filter, cursor, limit: PAGE }),
    refetchInterval,
    placeholderData: keepPreviousData,
  });
  const counts = useQuery({ ...trpc.transactions.counts.queryOptions(filter), refetchInterval, placeholderData: keepPreviousData });

  const go = (f: Filter, c?: string) => {
    const q = paramsFromFilter(f, c).toString();
    router.push(q ? `${pathname}?${q}` : pathname);
  };
  const apply = (f: Filter) => {
    setPrev([]);
    setSelected(new Set());
    go(f);
  };
  const items = list.data?.items ?? [];
  const allOnPage = items.length > 0 && items.every((t) => selected.has(t.gid));

  return (
    <div className="space-y-4">
      <PageTitle
        title={filter.stuck ? 'Stuck transactions' : 'Transactions'}
        subtitle={
          filter.stuck ? 'Unfinished and past due, retried too often, or too old (thresholds below)' : 'Every global transaction, newest first'
        }
        actions={
          <>
            <span className="text-xs text-slate-500">{live ? `refreshing every ${me.data?.settings.refreshSeconds ?? 5} s` : 'paused'}</span>
            <Button size="sm" onClick={() => setLive((l) => !l)} aria-pressed={!live}>
              {live ? 'Pause' : 'Resume'}
            </Button>
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
          className={`rounded-lg bg-orange-50 px-3 py-2 text-left text-orange-800 ring-1 ring-inset ring-orange-300 ${filter.stuck ? 'ring-2' : ''}`}
        >
          <div className="text-xs">stuck</div>
          <div className="text-lg font-semibold tabular-nums">{counts.data?.stuck ?? '…'}</div>
        </button>
      </div>

      <Filters filter={filter} defaults={me.data?.settings.stuck} onApply={apply} />

      {list.error && <Banner>{errorMessage(list.error)}</Banner>}

      {canAct && (
        <div className="flex flex-wrap items-center gap-2 text-sm">
          <span className="text-slate-500">{selected.size} selected</span>
          <Button size="sm" disabled={!selected.size} onClick={() => setBulk({ action: 'retry', scope: 'selected' })}>
            Retry selected
          </Button>
          <Button size="sm" disabled={!selected.size} onClick={() => setBulk({ action: 'abort', scope: 'selected' })}>
            Abort selected
          </Button>
          <span className="mx-2 h-4 w-px bg-slate-300" />
          <Button size="sm" onClick={() => setBulk({ action: 'retry', scope: 'filter' })}>
            Retry all matching…
          </Button>
          <Button size="sm" onClick={() => setBulk({ action: 'abort', scope: 'filter' })}>
            Abort all matching…
          </Button>
        </div>
      )}

      <div className="overflow-x-auto rounded-lg bg-white shadow-sm ring-1 ring-slate-200">
        <DataTable
          testId="transactions-table"
          headClassName="whitespace-nowrap bg-slate-50 text-left text-xs font-medium uppercase tracking-wide text-slate-500"
          bodyClassName="divide-y divide-slate-100"
          rows={items}
          rowKey={(t) => t.id}
          rowAttributes={(t) => ({ className: 'hover:bg-slate-50', 'data-gid': t.gid })}
          columns={[
            canAct && {
              header: (
                <input
                  type="checkbox"
                  aria-label="Select page"
                  checked={allOnPage}
                  onChange={() => setSelected(allOnPage ? new Set() : new Set(items.map((t) => t.gid)))}
                />
              ),
              headerClassName: 'px-3 py-2',
              className: 'px-3 py-2',
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
              headerClassName: 'px-3 py-2',
              className: 'max-w-64 truncate px-3 py-2 font-mono text-xs',
              cell: (t) => (
                <Link className="text-indigo-600 hover:underline" href={`/transactions/${encodeURIComponent(t.gid)}`}>
                  {t.gid}
                </Link>
              ),
            },
            { header: 'Type', headerClassName: 'px-3 py-2', className: 'px-3 py-2', cell: (t) => t.transType },
            {
              header: 'Status',
              headerClassName: 'px-3 py-2',
              className: 'px-3 py-2',
              cell: (t) => (
                <>
                  <StatusBadge status={t.status} />
                  {t.running && (
                    <span className="ml-1 text-xs text-indigo-500" title="a coordinator is working on it now">
                      ●
                    </span>
                  )}
                </>
              ),
            },
            { header: 'Protocol', headerClassName: 'px-3 py-2', className: 'px-3 py-2 text-slate-500', cell: (t) => t.protocol },
            { header: 'Created', headerClassName: 'px-3 py-2', className: TIME_CELL, cell: (t) => fmtTime(t.createTime) },
            { header: 'Updated', headerClassName: 'px-3 py-2', className: TIME_CELL, cell: (t) => fmtTime(t.updateTime) },
            { header: 'Finished', headerClassName: 'px-3 py-2', className: TIME_CELL, cell: (t) => fmtTime(t.finishTime) },
            {
              header: 'Next retry',
              headerClassName: 'px-3 py-2',
              className: TIME_CELL,
              title: (t) => fmtTime(t.nextCronTime),
              cell: (t) => (t.nextCronTime ? fmtRelative(t.nextCronTime) : '—'),
            },
            {
              header: 'Retries',
              headerClassName: 'px-3 py-2 text-right',
              className: (t) => `px-3 py-2 text-right tabular-nums ${t.retryCount > 0 ? 'font-medium text-amber-700' : 'text-slate-400'}`,
              cell: (t) => t.retryCount,
            },
            {
              header: 'Last branch error',
              headerClassName: 'px-3 py-2',
              className: (t) => `min-w-56 max-w-96 px-3 py-2 text-xs ${t.status === 'succeed' ? 'text-slate-400' : 'text-rose-700'}`,
              title: (t) => t.lastError,
              cell: (t) => <span className="line-clamp-2 break-all">{t.lastError}</span>,
            },
          ]}
          empty={list.isLoading ? null : <div className="p-6 text-center text-sm text-slate-500">No transactions match.</div>}
        />
        {list.isLoading && (
          <div className="p-4">
            <Spinner />
          </div>
        )}
      </div>

      <div className="flex items-center justify-between text-sm">
        <span className="text-slate-500">{list.isFetching ? 'updating…' : `${items.length} shown`}</span>
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
            ← Newer
          </Button>
          <Button
            size="sm"
            disabled={!list.data?.nextCursor}
            onClick={() => {
              setPrev((p) => [...p, cursor]);
              go(filter, list.data!.nextCursor!);
            }}
          >
            Older →
          </Button>
        </div>
      </div>

      {bulk && (
        <BulkDialog
          action={bulk.action}
          target={bulk.scope === 'selected' ? { gids: [...selected] } : { filter }}
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
