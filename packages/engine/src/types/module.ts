// What a transaction type is: the one interface each of saga, msg, tcc, xa and workflow
// implements in its own module beside this file. Everything that differs between the types is a
// member here, so the engine, the scheduler, the admin actions and the request checks ask the
// type's module instead of switching on its name (the registry maps names to modules).
import type { TargetRules } from '../checks.ts';
import type { DtmError } from '../errors.ts';
import type { Pass, PassRules } from '../pass.ts';
import type { GlobalStatus } from '../status.ts';
import type { NewBranch } from '../store/port.ts';
import type { BranchRegistration, TransRequest } from '../model.ts';

/** Subscriber URLs of a message topic ([] when unknown). */
export interface TopicResolver {
  resolve(topic: string): string[];
}

/** What an operator's "abort with rollback" does to an unfinished, not yet aborting transaction. */
export type OperatorAbort =
  | { refuse: string }
  | {
      to: typeof import('../status.ts').Status.Aborting | typeof import('../status.ts').Status.Failed;
      /** Only while no pass holds the row. */
      leaseFree?: boolean;
      /** Only while no branch operation with one of these ops has succeeded. */
      noneSucceeded?: string[];
    };

export interface TransTypeModule extends PassRules {
  readonly name: string;

  // ---- requests
  /** Checks the type's own parts of a prepare / submit request (steps, payloads, custom_data). */
  checkRequest(req: TransRequest, rules: TargetRules): void;
  /** Branch rows saved with the global at prepare / submit ([] when the client registers them). */
  generateBranches(req: TransRequest, topics: TopicResolver): NewBranch[];
  /** Branch rows of a registerBranch call; absent when the type registers none. */
  registerBranch?(reg: BranchRegistration, rules: TargetRules): NewBranch[];
  /**
   * How submit works: 'run' stores (or moves to) submitted and runs a pass; 'record' records the
   * final status the client reports in req_extra (the client ran the transaction).
   */
  readonly submit: 'run' | 'record';
  /** dtm's abort route on a prepared transaction of this type: 'fail' ends it at once. */
  readonly abortPrepared?: 'fail';
  /** dtm's abort route rolls back (prepared or aborting -> aborting, then a pass). */
  readonly abortRollsBack: boolean;

  // ---- passes
  /** One processing pass (docs/protocol/transactions.md §4). Returns the error to retry, if any. */
  process(p: Pass): Promise<DtmError | null>;
  // timeoutLimit, failureSettles, postWithoutPayload: PassRules (pass.ts).

  // ---- operators
  /** What "abort with rollback" does in this status (succeed, failed and aborting are handled before). */
  operatorAbort(status: GlobalStatus): OperatorAbort;
  /** The dashboard's sentence for what that abort will do. */
  explainAbort(status: GlobalStatus): string;
}
