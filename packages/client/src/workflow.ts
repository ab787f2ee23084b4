// Workflow (docs/protocol/transactions.md §4.6, docs/client/workflow.md): the coordinator only
// stores progress and calls a resume callback; the client runs the function, records each step
// with registerBranch, replays recorded steps when it runs again, then runs the commit or
// rollback callbacks and submits the outcome.
import { BranchBarrier } from './barrier/core.js';
import type { BranchContext } from './branch/context.js';
import { Failure } from './errors.js';
import type { HttpTransport } from './http.js';
import { checkedGid, transBody, type TransOptions } from './trans.js';

export type WorkflowFunction = (wf: Workflow, input: string) => Promise<string | undefined>;

/** A phase-2 callback of a branch (its barrier is for op `commit` or `rollback`). */
export type PhaseTwo = (barrier: BranchBarrier) => Promise<unknown>;

interface Progress {
  status: string;
  data: string;
}

/** One run of a workflow function. */
export class Workflow {
  private branch = 0;
  private readonly phaseTwo: { branchId: string; op: 'commit' | 'rollback'; fn: PhaseTwo }[] = [];
  private readonly failedActions = new Set<string>();

  constructor(
    private readonly transport: HttpTransport,
    readonly gid: string,
    readonly name: string,
    private readonly progress: Map<string, Progress>,
  ) {}

  /** The current branch id ('' before the first newBranch). */
  get branchId(): string {
    return this.branch === 0 ? '' : String(this.branch).padStart(2, '0');
  }

  /** Starts the next branch (`01`, `02`, ...): the following do / onRollback / onCommit belong to it. */
  newBranch(): this {
    if (this.branch >= 99) throw new RangeError('a workflow may have at most 99 branches');
    this.branch += 1;
    return this;
  }

  /** Registers the compensation of the current branch (run, last first, if the workflow fails). */
  onRollback(fn: PhaseTwo): this {
    this.phaseTwo.push({ branchId: this.requireBranch(), op: 'rollback', fn });
    return this;
  }

  /** Registers a callback of the current branch run when the workflow succeeds. */
  onCommit(fn: PhaseTwo): this {
    this.phaseTwo.push({ branchId: this.requireBranch(), op: 'commit', fn });
    return this;
  }

  /**
   * Runs the current branch's action once: a recorded outcome is replayed (its result, or its
   * Failure); otherwise `fn` runs and a result or a Failure is recorded. Other errors are not
   * recorded (the step runs again when the workflow is resumed).
   */
  do(fn: (barrier: BranchBarrier) => Promise<string | undefined>): Promise<string> {
    return this.step(this.requireBranch(), 'action', fn);
  }

  private requireBranch(): string {
    if (this.branch === 0) throw new TypeError('call newBranch() before do / onRollback / onCommit');
    return this.branchId;
  }

  private async step(branchId: string, op: string, fn: (barrier: BranchBarrier) => Promise<unknown>): Promise<string> {
    const recorded = this.progress.get(`${branchId}-${op}`);
    if (recorded) {
      if (recorded.status === 'failed') {
        if (op === 'action') this.failedActions.add(branchId);
        throw new Failure(recorded.data || 'FAILURE');
      }
      return recorded.data;
    }
    let result: string;
    try {
      const v = await fn(new BranchBarrier('workflow', this.gid, branchId, op));
      result = typeof v === 'string' ? v : '';
    } catch (e) {
      if (e instanceof Failure) {
        if (op === 'action') this.failedActions.add(branchId);
        await this.record(branchId, op, 'failed', e.message);
      }
      throw e;
    }
    await this.record(branchId, op, 'succeed', result);
    return result;
  }

  private async record(branchId: string, op: string, status: string, data: string): Promise<void> {
    await this.transport.api('POST', 'registerBranch', { gid: this.gid, trans_type: 'workflow', branch_id: branchId, op, status, data });
    this.progress.set(`${branchId}-${op}`, { status, data });
  }

  /** Phase 2: commit or rollback callbacks, last registered first (none for a branch whose own action failed). */
  async finish(op: 'commit' | 'rollback'): Promise<void> {
    for (const p of [...this.phaseTwo].reverse()) {
      if (p.op !== op || (op === 'rollback' && this.failedActions.has(p.branchId))) continue;
      try {
        await this.step(p.branchId, op, p.fn);
      } catch (e) {
        if (e instanceof Failure) throw new Error(`workflow ${this.name}: a ${op} callback must not fail: ${e.message}`, { cause: e });
        throw e;
      }
    }
  }
}

export interface WorkflowOptions extends TransOptions {
  /** The URL the coordinator POSTs to resume an unfinished workflow (your route calling `executeByRequest`). */
  callbackUrl: string;
}

/** The workflows this service runs: register functions, execute them, resume them from the coordinator's callback. */
export class Workflows {
  private readonly functions = new Map<string, WorkflowFunction>();

  constructor(
    private readonly transport: HttpTransport,
    readonly options: WorkflowOptions,
  ) {}

  register(name: string, fn: WorkflowFunction): this {
    if (this.functions.has(name)) throw new TypeError(`workflow ${name} is already registered`);
    this.functions.set(name, fn);
    return this;
  }

  /**
   * Runs (or resumes) workflow `name` as global transaction `gid`. Resolves to its result;
   * throws Failure when it failed (now or in an earlier run), and any other error of the
   * function as is (the workflow then stays unfinished and the coordinator resumes it).
   */
  async execute(name: string, gid: string, input: string): Promise<string> {
    const fn = this.functions.get(name);
    if (!fn) throw new TypeError(`workflow ${name} is not registered`);
    checkedGid(gid);
    const customData = JSON.stringify({ name, data: Buffer.from(input, 'utf8').toString('base64') });
    const reply = (await this.transport.api(
      'POST',
      'prepareWorkflow',
      transBody(gid, 'workflow', { ...this.options, customData }, { query_prepared: this.options.callbackUrl }),
    )) as {
      transaction?: { status?: string; result?: string; rollback_reason?: string };
      progresses?: { branch_id: string; op: string; status: string; bin_data?: string }[];
    };
    const t = reply.transaction ?? {};
    if (t.status === 'succeed') return Buffer.from(t.result ?? '', 'base64').toString('utf8');
    if (t.status === 'failed') throw new Failure(t.rollback_reason || 'FAILURE');
    const progress = new Map<string, Progress>();
    for (const p of reply.progresses ?? []) {
      progress.set(`${p.branch_id}-${p.op}`, { status: p.status, data: Buffer.from(p.bin_data ?? '', 'base64').toString('utf8') });
    }
    const wf = new Workflow(this.transport, gid, name, progress);
    let result = '';
    let failure: Failure | undefined;
    try {
      result = (await fn(wf, input)) ?? '';
    } catch (e) {
      if (!(e instanceof Failure)) throw e;
      failure = e;
    }
    await wf.finish(failure ? 'rollback' : 'commit');
    await this.transport.api('POST', 'submit', {
      gid,
      trans_type: 'workflow',
      req_extra: {
        status: failure ? 'failed' : 'succeed',
        rollback_reason: failure?.message ?? '',
        result: Buffer.from(result, 'utf8').toString('base64'),
      },
    });
    if (failure) throw failure;
    return result;
  }

  /** The resume callback: the workflow's name is the request's op, its input the body. */
  async executeByRequest(ctx: BranchContext & { body: unknown }): Promise<void> {
    const input = typeof ctx.body === 'string' ? ctx.body : ctx.body === undefined ? '' : JSON.stringify(ctx.body);
    await this.execute(ctx.op, ctx.gid, input);
  }
}
