// Checks of request fields that every transaction type shares (gid, branch URLs, sizes). A type's
// own checks live in its module under types/; checkTransRequest (request.ts) runs both.
import { badRequest } from './errors.ts';

export const LIMITS = {
  gid: 128,
  branchId: 128,
  url: 1024,
  customData: 65535,
  rollbackReason: 4000,
  steps: 1000,
} as const;

/** A msg step naming a topic instead of a URL (docs/protocol/transactions.md §4.3). */
export const TOPIC_PREFIX = 'topic://';

export function byteLength(s: string): number {
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

/** Steps of saga and msg come with one payload each. */
export function checkPayloads(req: { steps: unknown[]; payloads: unknown[] }): void {
  if (req.payloads.length < req.steps.length) {
    throw badRequest(`${req.steps.length} steps but only ${req.payloads.length} payloads`);
  }
}

/** Parses custom_data with a type's parser; a parse error is the client's. */
export function checkCustomData(parse: (customData: string) => unknown, customData: string): void {
  try {
    parse(customData);
  } catch (err) {
    throw badRequest(`invalid custom_data: ${(err as Error).message}`);
  }
}

/** Branch ids of generated branches: 01, 02, ... (dtm's fmt "%02d"). */
export const pad2 = (n: number) => String(n).padStart(2, '0');

/**
 * A registerBranch call's branch_id (docs/protocol/http-api.md §4.7). The global's protocol is
 * not read before the insert, so registered URLs are checked permissively (http(s) or gRPC).
 */
export function checkRegistration(reg: { gid: string; branchId: string }): void {
  checkGid(reg.gid);
  if (!reg.branchId) throw badRequest('branch_id is required');
  if (byteLength(reg.branchId) > LIMITS.branchId) throw badRequest(`branch_id is longer than ${LIMITS.branchId} bytes`);
}

export const REGISTERED_URL_PROTOCOL = 'grpc';
