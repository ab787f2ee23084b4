// Statuses of global transactions and branch operations, and the one table of legal moves
// between them. Every status change goes through `assertTransition` (the pass's compare-and-set,
// the API operations, the operator actions), so a move that is not in the table is a bug caught
// where it happens, not a row left in a state nothing can finish.

export const Status = {
  Prepared: 'prepared',
  Submitted: 'submitted',
  Aborting: 'aborting',
  Succeed: 'succeed',
  Failed: 'failed',
} as const;

/** Status of a global transaction (trans_global.status). */
export type GlobalStatus = (typeof Status)[keyof typeof Status];
/** dtm's name for the same union. */
export type Status = GlobalStatus;

/** Status of one branch operation (trans_branch_op.status). */
export type BranchStatus = typeof Status.Prepared | typeof Status.Succeed | typeof Status.Failed;

export const GLOBAL_STATUSES: readonly GlobalStatus[] = Object.values(Status);
export const UNFINISHED: readonly GlobalStatus[] = [Status.Prepared, Status.Submitted, Status.Aborting];

export function isFinished(s: string): s is typeof Status.Succeed | typeof Status.Failed {
  return s === Status.Succeed || s === Status.Failed;
}

/**
 * Legal moves of a global status (docs/protocol/transactions.md §1). Which of them a given
 * transaction type makes, and when, is decided in its module under types/; this table is what
 * any of them may do:
 *
 *   prepared  -> submitted   msg/tcc/xa submit
 *   prepared  -> aborting    tcc/xa abort, tcc/xa timeout, operator abort
 *   prepared  -> succeed     workflow submit (the client ran it)
 *   prepared  -> failed      msg abort or query-prepared FAILURE, workflow submit, force stop
 *   submitted -> succeed     every branch done
 *   submitted -> aborting    saga action FAILURE, timeout, retry limit, operator abort
 *   submitted -> failed      force stop
 *   aborting  -> aborting    dtm's abort of an aborting tcc/xa (a new reason, another pass)
 *   aborting  -> failed      every compensation done, force stop
 */
export const GLOBAL_TRANSITIONS: Readonly<Record<GlobalStatus, readonly GlobalStatus[]>> = {
  prepared: [Status.Submitted, Status.Aborting, Status.Succeed, Status.Failed],
  submitted: [Status.Succeed, Status.Aborting, Status.Failed],
  aborting: [Status.Aborting, Status.Failed],
  succeed: [],
  failed: [],
};

/** A branch operation settles once: prepared -> succeed, or (saga action FAILURE) -> failed. */
export const BRANCH_TRANSITIONS: Readonly<Record<BranchStatus, readonly BranchStatus[]>> = {
  prepared: [Status.Succeed, Status.Failed],
  succeed: [],
  failed: [],
};

export function canTransition(from: GlobalStatus, to: GlobalStatus): boolean {
  return GLOBAL_TRANSITIONS[from].includes(to);
}

/** Throws when `from -> to` is not a legal move (a programming error, not a lost race). */
export function assertTransition(from: GlobalStatus, to: GlobalStatus): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
}

export function assertBranchTransition(from: BranchStatus, to: BranchStatus): void {
  if (!BRANCH_TRANSITIONS[from].includes(to)) throw new IllegalTransitionError(from, to);
}

export class IllegalTransitionError extends Error {
  constructor(
    readonly from: string,
    readonly to: string,
  ) {
    super(`illegal status change ${from} -> ${to}`);
    this.name = 'IllegalTransitionError';
  }
}
