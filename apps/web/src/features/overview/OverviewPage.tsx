'use client';
// The overview: transactions per minute by outcome, how many are stuck, and time to finish.
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { Area, AreaChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { Banner, Card, PageTitle, Spinner } from '@/components/ui';
import { useMe } from '@/features/auth/useMe';
import { fmtDuration, fmtRelative } from '@/lib/format';
import { errorMessage, useTRPC } from '@/lib/trpc';

const hhmm = (ms: number) => {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
};

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
    <div className={`rounded-lg bg-white p-4 shadow-sm ring-1 ${tone === 'orange' ? 'ring-orange-300' : 'ring-slate-200'}`}>
      <div className="text-xs font-medium text-slate-500">{label}</div>
      <div className={`mt-1 text-2xl font-semibold tabular-nums ${tone === 'orange' ? 'text-orange-700' : ''}`}>{value}</div>
      {hint && <div className="mt-1 text-xs text-slate-500">{hint}</div>}
    </div>
  );
  return href ? <Link href={href}>{body}</Link> : body;
}

export function OverviewPage() {
  const trpc = useTRPC();
  const me = useMe();
  const q = useQuery({ ...trpc.overview.stats.queryOptions({ minutes: 60 }), refetchInterval: (me.data?.settings.refreshSeconds ?? 5) * 1000 });
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
      <PageTitle title="Overview" subtitle="The last 60 minutes" />
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
      <Card title="Transactions per minute">
        <div className="h-72" data-testid="chart-per-minute">
          <ResponsiveContainer width="100%" height="100%">
            <AreaChart data={d.series} margin={{ left: 0, right: 12, top: 8 }}>
              <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" />
              <XAxis dataKey="minute" tickFormatter={hhmm} fontSize={11} minTickGap={24} />
              <YAxis allowDecimals={false} fontSize={11} width={40} />
              <Tooltip labelFormatter={(v) => hhmm(Number(v))} />
              <Legend />
              <Area type="monotone" dataKey="created" stroke="#6366f1" fill="#6366f1" fillOpacity={0.08} isAnimationActive={false} />
              <Area type="monotone" dataKey="succeeded" stroke="#10b981" fill="#10b981" fillOpacity={0.25} isAnimationActive={false} />
              <Area type="monotone" dataKey="failed" stroke="#f43f5e" fill="#f43f5e" fillOpacity={0.25} isAnimationActive={false} />
            </AreaChart>
          </ResponsiveContainer>
        </div>
      </Card>
      <p className="text-xs text-slate-500">
        Stuck: unfinished and due for more than {d.thresholds.overdueSeconds} s, or more than {d.thresholds.retryCount} failed calls, or older than{' '}
        {fmtDuration(d.thresholds.ageSeconds * 1000)} (Dashboard.Stuck* settings).
      </p>
    </div>
  );
}
