// What each action will do to a given transaction, in the words the confirmation dialog shows.
// Mirrors the state machine of @dtx/engine's Admin (packages/engine/src/admin.ts).
export type Action = 'retry' | 'abort' | 'force-stop';

export const ACTION_LABEL: Record<Action, string> = { retry: 'Retry now', abort: 'Abort with rollback', 'force-stop': 'Force stop' };

const finished = (s: string) => s === 'succeed' || s === 'failed';

/** null when the action can run; else why it cannot. */
export function refusal(action: Action, t: { status: string; transType: string }): string | null {
  if (finished(t.status)) return `already ${t.status}`;
  if (action === 'abort') {
    if (t.status === 'aborting') return 'already rolling back';
    if (t.transType === 'msg' && t.status === 'submitted') return 'a submitted message cannot be rolled back (no compensation)';
    if (t.transType === 'workflow') return 'workflows are driven by their client; use force stop';
  }
  return null;
}

export function explain(action: Action, t: { status: string; transType: string } | null): string {
  if (action === 'retry') {
    return 'Makes it due now: the coordinator (any instance) runs its next step within TransCronInterval instead of waiting for the back-off. Branches are called again as in any retry, so they must be idempotent.';
  }
  if (action === 'force-stop') {
    return 'Marks it failed without calling any branch. Nothing is compensated or cancelled: data in the branch services may stay inconsistent. Use only when you will repair it by hand.';
  }
  if (!t) {
    return 'Each one is rolled back as its type allows: a saga goes to aborting and its succeeded steps are compensated in reverse order; a tcc or xa is cancelled or rolled back (refused once a confirm or commit succeeded); a prepared msg fails. Others are refused and listed in the outcome.';
  }
  switch (t.transType) {
    case 'saga':
      return t.status === 'prepared'
        ? 'It never ran: it becomes failed at once.'
        : 'It goes to aborting: the step in flight (if any) finishes, then every step that ran (or may have run) is compensated in reverse order, and it ends failed.';
    case 'tcc':
      return 'It goes to aborting: every registered branch is cancelled, then it ends failed. Refused if a confirm already succeeded.';
    case 'xa':
      return 'It goes to aborting: every registered branch is rolled back, then it ends failed. Refused if a commit already succeeded.';
    case 'msg':
      return 'A prepared message fails at once; nothing was called.';
    default:
      return 'Refused for this type.';
  }
}
