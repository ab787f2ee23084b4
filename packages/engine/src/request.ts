// Checks a decoded transaction request before anything is written, and generates the branch rows
// of saga and msg transactions. dtm accepts much of what is rejected here and then panics, fails
// forever, or stores a transaction that can never finish; we answer 400 naming the problem.
import type { NewBranch } from '@dtx/db';
import { badRequest, internal } from './errors.ts';
import { parseMsgDelay } from './msg.ts';
import { parseSagaCustom } from './saga/plan.ts';
import { Op, Status, TRANS_TYPES, type BranchRegistration, type TransRequest } from './types.ts';
import { parseWorkflowCustom } from './workflow.ts';

export const LIMITS = {
  gid: 128,
  branchId: 128,
  url: 1024,
  customData: 65535,
  rollbackReason: 4000,
  steps: 1000,
} as const;

const PROTOCOLS = new Set(['http', 'grpc', 'json-rpc']);
const TOPIC_PREFIX = 'topic://';

export interface TopicResolver {
  /** Subscriber URLs of a topic ([] when unknown). */
  resolve(topic: string): string[];
}

export const noTopics: TopicResolver = { resolve: () => [] };

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

export function checkGid(gid: string): void {
  if (!gid) throw badRequest('gid is required');
  if (byteLength(gid) > LIMITS.gid) throw badRequest(`gid is longer than ${LIMITS.gid} bytes`);
}

function isHttpUrl(u: string): boolean {
  if (!/^https?:\/\//i.test(u)) return false;
  try {
    new URL(u);
    return true;
  } catch {
    return false;
  }
}

/** A gRPC branch target: `host:port/pkg.Svc/Method` or `scheme://authority/.../pkg.Svc/Method`. */
function isGrpcTarget(u: string): boolean {
  if (/\s/.test(u)) return false;
  if (u.includes('://')) return /^[a-z][a-z0-9+.-]*:\/\/[^/]*\/.*[^/]\/[^/]+$/i.test(u) || /^[a-z]+:\/\/\/.+\/.+$/i.test(u);
  return /^[^/]+\/.+/.test(u);
}

/** Checks a branch URL the way the transaction's protocol will call it. */
export function checkBranchUrl(what: string, url: string, protocol: string, allowTopic = false): void {
  if (url === '') return;
  if (url.length > LIMITS.url) throw badRequest(`${what} is longer than ${LIMITS.url} characters`);
  if (allowTopic && url.startsWith(TOPIC_PREFIX)) {
    if (url.length === TOPIC_PREFIX.length) throw badRequest(`${what} names no topic`);
    return;
  }
  if (isHttpUrl(url)) return;
  if (protocol === 'grpc' && isGrpcTarget(url)) return;
  const expected = protocol === 'grpc' ? 'a gRPC target (host:port/package.Service/Method) or an http(s) URL' : 'an http(s) URL';
  throw badRequest(`${what} is not ${expected}: '${url}'`);
}

/** Validation shared by prepare, submit and prepareWorkflow. */
export function checkTransRequest(req: TransRequest): void {
  checkGid(req.gid);
  if (!(TRANS_TYPES as readonly string[]).includes(req.transType)) {
    throw badRequest(`unknow trans type: ${req.transType}`);
  }
  if (!PROTOCOLS.has(req.protocol)) throw badRequest(`unknown protocol: '${req.protocol}' (http, grpc or json-rpc)`);
  const o = req.options;
  for (const [k, v] of [
    ['timeout_to_fail', o.timeoutToFail],
    ['request_timeout', o.requestTimeout],
    ['retry_interval', o.retryInterval],
    ['retry_limit', o.retryLimit],
    ['retry_count', o.retryCount],
  ] as const) {
    if (v < 0) throw badRequest(`${k} must not be negative`);
  }
  if (byteLength(req.customData) > LIMITS.customData) throw badRequest(`custom_data is longer than ${LIMITS.customData} bytes`);
  if (req.steps.length > LIMITS.steps) throw badRequest(`more than ${LIMITS.steps} steps`);
  if ((req.transType === 'saga' || req.transType === 'msg') && req.payloads.length < req.steps.length) {
    throw badRequest(`${req.steps.length} steps but only ${req.payloads.length} payloads`);
  }
  try {
    if (req.transType === 'saga') parseSagaCustom(req.customData);
    if (req.transType === 'msg') parseMsgDelay(req.customData);
    if (req.transType === 'workflow') parseWorkflowCustom(req.customData);
  } catch (err) {
    throw badRequest(`invalid custom_data: ${(err as Error).message}`);
  }
  req.steps.forEach((step, i) => {
    if (req.transType === 'saga') {
      checkBranchUrl(`steps[${i}].action`, step.action ?? '', req.protocol);
      checkBranchUrl(`steps[${i}].compensate`, step.compensate ?? '', req.protocol);
    } else if (req.transType === 'msg') {
      checkBranchUrl(`steps[${i}].action`, step.action ?? '', req.protocol, true);
    }
  });
  if (req.transType === 'msg' || req.transType === 'workflow') {
    checkBranchUrl('query_prepared', req.queryPrepared, req.protocol);
  }
  if (byteLength(req.rollbackReason) > LIMITS.rollbackReason) {
    req.rollbackReason = req.rollbackReason.slice(0, LIMITS.rollbackReason);
  }
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** Branch rows generated when a saga or msg is saved (tcc, xa, workflow register theirs). */
export function generateBranches(req: TransRequest, topics: TopicResolver): NewBranch[] {
  const out: NewBranch[] = [];
  if (req.transType === 'saga') {
    req.steps.forEach((step, i) => {
      for (const op of [Op.Compensate, Op.Action]) {
        out.push({ gid: req.gid, url: step[op] ?? '', binData: req.payloads[i], branchId: pad2(i + 1), op, status: Status.Prepared });
      }
    });
  } else if (req.transType === 'msg') {
    req.steps.forEach((step, i) => {
      const action = step.action ?? '';
      const urls = action.startsWith(TOPIC_PREFIX) ? topics.resolve(action.slice(TOPIC_PREFIX.length)) : [action];
      if (urls.length === 0) throw internal('topic not found', true);
      urls.forEach((url, j) => {
        out.push({
          gid: req.gid,
          url,
          binData: req.payloads[i],
          branchId: urls.length === 1 ? pad2(i + 1) : `${pad2(i + 1)}-${pad2(j + 1)}`,
          op: Op.Action,
          status: Status.Prepared,
        });
      });
    });
  }
  return out;
}

/**
 * Branch rows of a registerBranch call (http-api.md §4.7). The global's protocol is not read
 * before the insert, so URLs are checked permissively (http(s) URL or gRPC target).
 */
export function registrationBranches(reg: BranchRegistration): NewBranch[] {
  const protocol = 'grpc';
  checkGid(reg.gid);
  if (!reg.branchId) throw badRequest('branch_id is required');
  if (byteLength(reg.branchId) > LIMITS.branchId) throw badRequest(`branch_id is longer than ${LIMITS.branchId} bytes`);
  const row = (op: string, url: string, status: string = Status.Prepared): NewBranch => ({
    gid: reg.gid,
    url,
    binData: reg.payload,
    branchId: reg.branchId,
    op,
    status,
  });
  switch (reg.transType) {
    case 'tcc': {
      const cancel = reg.data.cancel ?? '';
      const confirm = reg.data.confirm ?? '';
      checkBranchUrl('cancel', cancel, protocol);
      checkBranchUrl('confirm', confirm, protocol);
      return [row(Op.Cancel, cancel), row(Op.Confirm, confirm)];
    }
    case 'xa': {
      const url = reg.data.url ?? '';
      checkBranchUrl('url', url, protocol);
      return [row(Op.Rollback, url), row(Op.Commit, url)];
    }
    case 'workflow': {
      const op = reg.data.op ?? '';
      const status = reg.data.status ?? '';
      if (!op) throw badRequest('op is required for a workflow branch');
      if (status !== Status.Succeed && status !== Status.Failed) {
        throw badRequest(`workflow branch status must be succeed or failed, not '${status}'`);
      }
      return [row(op, '', status)];
    }
    default:
      throw internal(`unknow trans type: ${reg.transType}`);
  }
}
