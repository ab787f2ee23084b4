'use client';
// The audit log: who did what to which transactions, when, why, and how it went; filtered by
// user, action, transaction and time.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { DataTable } from '@/components/DataTable';
import { Banner, Button, Field, inputClass, PageTitle, Spinner } from '@/components/ui';
import { fmtTime, fromLocalInput, toLocalInput } from '@/lib/format';
import { errorMessage, useTRPC } from '@/lib/trpc';

function targetText(action: string, target: string): React.ReactNode {
  if (!action.startsWith('bulk-')) {
    if (action.startsWith('topic-')) return `topic ${target}`;
    return action.startsWith('user-') ? (
      `user ${target}`
    ) : (
      <Link className="font-mono text-indigo-600 dark:text-indigo-400 hover:underline" href={`/transactions/${encodeURIComponent(target)}`}>
        {target}
      </Link>
    );
  }
  try {
    const t = JSON.parse(target) as { gids?: string[]; filter?: Record<string, unknown> };
    if (t.gids) return `${t.gids.length} selected: ${t.gids.slice(0, 3).join(', ')}${t.gids.length > 3 ? ', …' : ''}`;
    return `filter ${JSON.stringify(t.filter)}`;
  } catch {
    return target;
  }
}

interface AuditFilter {
  actor?: string;
  action?: string;
  gid?: string;
  from?: number;
  to?: number;
}

export function AuditPage() {
  const trpc = useTRPC();
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const [draft, setDraft] = useState<AuditFilter>({});
  const [filter, setFilter] = useState<AuditFilter>({});
  const q = useQuery({
    ...trpc.audit.list.queryOptions({ ...filter, cursor, limit: 50 }),
    refetchInterval: 10_000,
    placeholderData: keepPreviousData,
  });
  const text = (key: 'actor' | 'action' | 'gid', label: string, width: string) => (
    <Field label={label}>
      <input
        aria-label={label}
        className={`${inputClass} ${width}`}
        value={draft[key] ?? ''}
        onChange={(e) => setDraft({ ...draft, [key]: e.target.value || undefined })}
      />
    </Field>
  );
  const time = (key: 'from' | 'to', label: string) => (
    <Field label={label}>
      <input
        type="datetime-local"
        aria-label={label}
        className={inputClass}
        value={toLocalInput(draft[key])}
        onChange={(e) => setDraft({ ...draft, [key]: fromLocalInput(e.target.value) })}
      />
    </Field>
  );
  return (
    <div className="space-y-4">
      <PageTitle title="Audit log" subtitle="Every operator action: who, when, which transactions, why, and the outcome" />
      <form
        aria-label="Audit filters"
        className="flex flex-wrap items-end gap-3 rounded-lg bg-white dark:bg-slate-900 p-4 shadow-sm ring-1 ring-slate-200 dark:ring-slate-700"
        onSubmit={(e) => {
          e.preventDefault();
          setCursors([undefined]);
          setFilter(draft);
        }}
      >
        {text('actor', 'User', 'w-36')}
        {text('action', 'Action', 'w-36')}
        {text('gid', 'Transaction gid', 'w-64')}
        {time('from', 'From')}
        {time('to', 'To')}
        <Button kind="primary" type="submit">
          Apply
        </Button>
        <Button
          kind="ghost"
          onClick={() => {
            setDraft({});
            setFilter({});
            setCursors([undefined]);
          }}
        >
          Clear
        </Button>
      </form>
      {q.error && <Banner>{errorMessage(q.error)}</Banner>}
      <div className="overflow-x-auto rounded-lg bg-white dark:bg-slate-900 shadow-sm ring-1 ring-slate-200 dark:ring-slate-700">
        <DataTable
          testId="audit-table"
          headClassName="bg-slate-50 dark:bg-slate-950 text-left text-xs font-medium uppercase tracking-wide text-slate-500 dark:text-slate-400"
          bodyClassName="divide-y divide-slate-100 dark:divide-slate-800 align-top"
          rows={q.data?.items ?? []}
          rowKey={(e) => e.id}
          rowAttributes={(e) => ({ 'data-action': e.action })}
          columns={[
            {
              header: 'When',
              headerClassName: 'px-3 py-2',
              className: 'whitespace-nowrap px-3 py-2 text-slate-600 dark:text-slate-300',
              cell: (e) => fmtTime(e.at),
            },
            { header: 'Who', headerClassName: 'px-3 py-2', className: 'px-3 py-2', cell: (e) => e.actor },
            { header: 'Action', headerClassName: 'px-3 py-2', className: 'px-3 py-2 font-medium', cell: (e) => e.action },
            { header: 'Target', headerClassName: 'px-3 py-2', className: 'max-w-md px-3 py-2 text-xs', cell: (e) => targetText(e.action, e.target) },
            {
              header: 'Reason',
              headerClassName: 'px-3 py-2',
              className: 'max-w-xs px-3 py-2 text-slate-600 dark:text-slate-300',
              cell: (e) => e.reason || <span className="text-slate-400 dark:text-slate-500">—</span>,
            },
            {
              header: 'Outcome',
              headerClassName: 'px-3 py-2',
              className: 'px-3 py-2 text-xs',
              cell: (e) =>
                e.action.startsWith('user-') || e.action.startsWith('topic-') ? (
                  <span className={e.failed ? 'text-rose-700 dark:text-rose-300' : ''}>
                    {e.failed ? 'not done' : 'done'}
                    {!Array.isArray(e.details) && (e.details as { url?: string })?.url ? `: ${(e.details as { url?: string }).url}` : ''}
                  </span>
                ) : (
                  <details>
                    <summary className="cursor-pointer">
                      <span className="text-emerald-700 dark:text-emerald-300">{e.succeeded} done</span>
                      {e.failed > 0 && <span className="text-rose-700 dark:text-rose-300">, {e.failed} not done</span>}
                      {e.succeeded + e.failed < e.gidCount && (
                        <span className="text-amber-700 dark:text-amber-300"> (of {e.gidCount}; interrupted)</span>
                      )}
                    </summary>
                    <ul className="mt-1 max-h-48 overflow-auto font-mono">
                      {Array.isArray(e.details) &&
                        e.details.map((d, i) => (
                          <li key={i} className={d.ok ? 'text-emerald-800 dark:text-emerald-300' : 'text-rose-800 dark:text-rose-300'}>
                            {d.gid}: {d.message}
                            {d.from && d.to && d.from !== d.to ? ` (${d.from} → ${d.to})` : ''}
                          </li>
                        ))}
                    </ul>
                  </details>
                ),
            },
          ]}
          empty={q.data ? <div className="p-6 text-center text-sm text-slate-500 dark:text-slate-400">No actions yet.</div> : null}
        />
        {q.isLoading && (
          <div className="p-4">
            <Spinner />
          </div>
        )}
      </div>
      <div className="flex justify-end gap-2">
        <Button size="sm" disabled={cursors.length === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
          ← Newer
        </Button>
        <Button size="sm" disabled={!q.data?.nextCursor} onClick={() => setCursors((c) => [...c, q.data!.nextCursor!])}>
          Older →
        </Button>
      </div>
    </div>
  );
}
