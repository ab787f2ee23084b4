// Workflow (docs/protocol/transactions.md §4.6): every rule of the type in one place. The client
// SDK drives the workflow and records each step as a registered branch; the server only calls
// the resume callback of a prepared workflow when it is due (never backing it off), and submit
// records the outcome the client reports.
import { checkBranchUrl, checkCustomData, type TargetRules } from '../checks.ts';
import { badRequest, type DtmError } from '../errors.ts';
import type { Pass } from '../pass.ts';
import { isFinished, Status } from '../status.ts';
import type { NewBranch } from '../store/port.ts';
import type { BranchRegistration, TransRequest } from '../model.ts';
import type { TransTypeModule } from './module.ts';

export interface WorkflowCustom {
  name: string;
  data: Buffer;
}

/** workflow custom_data: `{"name": "...", "data": "<base64 of the input>"}`. */
export function parseWorkflowCustom(customData: string): WorkflowCustom {
  const out: WorkflowCustom = { name: '', data: Buffer.alloc(0) };
  if (!customData) return out;
  const v = JSON.parse(customData) as Record<string, unknown> | null;
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('workflow custom_data must be a JSON object');
  for (const [k, x] of Object.entries(v)) {
    if (k.toLowerCase() === 'name' && typeof x === 'string') out.name = x;
    if (k.toLowerCase() === 'data' && typeof x === 'string') out.data = Buffer.from(x, 'base64');
  }
  return out;
}

/** protobuf encoding of `workflow.WorkflowData { bytes Data = 1; }` */
export function encodeWorkflowData(data: Buffer): Buffer {
  if (data.length === 0) return Buffer.alloc(0);
  const len: number[] = [];
  let n = data.length;
  while (n > 0x7f) {
    len.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  len.push(n);
  return Buffer.concat([Buffer.from([0x0a, ...len]), data]);
}

async function processWorkflow(p: Pass): Promise<DtmError | null> {
  if (isFinished(p.status)) return null;
  const custom = parseWorkflowCustom(p.trans.customData);
  const payload = p.trans.protocol === 'grpc' ? encodeWorkflowData(custom.data) : custom.data;
  const r = await p.callUrl(p.trans.queryPrepared, '00', custom.name, payload);
  if (r.outcome !== 'success') p.noteError(`workflow resume ${p.trans.queryPrepared}`, r.message);
  return null;
}

export const workflow: TransTypeModule = {
  name: 'workflow',
  submit: 'record',
  abortRollsBack: false,

  checkRequest(req: TransRequest, rules: TargetRules): void {
    checkCustomData(parseWorkflowCustom, req.customData);
    checkBranchUrl('query_prepared', req.queryPrepared, req.protocol, rules);
  },
  generateBranches: () => [],

  /** A finished step: its op and outcome (the client ran it). */
  registerBranch(reg: BranchRegistration): NewBranch[] {
    const op = reg.data.op ?? '';
    const status = reg.data.status ?? '';
    if (!op) throw badRequest('op is required for a workflow branch');
    if (status !== Status.Succeed && status !== Status.Failed) {
      throw badRequest(`workflow branch status must be succeed or failed, not '${status}'`);
    }
    return [{ gid: reg.gid, url: '', binData: reg.payload, branchId: reg.branchId, op, status }];
  },

  process: processWorkflow,
  /** The client decides when a workflow is over: it never times out on the server. */
  timeoutLimit: () => 0,
  failureSettles: () => false,

  operatorAbort: () => ({ refuse: 'workflow transactions are driven by their client; use force stop' }),
  explainAbort: () => 'Refused: workflows are driven by their client; use force stop.',
};
