'use client';
// One transaction: its fields and options, rollback reason, the steps as a picture, the branches
// with pretty-printed payloads, and the attempt timeline (every call with time, duration, status
// code and response) with what operators did to it inline, with the operator actions at the top.
// Notes say where the client makes calls the coordinator does not see; the whole transaction can
// be downloaded as JSON, and its gid and admin API commands copied.
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useState, type ReactNode } from 'react';
import { DataTable } from '@/components/DataTable';
import { Banner, Button, Card, CopyButton, PageTitle, Spinner, StatusBadge } from '@/components/ui';
import { ActionDialog } from '@/features/actions/ActionDialog';
import { ACTION_LABEL, type Action } from '@/features/actions/explain';
import { useCan, useMe } from '@/features/auth/useMe';
import { fmtDuration, fmtRelative, fmtTime } from '@/lib/format';
import { BASE_PATH, errorMessage, useTRPC } from '@/lib/trpc';
import { SagaSteps } from './SagaSteps';

function Item({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <dt className="text-xs font-medium text-slate-500 dark:text-slate-400">{label}</dt>
      <dd className="mt-0.5 break-all text-sm text-slate-900 dark:text-slate-100">{children}</dd>
    </div>
  );
}

/** Calls the client makes itself, so they are not in the attempt timeline (docs/operations.md). */
const CLIENT_CALLS: Record<string, string> = {
  tcc: 'The Try calls of a TCC are made by the client (the coordinator only registers each branch), so they are not in the timeline; the coordinator calls Confirm or Cancel.',
  xa: "XA's local phase (each branch's SQL and its XA PREPARE) runs in the client; the coordinator only calls the branches to commit or roll back.",
  workflow:
    'Workflow steps run in the client (the coordinator records their outcomes); the timeline shows only the calls the coordinator made, such as the resume call.',
};

function download(name: string, data: unknown) {
  const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function outcomeStyle(outcome: string): string {
  return outcome === 'success'
    ? 'text-emerald-700 dark:text-emerald-300 bg-emerald-50 dark:bg-emerald-950/40'
    : outcome === 'ongoing'
      ? 'text-sky-700 dark:text-sky-300 bg-sky-50 dark:bg-sky-950/40'
      : 'text-rose-700 dark:text-rose-300 bg-rose-50 dark:bg-rose-950/40';
}

export function DetailPage({ gid }: { gid: string }) {
  const trpc = useTRPC();
  const me = useMe();
  const canAct = useCan('operator');
  const [live, setLive] = useState(true);
  const [action, setAction] = useState<Action | null>(null);
  const q = useQuery({
    ...trpc.transactions.get.queryOptions({ gid }),
    refetchInterval: live ? (me.data?.settings.refreshSeconds ?? 5) * 1000 : false,
  });
  if (q.error) return <Banner>{errorMessage(q.error)}</Banner>;
  if (!q.data) return <Spinner />;
  const { transaction: t, branches, attempts, attemptCount, audit } = q.data;
  const base = `${window.location.origin}${BASE_PATH}`;
  const api = `${base}/api/v1/transactions/${encodeURIComponent(t.gid)}`;
  const user = me.data?.user?.username ?? 'USER';
  const timeline = [
    ...attempts.map((a) => ({ at: a.startedAt, attempt: a, audit: null })),
    ...audit.map((e) => ({ at: e.at, attempt: null, audit: e })),
  ].sort((x, y) => x.at - y.at);
  const timedOut = /^Timeout after/.test(t.rollbackReason) && t.rollbackTime !== null && t.createTime !== null;
  return (
    <div className="space-y-4">
      <div className="text-sm">
        <Link href="/transactions" className="text-indigo-600 dark:text-indigo-400 hover:underline">
          ← Transactions
        </Link>
      </div>
      <PageTitle
        title={t.gid}
        subtitle={
          <span className="flex items-center gap-2">
            <StatusBadge status={t.status} /> {t.transType} over {t.protocol}
            {t.running && <span className="text-xs text-indigo-600 dark:text-indigo-400">● a coordinator is working on it</span>}
          </span>
        }
        actions={
          <>
            <CopyButton text={t.gid} label="Copy gid" />
            <CopyButton text={`curl -u ${user} '${api}'`} label="Copy curl (get)" />
            {canAct && (
              <CopyButton
                text={`curl -u ${user} -X POST -H 'content-type: application/json' -d '{"reason":"..."}' '${api}/retry'`}
                label="Copy curl (retry)"
              />
            )}
            <Button size="sm" onClick={() => download(`${t.gid}.json`, { transaction: t, branches, attempts, audit })}>
              Download JSON
            </Button>
            <Button size="sm" onClick={() => setLive((l) => !l)}>
              {live ? 'Pause refresh' : 'Resume refresh'}
            </Button>
            {canAct &&
              (['retry', 'abort', 'force-stop'] as Action[]).map((a) => {
                const { allowed, text } = t.actions[a];
                const why = allowed ? null : text;
                return (
                  <Button
                    key={a}
                    kind={a === 'retry' ? 'primary' : a === 'abort' ? 'warning' : 'danger'}
                    disabled={!!why}
                    title={why ?? undefined}
                    onClick={() => setAction(a)}
                  >
                    {ACTION_LABEL[a]}
                  </Button>
                );
              })}
          </>
        }
      />

      {t.stuckReason && (
        <Banner kind="warning">
          <span data-testid="detail-stuck-reason">Stuck: {t.stuckReason}</span>
        </Banner>
      )}
      {t.rollbackReason && (
        <Banner kind="warning">
          Rollback reason: {t.rollbackReason}
          {timedOut && (
            <span data-testid="effective-timeout">
              {' '}
              (effective: rolled back {fmtDuration(t.rollbackTime! - t.createTime!)} after it was created; dtm&apos;s text counts from the
              transaction&apos;s own timeout_to_fail, 0 when it relies on the server&apos;s TimeoutToFail)
            </span>
          )}
        </Banner>
      )}
      {CLIENT_CALLS[t.transType] && (
        <Banner kind="info">
          <span data-testid="client-calls-note">{CLIENT_CALLS[t.transType]}</span>
        </Banner>
      )}
      {t.lastError && !['succeed'].includes(t.status) && (
        <Banner kind="error">
          Last branch error ({t.retryCount} failed call{t.retryCount === 1 ? '' : 's'}): {t.lastError}
        </Banner>
      )}

      <Card title="Steps">
        <SagaSteps detail={q.data} />
      </Card>

      <div className="grid gap-4 lg:grid-cols-3">
        <Card title="Transaction" className="lg:col-span-2">
          <dl className="grid grid-cols-2 gap-x-6 gap-y-3 md:grid-cols-3">
            <Item label="Id">{t.id}</Item>
            <Item label="Type">{t.transType}</Item>
            <Item label="Protocol">{t.protocol}</Item>
            <Item label="Created">{fmtTime(t.createTime, true)}</Item>
            <Item label="Updated">{fmtTime(t.updateTime, true)}</Item>
            <Item label="Finished">{fmtTime(t.finishTime ?? t.rollbackTime, true)}</Item>
            <Item label="Next retry">
              {['succeed', 'failed'].includes(t.status) ? '—' : `${fmtTime(t.nextCronTime)} (${fmtRelative(t.nextCronTime)})`}
            </Item>
            <Item label="Retry interval">{t.nextCronInterval ?? '—'} s</Item>
            <Item label="Failed calls">{t.retryCount}</Item>
            {t.queryPrepared && <Item label="Query prepared">{t.queryPrepared}</Item>}
            {t.customData && <Item label="Custom data">{t.customData}</Item>}
            {t.result && <Item label="Result">{t.result}</Item>}
          </dl>
        </Card>
        <Card title="Options">
          <pre className="max-h-64 overflow-auto rounded bg-slate-50 dark:bg-slate-950 p-2 text-xs">{t.options || '{}'}</pre>
        </Card>
      </div>

      <Card title={`Branches (${branches.length})`}>
        <DataTable
          testId="branches-table"
          headClassName="text-left text-xs uppercase tracking-wide text-slate-500 dark:text-slate-400"
          bodyClassName="divide-y divide-slate-100 dark:divide-slate-800 align-top"
          rows={branches}
          rowKey={(b) => b.id}
          columns={[
            { header: 'Branch', headerClassName: 'py-1 pr-3', className: 'py-1.5 pr-3 font-mono text-xs', cell: (b) => b.branchId },
            { header: 'Op', headerClassName: 'py-1 pr-3', className: 'py-1.5 pr-3', cell: (b) => b.op },
            { header: 'Status', headerClassName: 'py-1 pr-3', className: 'py-1.5 pr-3', cell: (b) => <StatusBadge status={b.status} /> },
            { header: 'URL', headerClassName: 'py-1 pr-3', className: 'max-w-80 break-all py-1.5 pr-3 font-mono text-xs', cell: (b) => b.url },
            {
              header: 'Finished',
              headerClassName: 'py-1 pr-3',
              className: 'whitespace-nowrap py-1.5 pr-3 text-xs',
              cell: (b) => fmtTime(b.finishTime),
            },
            {
              header: 'Payload',
              headerClassName: 'py-1',
              className: 'py-1.5',
              cell: (b) =>
                b.payload.format === 'empty' ? (
                  <span className="text-xs text-slate-400 dark:text-slate-500">none</span>
                ) : (
                  <details>
                    <summary className="cursor-pointer text-xs text-indigo-600 dark:text-indigo-400">{b.payload.format}</summary>
                    <pre className="mt-1 max-h-64 max-w-xl overflow-auto rounded bg-slate-50 dark:bg-slate-950 p-2 text-xs">{b.payload.text}</pre>
                  </details>
                ),
            },
          ]}
        />
      </Card>

      <Card
        title={`Attempt timeline (${attemptCount} call${attemptCount === 1 ? '' : 's'}${attemptCount > attempts.length ? `, latest ${attempts.length} shown` : ''})`}
      >
        {timeline.length === 0 ? (
          <p className="text-sm text-slate-500 dark:text-slate-400">No branch calls recorded yet.</p>
        ) : (
          <ol className="relative space-y-3 border-l border-slate-200 dark:border-slate-700 pl-5" data-testid="attempt-timeline">
            {timeline.map(({ attempt: a, audit: e }) =>
              e ? (
                <li key={`audit-${e.id}`} className="relative" data-audit={e.action}>
                  <span className="absolute -left-[27px] top-1 h-3 w-3 rounded-sm bg-violet-500 ring-2 ring-white dark:ring-slate-900" />
                  <div className="flex flex-wrap items-center gap-x-3 gap-y-1 text-sm">
                    <span className="font-mono text-xs text-slate-500 dark:text-slate-400">{fmtTime(e.at, true)}</span>
                    <span className="rounded bg-violet-50 dark:bg-violet-950/40 px-1.5 py-0.5 text-xs font-medium text-violet-700 dark:text-violet-300">
                      operator
                    </span>
                    <span className="font-medium">
                      {e.actor}: {e.action}
                    </span>
                    {e.reason && <span className="text-xs text-slate-600 dark:text-slate-300">“{e.reason}”</span>}
                    {e.details[0] && (
                      <span className="text-xs text-slate-500 dark:text-slate-400">
                        {e.details[0].ok ? 'done' : `refused: ${e.details[0].message}`}
                      </span>
                    )}
                  </div>
                </li>
              ) : (
                a && (
                  <li key={a.id} className="relative" data-branch={a.branchId} data-op={a.op} data-outcome={a.outcome}>
                    <span
                      className={`absolute -left-[27px] top-1 h-3 w-3 rounded-full ring-2 ring-white dark:ring-slate-900 ${a.outcome === 'success' ? 'bg-emerald-500' : a.outcome === 'ongoing' ? 'bg-sky-500' : 'bg-rose-500'}`}
                    />
                    <div className="flex flex-wrap items-center gap-x-3 gap-y-1 text-sm">
                      <span className="font-mono text-xs text-slate-500 dark:text-slate-400">{fmtTime(a.startedAt, true)}</span>
                      <span className="font-medium">
                        {a.branchId} {a.op}
                      </span>
                      <span className={`rounded px-1.5 py-0.5 font-mono text-xs ${outcomeStyle(a.outcome)}`} data-testid="attempt-status">
                        {a.httpStatus !== null ? `HTTP ${a.httpStatus}` : a.grpcCode !== null ? `gRPC ${a.grpcCode}` : 'no answer'}
                      </span>
                      <span className="text-xs text-slate-500 dark:text-slate-400">{a.outcome}</span>
                      <span className="text-xs text-slate-500 dark:text-slate-400">{fmtDuration(a.durationMs)}</span>
                      <span className="truncate font-mono text-xs text-slate-400 dark:text-slate-500" title={a.url}>
                        {a.url}
                      </span>
                    </div>
                    {(a.response || a.error) && (
                      <pre className="mt-1 max-h-40 overflow-auto whitespace-pre-wrap break-all rounded bg-slate-50 dark:bg-slate-950 p-2 text-xs text-slate-700 dark:text-slate-200">
                        {a.response || a.error}
                      </pre>
                    )}
                  </li>
                )
              ),
            )}
          </ol>
        )}
      </Card>

      {action && <ActionDialog action={action} trans={t} onClose={() => setAction(null)} />}
    </div>
  );
}
