// Labels of the operator actions, and the sentence for a bulk action over many transactions.
// What an action does to one transaction (or why it cannot) comes from the API
// (transactions.get -> transaction.actions), which asks the engine's rules.
export type Action = 'retry' | 'abort' | 'force-stop';

export const ACTION_LABEL: Record<Action, string> = { retry: 'Retry now', abort: 'Abort with rollback', 'force-stop': 'Force stop' };

const BULK: Record<Action, string> = {
  retry:
    'Makes each one due now: the coordinator (any instance) runs its next step within TransCronInterval instead of waiting for the back-off. Branches are called again as in any retry, so they must be idempotent.',
  abort:
    'Each one is rolled back as its type allows: a saga goes to aborting and its succeeded steps are compensated in reverse order; a tcc or xa is cancelled or rolled back (refused once a confirm or commit succeeded); a prepared msg fails. Others are refused and listed in the outcome.',
  'force-stop':
    'Marks each one failed without calling any branch. Nothing is compensated or cancelled: data in the branch services may stay inconsistent. Use only when you will repair it by hand.',
};

/** What a bulk action will do to the transactions it matches. */
export function explainBulk(action: Action): string {
  return BULK[action];
}
