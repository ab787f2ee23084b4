// Workflow pass (transactions.md §4.6): the client SDK drives the workflow; the server only calls
// the resume callback of a prepared workflow when it is due, and never backs it off.
import type { DtmError } from './errors.ts';
import type { Pass } from './pass.ts';
import { isFinished } from './types.ts';

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

export async function processWorkflow(p: Pass): Promise<DtmError | null> {
  if (isFinished(p.status)) return null;
  const custom = parseWorkflowCustom(p.trans.customData);
  const payload = p.trans.protocol === 'grpc' ? encodeWorkflowData(custom.data) : custom.data;
  const r = await p.callUrl(p.trans.queryPrepared, '00', custom.name, payload);
  if (r.outcome !== 'success') p.noteError(`workflow resume ${p.trans.queryPrepared}`, r.message);
  return null;
}
