'use client';
// One action on one transaction, behind a confirmation that says what will happen and asks why.
// Force stop also asks for the gid to be typed.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Banner, Button, Dialog, Field, inputClass } from '@/components/ui';
import { errorMessage, useTRPC } from '@/lib/trpc';
import { ACTION_LABEL, type Action } from './explain';

export function ActionDialog({
  action,
  trans,
  onClose,
}: {
  action: Action;
  trans: { gid: string; status: string; transType: string; actions: Record<Action, { allowed: boolean; text: string }> };
  onClose: () => void;
}) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [reason, setReason] = useState('');
  const [typed, setTyped] = useState('');
  const run = useMutation(
    trpc.actions.run.mutationOptions({
      onSettled: () => {
        void qc.invalidateQueries({ queryKey: trpc.transactions.pathKey() });
        void qc.invalidateQueries({ queryKey: trpc.audit.pathKey() });
      },
    }),
  );
  const result = run.data;
  const needsGid = action === 'force-stop';
  return (
    <Dialog
      open
      title={`${ACTION_LABEL[action]}: ${trans.gid}`}
      onClose={onClose}
      footer={
        result ? (
          <Button kind="primary" onClick={onClose}>
            Close
          </Button>
        ) : (
          <>
            <Button onClick={onClose}>Cancel</Button>
            <Button
              kind={action === 'retry' ? 'primary' : 'danger'}
              disabled={run.isPending || (needsGid && typed !== trans.gid)}
              onClick={() => run.mutate({ action, gid: trans.gid, reason, confirmGid: needsGid ? typed : undefined })}
            >
              {run.isPending ? 'Working…' : `Confirm ${ACTION_LABEL[action].toLowerCase()}`}
            </Button>
          </>
        )
      }
    >
      <p data-testid="action-explanation">{trans.actions[action].text}</p>
      <p className="text-xs text-slate-500 dark:text-slate-400">
        Now: <b>{trans.status}</b> ({trans.transType}). Recorded in the audit log with your name and reason.
      </p>
      {!result && (
        <>
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
          {needsGid && (
            <Field label={`Type the gid to confirm`}>
              <input
                className={`${inputClass} font-mono`}
                name="confirm-gid"
                value={typed}
                onChange={(e) => setTyped(e.target.value)}
                placeholder={trans.gid}
              />
            </Field>
          )}
        </>
      )}
      {run.error && <Banner>{errorMessage(run.error)}</Banner>}
      {result && (
        <Banner kind={result.ok ? 'success' : 'warning'}>
          <span data-testid="action-result">
            {result.ok ? 'Done' : 'Not done'}: {result.message}
            {result.from && result.to && result.from !== result.to ? ` (${result.from} → ${result.to})` : ''}
          </span>
        </Banner>
      )}
    </Dialog>
  );
}
