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

/**
 * Text no store keeps as sent: NUL (PostgreSQL refuses it in text columns: "invalid byte sequence
 * for encoding UTF8: 0x00", a 500 there while SQLite and MariaDB store it) and unpaired UTF-16
 * surrogates (not Unicode: every store writes a replacement character instead, so the stored gid
 * or URL would differ from the one sent). Refused for every stored string (docs/compatibility.md).
 */
// eslint-disable-next-line no-control-regex -- finding NUL is the point of this pattern
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether some store can hold `s` as sent (no NUL, no unpaired surrogate): text that cannot names no row. */
export function isStorable(s: string): boolean {
  return !UNSTORABLE.test(s);
}

export function checkText(what: string, s: string): void {
  const m = UNSTORABLE.exec(s);
  if (!m) return;
  const code = `\\u${m[0].charCodeAt(0).toString(16).padStart(4, '0')}`;
  const why = m[0] === '\u0000' ? 'a NUL character' : 'an unpaired UTF-16 surrogate (not valid Unicode)';
  throw badRequest(`${what} contains ${why} (${code} at position ${m.index}), which cannot be stored`);
}

export function checkGid(gid: string): void {
  if (!gid) throw badRequest('gid is required');
  checkText('gid', gid);
  if (byteLength(gid) > LIMITS.gid) throw badRequest(`gid is longer than ${LIMITS.gid} bytes`);
}

/** What the coordinator can call, beyond http(s) URLs: set from its configuration. */
export interface TargetRules {
  /**
   * Schemes of gRPC targets (`scheme://authority/.../package.Service/Method`) that the configured
   * MicroService driver resolves, lowercase; [] for the default driver, which dials host:port only.
   */
  grpcSchemes: readonly string[];
  /**
   * The egress policy's verdict on a URL decidable without DNS (literal IPs, denied host names and
   * URL prefixes): the rule refusing it, or undefined (docs/security.md, "Egress policy").
   */
  egress?: { refuseUrl(url: string): string | undefined };
}

export const DEFAULT_TARGET_RULES: TargetRules = { grpcSchemes: [] };

function isHttpUrl(u: string): boolean {
  if (!/^https?:\/\//i.test(u)) return false;
  try {
    new URL(u);
    return true;
  } catch {
    return false;
  }
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/** A gRPC branch target: `host:port/pkg.Svc/Method` or `scheme://authority/.../pkg.Svc/Method`. */
function isGrpcTarget(u: string): boolean {
  if (/\s/.test(u)) return false;
  if (u.includes('://')) return /^[a-z][a-z0-9+.-]*:\/\/[^/]*\/.*[^/]\/[^/]+$/i.test(u) || /^[a-z]+:\/\/\/.+\/.+$/i.test(u);
  return /^[^/]+\/.+/.test(u);
}

/** Checks a branch URL the way the transaction's protocol will call it. */
export function checkBranchUrl(what: string, url: string, protocol: string, rules: TargetRules, allowTopic = false): void {
  if (url === '') return;
  checkText(what, url);
  if (url.length > LIMITS.url) throw badRequest(`${what} is longer than ${LIMITS.url} characters`);
  if (allowTopic && url.startsWith(TOPIC_PREFIX)) {
    if (url.length === TOPIC_PREFIX.length) throw badRequest(`${what} names no topic`);
    return;
  }
  if (isHttpUrl(url)) return checkEgress(what, url, rules);
  if (protocol === 'grpc' && isGrpcTarget(url)) {
    // A target whose scheme no driver resolves fails every call, forever (grpc/target.ts).
    const scheme = url.includes('://') ? (SCHEME.exec(url)?.[1] ?? '').toLowerCase() : '';
    if (!scheme || rules.grpcSchemes.includes(scheme)) return checkEgress(what, url, rules);
    const resolved = rules.grpcSchemes.length
      ? `it resolves ${rules.grpcSchemes.map((s) => `${s}://`).join(', ')}`
      : 'the default driver resolves none: use host:port/package.Service/Method';
    throw badRequest(`${what} uses the scheme '${scheme}://', which the configured MicroService driver does not resolve (${resolved}): '${url}'`);
  }
  const expected = protocol === 'grpc' ? 'a gRPC target (host:port/package.Service/Method) or an http(s) URL' : 'an http(s) URL';
  throw badRequest(`${what} is not ${expected}: '${url}'`);
}

/** A URL the egress policy refuses would fail every call, retried forever: refused with 400 instead. */
function checkEgress(what: string, url: string, rules: TargetRules): void {
  const why = rules.egress?.refuseUrl(url);
  if (why) throw badRequest(`${what} '${url}' is refused by ${why}`);
}

/**
 * A topic subscriber: called as a msg step of any protocol, so an http(s) URL or a gRPC target,
 * checked like a branch URL (docs/protocol/http-api.md §4.13).
 */
export function checkSubscriberUrl(url: string, rules: TargetRules): void {
  if (url.startsWith(TOPIC_PREFIX)) throw badRequest(`url: a subscriber cannot be a topic: '${url}'`);
  checkBranchUrl('url', url, 'grpc', rules);
}

// Branch headers (branch_headers, passthrough_headers) are sent with every branch call. One that
// the transport refuses fails every call, retried forever; so they are checked with the rules of
// the clients that send them: undici (HTTP; the same as node:http's validateHeaderName /
// validateHeaderValue) and grpc-js's Metadata (gRPC).
/** RFC 9110 token. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** undici / node:http: tab, visible ASCII, space and obs-text (0x80-0xff); no CR, LF, NUL, ... */
const HEADER_VALUE_BAD = /[^\t\x20-\x7e\x80-\xff]/;
/** Headers undici refuses to send whatever their value (it sets them itself, or never sends them). */
const REFUSED_HEADERS = new Set(['transfer-encoding', 'keep-alive', 'upgrade', 'expect', 'content-length']);
/** grpc-js Metadata keys (lowercased) and non-binary values. */
const GRPC_KEY = /^[0-9a-z_.-]+$/;
/** Connection-specific headers, which HTTP/2 (and so a gRPC call) cannot carry (RFC 9113 §8.2.2). */
const HTTP2_REFUSED = new Set(['connection', 'proxy-connection', 'http2-settings']);
const GRPC_VALUE_BAD = /[^\x20-\x7e]/;

function badChar(value: string, re: RegExp): string {
  const m = re.exec(value);
  if (!m) return '';
  return `\\u${m[0].charCodeAt(0).toString(16).padStart(4, '0')} at position ${m.index}`;
}

export function checkBranchHeaders(what: string, headers: Record<string, string>, protocol: string): void {
  for (const [name, value] of Object.entries(headers)) {
    const label = `${what} ${JSON.stringify(name)}`;
    if (!HEADER_NAME.test(name)) throw badRequest(`${label}: the name is not an HTTP header name (an RFC 9110 token)`);
    const lower = name.toLowerCase();
    if (REFUSED_HEADERS.has(lower) || (lower === 'connection' && !/^(close|keep-alive)$/i.test(value))) {
      throw badRequest(`${label}: the coordinator's HTTP client (undici) refuses to send this header`);
    }
    const bad = badChar(value, HEADER_VALUE_BAD);
    if (bad) throw badRequest(`${label}: the value holds a character not allowed in an HTTP header value (${bad})`);
    if (protocol !== 'grpc') continue;
    if (!GRPC_KEY.test(lower)) throw badRequest(`${label}: the name is not a gRPC metadata key (0-9 a-z _ . -)`);
    if (lower.endsWith('-bin')) throw badRequest(`${label}: gRPC metadata keys ending in -bin carry binary values, which headers cannot`);
    if (HTTP2_REFUSED.has(lower)) throw badRequest(`${label}: a connection-specific header, which HTTP/2 (gRPC) cannot carry`);
    const badGrpc = badChar(value, GRPC_VALUE_BAD);
    if (badGrpc) throw badRequest(`${label}: the value holds a character not allowed in gRPC metadata (printable ASCII only; ${badGrpc})`);
  }
}

/** Steps of saga and msg come with one payload each. */
export function checkPayloads(req: { steps: unknown[]; payloads: unknown[] }): void {
  if (req.payloads.length < req.steps.length) {
    throw badRequest(`${req.steps.length} steps but only ${req.payloads.length} payloads`);
  }
}

/** Parses custom_data with a type's parser; a parse error is the client's. */
export function checkCustomData<T>(parse: (customData: string) => T, customData: string): T {
  try {
    return parse(customData);
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
export function checkRegistration(reg: { gid: string; branchId: string; data: Record<string, string> }): void {
  checkGid(reg.gid);
  if (!reg.branchId) throw badRequest('branch_id is required');
  checkText('branch_id', reg.branchId);
  // Every field may be stored (URLs, workflow op and status); `data` is the payload: bytes, as is.
  for (const [k, v] of Object.entries(reg.data)) if (k !== 'data') checkText(k, v);
  if (byteLength(reg.branchId) > LIMITS.branchId) throw badRequest(`branch_id is longer than ${LIMITS.branchId} bytes`);
}

export const REGISTERED_URL_PROTOCOL = 'grpc';
