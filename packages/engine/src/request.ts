// Checks a decoded transaction request before anything is written: the fields every type shares
// here, the type's own through its module. dtm accepts much of what is rejected here and then
// panics, fails forever, or stores a transaction that can never finish; we answer 400 naming the
// problem.
import { byteLength, checkBranchHeaders, checkGid, checkText, DEFAULT_TARGET_RULES, LIMITS, type TargetRules } from './checks.ts';
import { badRequest } from './errors.ts';
import type { TransTypeModule } from './types/module.ts';
import { transTypeOf } from './types/registry.ts';
import type { TransRequest } from './model.ts';

const PROTOCOLS = new Set(['http', 'grpc', 'json-rpc']);

/**
 * Every string of a request that may be stored (payloads are bytes and stay as they are). The
 * transports' decoders run it too, for abort and workflow submit, which store rollback_reason and
 * req_extra without the rest of these checks.
 */
export function checkRequestText(req: TransRequest): void {
  checkText('gid', req.gid);
  checkText('trans_type', req.transType);
  checkText('protocol', req.protocol);
  checkText('custom_data', req.customData);
  checkText('query_prepared', req.queryPrepared);
  checkText('rollback_reason', req.rollbackReason);
  for (const [k, v] of Object.entries(req.reqExtra)) checkText(`req_extra.${k}`, v);
  req.steps.forEach((step, i) => {
    for (const [k, v] of Object.entries(step)) if (k !== 'data') checkText(`steps[${i}].${k}`, v);
  });
}

/** Validation shared by prepare, submit and prepareWorkflow; returns the type's module. */
export function checkTransRequest(req: TransRequest, rules: TargetRules = DEFAULT_TARGET_RULES): TransTypeModule {
  checkGid(req.gid);
  checkRequestText(req);
  const type = transTypeOf(req.transType);
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
  checkBranchHeaders('branch_headers', o.branchHeaders, req.protocol);
  checkBranchHeaders('passthrough_headers', req.extHeaders, req.protocol);
  type.checkRequest(req, rules);
  if (byteLength(req.rollbackReason) > LIMITS.rollbackReason) {
    req.rollbackReason = req.rollbackReason.slice(0, LIMITS.rollbackReason);
  }
  return type;
}
