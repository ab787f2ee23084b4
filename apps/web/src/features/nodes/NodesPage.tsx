'use client';
// Coordinator instances sharing this database, from their heartbeats (every 5 s).
import { useQuery } from '@tanstack/react-query';
import { Banner, PageTitle, Spinner } from '@/components/ui';
import { fmtRelative, fmtTime } from '@/lib/format';
import { errorMessage, useTRPC } from '@/lib/trpc';

export function NodesPage() {
  const trpc = useTRPC();
  const q = useQuery({ ...trpc.nodes.list.queryOptions(), refetchInterval: 5000 });
  const alive = q.data?.filter((n) => n.alive) ?? [];
  const lost = q.data?.filter((n) => !n.alive) ?? [];
  return (
    <div className="space-y-4">
      <PageTitle title="Nodes" subtitle={`${alive.length} coordinator instance(s) alive now`} />
      {q.error && <Banner>{errorMessage(q.error)}</Banner>}
      {q.isLoading && <Spinner />}
      {q.data && q.data.length === 0 && <Banner kind="info">No coordinator has sent a heartbeat to this database.</Banner>}
      <div className="grid gap-3 md:grid-cols-2 xl:grid-cols-3">
        {[...alive, ...lost].map((n) => (
          <div
            key={n.instanceId}
            data-testid="node"
            className="rounded-lg bg-white dark:bg-slate-900 p-4 shadow-sm ring-1 ring-slate-200 dark:ring-slate-700"
          >
            <div className="flex items-center justify-between">
              <span className="font-mono text-sm font-semibold">{n.instanceId}</span>
              <span
                className={`rounded-full px-2 py-0.5 text-xs ${n.alive ? 'bg-emerald-50 dark:bg-emerald-950/40 text-emerald-700 dark:text-emerald-300' : 'bg-rose-50 dark:bg-rose-950/40 text-rose-700 dark:text-rose-300'}`}
              >
                {n.alive ? 'alive' : 'no heartbeat'}
              </span>
            </div>
            <dl className="mt-3 grid grid-cols-2 gap-y-1.5 text-sm">
              <dt className="text-slate-500 dark:text-slate-400">Address</dt>
              <dd className="break-all font-mono text-xs">{n.address}</dd>
              <dt className="text-slate-500 dark:text-slate-400">Version</dt>
              <dd>{n.version}</dd>
              <dt className="text-slate-500 dark:text-slate-400">In flight</dt>
              <dd className="tabular-nums">{n.inFlight}</dd>
              <dt className="text-slate-500 dark:text-slate-400">Host / pid</dt>
              <dd className="break-all">
                {n.hostname} / {n.pid}
                {n.worker !== null && ` / worker ${n.worker + 1} of ${n.workers}`}
              </dd>
              <dt className="text-slate-500 dark:text-slate-400">Store</dt>
              <dd>{n.store}</dd>
              <dt className="text-slate-500 dark:text-slate-400">Started</dt>
              <dd>{fmtTime(n.startedAt)}</dd>
              <dt className="text-slate-500 dark:text-slate-400">Heartbeat</dt>
              <dd>{fmtRelative(n.heartbeatAt)}</dd>
            </dl>
          </div>
        ))}
      </div>
    </div>
  );
}
