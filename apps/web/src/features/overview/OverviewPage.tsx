'use client';
// The overview of a chosen window (15 min to 7 days, in the URL): transactions over time by
// outcome, how many are stuck, time to finish, and the branch endpoints by failed calls, each
// linking to the transactions failing there now.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { Area, AreaChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { DataTable } from '@/components/DataTable';
import { Banner, Card, PageTitle, Spinner } from '@/components/ui';
import { useMe } from '@/features/auth/useMe';
import { FirstTransaction } from '@/features/transactions/FirstTransaction';
import { fmtDuration, fmtRelative } from '@/lib/format';
import { errorMessage, useTRPC } from '@/lib/trpc';

const hhmm = (ms: number) => {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
};
const dayHhmm = (ms: number) => `${new Date(ms).getDate()}. ${hhmm(ms)}`;

const WINDOWS = [
  { key: '15m', label: '15 min', minutes: 15 },
  { key: '1h', label: '1 h', minutes: 60 },
  { key: '6h', label: '6 h', minutes: 360 },
  { key: '24h', label: '24 h', minutes: 1440 },
  { key: '7d', label: '7 d', minutes: 10_080 },
] as const;
type WindowKey = (typeof WINDOWS)[number]['key'];
const ms = (v: number | null) => (v === null ? '> 60 s' : `≤ ${fmtDuration(v)}`);

function Stat({
  label,
  value,
  hint,
  href,
  tone = 'slate',
}: {
  label: string;
  value: string | number;
  hint?: string;
  href?: string;
  tone?: 'slate' | 'orange';
}) {
  const body = (
    <div
      className={`rounded-lg bg-white dark:bg-slate-900 p-4 shadow-sm ring-1 ${tone === 'orange' ? 'ring-orange-300 dark:ring-orange-800' : 'ring-slate-200 dark:ring-slate-700'}`}
    >
      <div className="text-xs font-medium text-slate-500 dark:text-slate-400">{label}</div>
      <div className={`mt-1 text-2xl font-semibold tabular-nums ${tone === 'orange' ? 'text-orange-700 dark:text-orange-300' : ''}`}>{value}</div>
      {hint && <div className="mt-1 text-xs text-slate-500 dark:text-slate-400">{hint}</div>}
    </div>
  );
  return href ? <Link href={href}>{body}</Link> : body;
}

export function OverviewPage() {
  const trpc = useTRPC();
  const me = useMe();
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const win = WINDOWS.find((w) => w.key === params.get('window')) ?? WINDOWS[1];
  const refetchInterval = (me.data?.settings.refreshSeconds ?? 5) * 1000;
  const q = useQuery({ ...trpc.overview.stats.queryOptions({ minutes: win.minutes }), refetchInterval, placeholderData: keepPreviousData });
  const ep = useQuery({
    ...trpc.overview.endpoints.queryOptions({ window: win.key }),
    refetchInterval: Math.max(refetchInterval, 5000),
    placeholderData: keepPreviousData,
  });
  const any = useQuery({ ...trpc.overview.hasTransactions.queryOptions(), refetchInterval });
  const choose = (key: WindowKey) => {
    const p = new URLSearchParams(params.toString());
    p.set('window', key);
    router.replace(`${pathname}?${p.toString()}`);
  };
  if (q.error) return <Banner>{errorMessage(q.error)}</Banner>;
  if (!q.data) return <Spinner />;
  const d = q.data;
  const total = d.series.reduce((a, s) => ({ created: a.created + s.created, succeeded: a.succeeded + s.succeeded, failed: a.failed + s.failed }), {
    created: 0,
    succeeded: 0,
    failed: 0,
  });
  return (
    <div className="space-y-4">
      {any.data === false && <FirstTransaction />}
      <PageTitle
        title="Overview"
        subtitle={`The last ${win.label}`}
        actions={
          <div role="group" aria-label="Window" className="inline-flex overflow-hidden rounded-md ring-1 ring-slate-300 dark:ring-slate-600">
            {WINDOWS.map((w) => (
              <button
                key={w.key}
                aria-pressed={w.key === win.key}
                onClick={() => choose(w.key)}
                className={`px-2.5 py-1 text-xs ${w.key === win.key ? 'bg-indigo-600 text-white' : 'bg-white dark:bg-slate-900 text-slate-700 dark:text-slate-200 hover:bg-slate-50 dark:hover:bg-slate-800'}`}
              >
                {w.label}
              </button>
            ))}
          </div>
        }
      />
      <div className="grid grid-cols-2 gap-3 lg:grid-cols-6">
        <Stat label="Stuck now" value={d.stuck} tone={d.stuck > 0 ? 'orange' : 'slate'} href="/transactions?stuck=1" hint="open the stuck view" />
        <Stat label="Unfinished" value={d.unfinished} href="/transactions?status=prepared,submitted,aborting" />
        <Stat label="Finished (succeed / failed)" value={`${total.succeeded} / ${total.failed}`} hint={`${total.created} created`} />
        <Stat label="Time to finish p50" value={fmtDuration(d.timeToFinish.p50)} hint={`of ${d.timeToFinish.sample} succeeded`} />
        <Stat label="Time to finish p99" value={fmtDuration(d.timeToFinish.p99)} />
        <Stat
          label="Finished rows kept"
          value={d.retained.finished}
          hint={d.retained.oldestFinished === null ? 'none kept' : `oldest finished ${fmtRelative(d.retained.oldestFinished)}`}
        />
      </div>
      <Card title={d.step === 1 ? 'Transactions per minute' : `Transactions per ${d.step} minutes`}>
        <div className="h-72 text-slate-500 dark:text-slate-400" data-testid="chart-per-minute">
          <ResponsiveContainer width="100%" height="100%">
            <AreaChart data={d.series} margin={{ left: 0, right: 12, top: 8 }}>
              <CartesianGrid strokeDasharray="3 3" stroke="currentColor" strokeOpacity={0.25} />
              <XAxis
                tick={{ fill: 'currentColor' }}
                dataKey="minute"
                tickFormatter={win.minutes > 1440 ? dayHhmm : hhmm}
                fontSize={11}
                minTickGap={24}
              />
              <YAxis tick={{ fill: 'currentColor' }} allowDecimals={false} fontSize={11} width={40} />
              <Tooltip labelFormatter={(v) => dayHhmm(Number(v))} />
              <Legend />
              <Area type="monotone" dataKey="created" stroke="#6366f1" fill="#6366f1" fillOpacity={0.08} isAnimationActive={false} />
              <Area type="monotone" dataKey="succeeded" stroke="#10b981" fill="#10b981" fillOpacity={0.25} isAnimationActive={false} />
              <Area type="monotone" dataKey="failed" stroke="#f43f5e" fill="#f43f5e" fillOpacity={0.25} isAnimationActive={false} />
            </AreaChart>
          </ResponsiveContainer>
        </div>
      </Card>
      <Card title={`Branch endpoints, most failed calls first (last ${win.label})`}>
        {ep.error && <Banner>{errorMessage(ep.error)}</Banner>}
        <div className="overflow-x-auto">
          <DataTable
            testId="endpoints-table"
            tableClassName="w-full table-fixed text-sm"
            headClassName="bg-slate-50 dark:bg-slate-950 text-left text-xs font-medium uppercase tracking-wide text-slate-500 dark:text-slate-400"
            bodyClassName="divide-y divide-slate-100 dark:divide-slate-800"
            rows={ep.data?.endpoints ?? []}
            rowKey={(e) => e.endpoint}
            rowAttributes={(e) => ({ 'data-endpoint': e.endpoint, className: e.failed > 0 ? 'bg-rose-50/40 dark:bg-rose-950/30' : '' })}
            columns={[
              {
                header: 'Endpoint',
                headerClassName: 'w-[26%] px-3 py-2',
                className: 'truncate px-3 py-2 font-mono text-xs',
                title: (e) => e.endpoint,
                cell: (e) => e.endpoint,
              },
              {
                header: 'Failed / calls',
                headerClassName: 'w-28 px-2 py-2 text-right',
                className: (e) =>
                  `px-2 py-2 text-right tabular-nums ${e.failed > 0 ? 'font-medium text-rose-700 dark:text-rose-300' : 'text-slate-500 dark:text-slate-400'}`,
                cell: (e) => `${e.failed} / ${e.calls}`,
              },
              {
                header: 'Ongoing',
                headerClassName: 'w-20 px-2 py-2 text-right',
                className: 'px-2 py-2 text-right tabular-nums',
                cell: (e) => e.ongoing,
              },
              {
                header: 'Transactions',
                headerClassName: 'w-28 px-2 py-2 text-right',
                className: 'px-2 py-2 text-right tabular-nums',
                cell: (e) =>
                  e.transactions > 0 ? (
                    <Link
                      className="text-indigo-600 dark:text-indigo-400 hover:underline"
                      href={`/transactions?failingAt=${encodeURIComponent(e.endpoint)}`}
                      title="the transactions failing here now"
                    >
                      {e.transactions}
                    </Link>
                  ) : (
                    0
                  ),
              },
              {
                header: 'p50',
                headerClassName: 'w-20 px-2 py-2',
                className: 'px-2 py-2 text-xs text-slate-600 dark:text-slate-300',
                cell: (e) => (e.calls ? ms(e.p50Ms) : '—'),
              },
              {
                header: 'p99',
                headerClassName: 'w-20 px-2 py-2',
                className: 'px-2 py-2 text-xs text-slate-600 dark:text-slate-300',
                cell: (e) => (e.calls ? ms(e.p99Ms) : '—'),
              },
              {
                header: 'Last error',
                headerClassName: 'px-3 py-2',
                className: 'truncate px-3 py-2 text-xs text-rose-700 dark:text-rose-300',
                title: (e) => e.lastError?.text,
                cell: (e) =>
                  e.lastError ? (
                    <>
                      <span className="font-medium">{e.lastError.answer}</span> {fmtRelative(e.lastError.at)}: {e.lastError.text}
                    </>
                  ) : (
                    '—'
                  ),
              },
            ]}
            empty={
              ep.isLoading ? (
                <Spinner />
              ) : (
                <div className="p-4 text-center text-sm text-slate-500 dark:text-slate-400">No branch calls in this window.</div>
              )
            }
          />
        </div>
        <p className="mt-2 text-xs text-slate-500 dark:text-slate-400">
          From the attempt log: failed = answered with an error or FAILURE; p50/p99 are latency buckets (≤ 1, 2, 5, 10, 20, 50 ms, …). Also exported
          as <code>dtx_branch_calls_total{'{endpoint,outcome}'}</code> on the coordinator&apos;s /api/metrics.
        </p>
      </Card>
      <p className="text-xs text-slate-500 dark:text-slate-400">
        Stuck: unfinished and its branch calls failing for more than {d.thresholds.failingSeconds} s or more than {d.thresholds.failedCalls} times in
        a row, or a branch answering &quot;ongoing&quot; for more than {fmtDuration(d.thresholds.ongoingSeconds * 1000)}, or due for more than{' '}
        {d.thresholds.overdueSeconds} s, or older than {fmtDuration(d.thresholds.ageSeconds * 1000)} (Dashboard.Stuck* settings).
      </p>
    </div>
  );
}
