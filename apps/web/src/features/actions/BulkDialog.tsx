'use client';
// A bulk retry or abort: the selected transactions, or all matching the current filter. Shows how
// many first (frozen at the newest matching one), then runs in chunks with a progress bar; each
// chunk's outcomes are added to one audit row.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRef, useState } from 'react';
import type { Filter } from '@dtx/api/filters';
import { Banner, Button, Dialog, Field, inputClass, Spinner } from '@/components/ui';
import { errorMessage, useTRPC, useTRPCClient } from '@/lib/trpc';
import { ACTION_LABEL, explainBulk } from './explain';

type Target = { gids: string[] } | { filter: Filter };
interface Outcome {
  gid: string;
  ok: boolean;
  message: string;
}

export function BulkDialog({ action, target, onClose }: { action: 'retry' | 'abort'; target: Target; onClose: (done: boolean) => void }) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const qc = useQueryClient();
  const preview = useQuery({ ...trpc.actions.preview.queryOptions({ target }), staleTime: Infinity, refetchOnWindowFocus: false });
  const [reason, setReason] = useState('');
  const [progress, setProgress] = useState<{ processed: number; succeeded: number; failed: number; total: number } | null>(null);
  const [failures, setFailures] = useState<Outcome[]>([]);
  const [finished, setFinished] = useState(false);
  const cancelled = useRef(false);

  const run = useMutation({
    mutationFn: async () => {
      cancelled.current = false;
      const { auditId, total } = await client.actions.start.mutate({ action, reason, target, maxId: preview.data?.maxId ?? undefined });
      setProgress({ processed: 0, succeeded: 0, failed: 0, total });
      let cursor: string | null = null;
      for (;;) {
        if (cancelled.current) break;
        const s = await client.actions.step.mutate({ auditId, cursor });
        setProgress({ processed: s.processed, succeeded: s.succeeded, failed: s.failed, total: s.total });
        setFailures((f) => [...f, ...s.results.filter((r) => !r.ok)].slice(0, 200));
        if (s.done) break;
        cursor = s.nextCursor;
      }
      setFinished(true);
    },
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: trpc.audit.pathKey() });
    },
  });

  const scope = 'gids' in target ? `${target.gids.length} selected transaction(s)` : 'every transaction matching the current filter';
  const pct = progress && progress.total > 0 ? Math.round((progress.processed / progress.total) * 100) : 0;
  return (
    <Dialog
      open
      title={`${ACTION_LABEL[action]}: ${scope}`}
      onClose={() => {
        cancelled.current = true;
        onClose(finished);
      }}
      footer={
        finished ? (
          <Button kind="primary" onClick={() => onClose(true)}>
            Close
          </Button>
        ) : run.isPending ? (
          <Button onClick={() => (cancelled.current = true)}>Stop after this chunk</Button>
        ) : (
          <>
            <Button onClick={() => onClose(false)}>Cancel</Button>
            <Button
              kind={action === 'retry' ? 'primary' : 'danger'}
              disabled={!preview.data || preview.data.total === 0}
              onClick={() => run.mutate()}
            >
              {ACTION_LABEL[action]} {preview.data ? preview.data.total : ''}
            </Button>
          </>
        )
      }
    >
      <p>{explainBulk(action)}</p>
      {preview.isLoading && <Spinner label="Counting…" />}
      {preview.error && <Banner>{errorMessage(preview.error)}</Banner>}
      {preview.data && (
        <p data-testid="bulk-preview">
          This will {action === 'retry' ? 'retry' : 'abort'} <b>{preview.data.total}</b> transaction(s)
          {preview.data.sample.length > 0 && <span className="text-slate-500 dark:text-slate-400"> (e.g. {preview.data.sample.join(', ')})</span>}.
          Finished ones are skipped and listed as not done.
        </p>
      )}
      {!progress && (
        <Field label="Reason">
          <textarea
            className={inputClass}
            name="reason"
            rows={2}
            value={reason}
            onChange={(e) => setReason(e.target.value)}
            placeholder="why (shown in the audit log)"
          />
        </Field>
      )}
      {progress && (
        <div className="space-y-1">
          <div
            className="h-2.5 w-full overflow-hidden rounded-full bg-slate-200 dark:bg-slate-700"
            role="progressbar"
            aria-valuenow={pct}
            aria-valuemin={0}
            aria-valuemax={100}
          >
            <div className="h-full bg-indigo-500 transition-all" style={{ width: `${pct}%` }} />
          </div>
          <p className="text-xs text-slate-600 dark:text-slate-300" data-testid="bulk-progress">
            {progress.processed} / {progress.total} processed — {progress.succeeded} done, {progress.failed} not done
          </p>
        </div>
      )}
      {run.error && <Banner>{errorMessage(run.error)}</Banner>}
      {failures.length > 0 && (
        <details className="text-xs">
          <summary className="cursor-pointer text-slate-600 dark:text-slate-300">
            Not done ({failures.length}
            {failures.length === 200 ? '+' : ''})
          </summary>
          <ul className="mt-1 max-h-40 overflow-auto font-mono">
            {failures.map((f) => (
              <li key={f.gid}>
                {f.gid}: {f.message}
              </li>
            ))}
          </ul>
        </details>
      )}
    </Dialog>
  );
}
