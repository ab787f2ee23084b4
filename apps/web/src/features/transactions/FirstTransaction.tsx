'use client';
// The empty state of a dashboard without any transaction: the one command that creates a first
// one. A saga whose step (and compensation) is the coordinator's own /api/ping, which answers 200
// to any method, so it succeeds as it is; the user replaces those URLs with their services'.
// The coordinator's address is this page's host name and the coordinator's HTTP port (the
// dashboard cannot know how a service network reaches it; the text says so).
import { useQuery } from '@tanstack/react-query';
import { useSyncExternalStore } from 'react';
import { Button, Card, CopyButton } from '@/components/ui';
import { useMe } from '@/features/auth/useMe';
import { useTRPC } from '@/lib/trpc';

/** The curl command that submits a one-step saga to `base` (the coordinator, e.g. http://host:36789). */
export function firstSagaCommand(base: string, token: boolean): string {
  const body = JSON.stringify({
    gid: 'first-saga',
    trans_type: 'saga',
    steps: [{ action: `${base}/api/ping`, compensate: `${base}/api/ping` }],
    payloads: ['{"amount":30}'],
  });
  const auth = token ? ` -H "authorization: Bearer $DTX_TOKEN"` : '';
  return `curl -X POST ${base}/api/dtmsvr/submit -H 'content-type: application/json'${auth} \\\n  -d '${body}'`;
}

const noChanges = () => () => undefined;

export function FirstTransaction() {
  const me = useMe();
  const c = me.data?.settings.coordinator;
  // the browser's host name; the server renders none (no hydration mismatch)
  const host = useSyncExternalStore(
    noChanges,
    () => window.location.hostname,
    () => null,
  );
  if (!c || host === null) return null;
  const base = `http://${host}:${c.httpPort ?? 36789}`;
  const command = firstSagaCommand(base, c.token);
  return (
    <Card title="No transactions yet" actions={<CopyButton text={command} label="Copy command" kind="secondary" />}>
      <div className="space-y-2 text-sm text-slate-700 dark:text-slate-200" data-testid="first-transaction">
        <p>
          Services submit transactions to the coordinator at <code className="font-mono font-medium">{base}/api/dtmsvr</code>. This creates a first
          one, a saga with one step that succeeds (the step calls the coordinator&apos;s own <code className="font-mono">/api/ping</code>):
        </p>
        <pre className="overflow-x-auto rounded-md bg-slate-100 p-3 font-mono text-xs text-slate-800 dark:bg-slate-800 dark:text-slate-200">
          {command}
        </pre>
        <p className="text-slate-500 dark:text-slate-400">
          Replace the step URLs with your services&apos; endpoints (a step answering 409 or FAILURE rolls the saga back), or point a dtm SDK at{' '}
          <code className="font-mono">{base}/api/dtmsvr</code>. If your services reach the coordinator by another address, use that one.
          {c.token && ' The API needs a token (ApiAuth.Token): set DTX_TOKEN to it first.'}
        </p>
      </div>
    </Card>
  );
}

/**
 * What an empty transaction list shows: the first-transaction hint when the database holds none at
 * all, else that the filters match nothing, with a button to clear them.
 */
export function EmptyTransactions({ onClear, refetchInterval }: { onClear: () => void; refetchInterval: number | false }) {
  const trpc = useTRPC();
  const any = useQuery({ ...trpc.overview.hasTransactions.queryOptions(), refetchInterval });
  if (any.data === undefined) return null;
  if (!any.data)
    return (
      <div className="p-4">
        <FirstTransaction />
      </div>
    );
  return (
    <div className="flex items-center justify-center gap-3 p-6 text-sm text-slate-500 dark:text-slate-400">
      No transactions match.
      <Button size="sm" onClick={onClear}>
        Clear filters
      </Button>
    </div>
  );
}
