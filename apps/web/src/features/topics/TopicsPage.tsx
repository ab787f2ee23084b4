'use client';
// Topics of two-phase messages: a msg step `topic://NAME` is delivered to every subscriber URL.
// Operators subscribe and unsubscribe URLs and delete topics (each confirmed and audited). Each
// subscriber shows the calls made to it in a chosen window: delivered, failed, the newest error.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Banner, Button, Card, Dialog, Field, inputClass, PageTitle, Spinner } from '@/components/ui';
import { useCan, useMe } from '@/features/auth/useMe';
import { fmtTime } from '@/lib/format';
import { errorMessage, useTRPC } from '@/lib/trpc';

const WINDOWS = [
  { key: '1h', label: '1 h' },
  { key: '24h', label: '24 h' },
  { key: '7d', label: '7 days' },
] as const;
type Window = (typeof WINDOWS)[number]['key'];

type Pending = { kind: 'unsubscribe'; topic: string; url: string } | { kind: 'delete'; topic: string; subscribers: number };

export function TopicsPage() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const canAct = useCan('operator');
  const me = useMe();
  const q = useQuery(trpc.topics.list.queryOptions());
  const [span, setSpan] = useState<Window>('24h');
  const deliveries = useQuery({
    ...trpc.topics.deliveries.queryOptions({ window: span }),
    refetchInterval: Math.max((me.data?.settings.refreshSeconds ?? 5) * 1000, 5000),
    placeholderData: keepPreviousData,
  });
  const byUrl = new Map(deliveries.data?.urls.map((d) => [d.url, d]));
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: trpc.topics.list.queryKey() });
    void qc.invalidateQueries({ queryKey: trpc.audit.pathKey() });
  };
  const subscribe = useMutation(trpc.topics.subscribe.mutationOptions({ onSettled: refresh }));
  const unsubscribe = useMutation(trpc.topics.unsubscribe.mutationOptions({ onSettled: refresh }));
  const remove = useMutation(trpc.topics.delete.mutationOptions({ onSettled: refresh }));
  const [form, setForm] = useState({ topic: '', url: '', remark: '' });
  const [pending, setPending] = useState<Pending | null>(null);
  const error = subscribe.error ?? unsubscribe.error ?? remove.error;
  return (
    <div className="space-y-4">
      <PageTitle
        title="Topics"
        subtitle="A msg step topic://NAME is delivered to every subscriber of NAME"
        actions={
          <label className="flex items-center gap-2 text-xs text-slate-600 dark:text-slate-300">
            Deliveries in the last
            <select className={inputClass} aria-label="Deliveries window" value={span} onChange={(e) => setSpan(e.target.value as Window)}>
              {WINDOWS.map((w) => (
                <option key={w.key} value={w.key}>
                  {w.label}
                </option>
              ))}
            </select>
          </label>
        }
      />
      {deliveries.error && <Banner>{errorMessage(deliveries.error)}</Banner>}
      {q.error && <Banner>{errorMessage(q.error)}</Banner>}
      {error && <Banner>{errorMessage(error)}</Banner>}
      {canAct && (
        <Card title="Subscribe a URL to a topic">
          <form
            className="flex flex-wrap items-end gap-3"
            onSubmit={(e) => {
              e.preventDefault();
              subscribe.mutate(form, { onSuccess: () => setForm({ topic: form.topic, url: '', remark: '' }) });
            }}
          >
            <Field label="Topic">
              <input className={inputClass} name="topic" value={form.topic} onChange={(e) => setForm({ ...form, topic: e.target.value })} required />
            </Field>
            <Field label="Subscriber URL">
              <input
                className={`${inputClass} w-96`}
                name="url"
                value={form.url}
                onChange={(e) => setForm({ ...form, url: e.target.value })}
                required
              />
            </Field>
            <Field label="Remark">
              <input className={inputClass} name="remark" value={form.remark} onChange={(e) => setForm({ ...form, remark: e.target.value })} />
            </Field>
            <Button kind="primary" type="submit" disabled={subscribe.isPending}>
              Subscribe
            </Button>
          </form>
        </Card>
      )}
      {q.isLoading && <Spinner />}
      {q.data && q.data.length === 0 && <Banner kind="info">No topics yet.</Banner>}
      {q.data?.map((t) => (
        <Card
          key={t.topic}
          title={
            <span className="font-mono" data-testid={`topic-${t.topic}`}>
              {t.topic} <span className="font-sans text-xs font-normal text-slate-500 dark:text-slate-400">version {t.version}</span>
            </span>
          }
          actions={
            canAct && (
              <Button size="sm" kind="danger" onClick={() => setPending({ kind: 'delete', topic: t.topic, subscribers: t.subscribers.length })}>
                Delete topic
              </Button>
            )
          }
        >
          {t.subscribers.length === 0 ? (
            <p className="text-sm text-slate-500 dark:text-slate-400">No subscribers.</p>
          ) : (
            <ul className="divide-y divide-slate-100 dark:divide-slate-800 text-sm">
              {t.subscribers.map((s) => (
                <li key={s.url} className="flex items-center justify-between py-1.5">
                  <span className="min-w-0">
                    <span className="font-mono text-xs">{s.url}</span>{' '}
                    {s.remark && <span className="text-slate-500 dark:text-slate-400">— {s.remark}</span>}
                    <Deliveries d={s.url === undefined ? undefined : byUrl.get(s.url)} />
                  </span>
                  {canAct && (
                    <Button size="sm" onClick={() => setPending({ kind: 'unsubscribe', topic: t.topic, url: s.url ?? '' })}>
                      Unsubscribe
                    </Button>
                  )}
                </li>
              ))}
            </ul>
          )}
        </Card>
      ))}
      {pending && (
        <Dialog
          open
          title={pending.kind === 'delete' ? `Delete topic ${pending.topic}` : `Unsubscribe from ${pending.topic}`}
          onClose={() => setPending(null)}
          footer={
            <>
              <Button onClick={() => setPending(null)}>Cancel</Button>
              <Button
                kind="danger"
                onClick={() => {
                  if (pending.kind === 'delete') remove.mutate({ topic: pending.topic });
                  else unsubscribe.mutate({ topic: pending.topic, url: pending.url });
                  setPending(null);
                }}
              >
                Confirm
              </Button>
            </>
          }
        >
          <p>
            {pending.kind === 'delete'
              ? `Messages sent to topic://${pending.topic} will fail to resolve it; its ${pending.subscribers} subscriber(s) get nothing more.`
              : `${pending.url} will no longer receive messages of topic://${pending.topic}. Messages already saved keep their steps.`}
          </p>
        </Dialog>
      )}
    </div>
  );
}

type UrlDeliveries = { succeeded: number; failed: number; ongoing: number; lastError: { at: number; answer: string; text: string } | null };

/** The calls to one subscriber URL in the window (packages/db dashboard/deliveries.ts). */
function Deliveries({ d }: { d: UrlDeliveries | undefined }) {
  if (!d) return null;
  return (
    <span className="mt-0.5 block text-xs" data-testid="deliveries">
      <span className="text-emerald-700 dark:text-emerald-300">{d.succeeded} delivered</span>
      {' · '}
      <span className={d.failed > 0 ? 'font-medium text-rose-700 dark:text-rose-300' : 'text-slate-500 dark:text-slate-400'}>{d.failed} failed</span>
      {d.ongoing > 0 && <span className="text-amber-700 dark:text-amber-300"> · {d.ongoing} ongoing</span>}
      {d.lastError && (
        <span className="block text-slate-600 dark:text-slate-300" data-testid="last-error">
          last error {fmtTime(d.lastError.at)}: <span className="font-medium">{d.lastError.answer}</span>{' '}
          <span className="break-all font-mono">{d.lastError.text}</span>
        </span>
      )}
    </span>
  );
}
