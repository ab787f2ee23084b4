'use client';
// Topics (subscriber lists of two-phase messages), read-only from the kv table. The coordinator
// does not serve topic subscription yet, so this usually shows an explanation.
import { useQuery } from '@tanstack/react-query';
import { Banner, PageTitle, Spinner } from '@/components/ui';
import { errorMessage, useTRPC } from '@/lib/trpc';

export function TopicsPage() {
  const trpc = useTRPC();
  const q = useQuery(trpc.nodes.topics.queryOptions());
  return (
    <div className="space-y-4">
      <PageTitle title="Topics" subtitle="Subscribers of two-phase message topics (read-only)" />
      {q.error && <Banner>{errorMessage(q.error)}</Banner>}
      {q.isLoading && <Spinner />}
      {q.data && q.data.length === 0 && (
        <Banner kind="info">
          No topics. dtx does not implement dtm&apos;s topic subscription API yet (subscribe / unsubscribe); topics written to the <code>kv</code> table under the{' '}
          <code>topics</code> category by dtm show up here.
        </Banner>
      )}
      {q.data?.map((t) => (
        <div key={t.topic} className="rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200">
          <div className="font-mono font-semibold">{t.topic}</div>
          <div className="text-xs text-slate-500">version {t.version}</div>
          <ul className="mt-2 text-sm">
            {t.subscribers.map((s, i) => (
              <li key={i} className="font-mono text-xs">
                {s.url} {s.remark && <span className="text-slate-500">— {s.remark}</span>}
              </li>
            ))}
          </ul>
        </div>
      ))}
    </div>
  );
}
