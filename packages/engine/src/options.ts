// The `options` column: dtm stores the transaction options as JSON with Go's field order and
// omit-empty rules (every key but `concurrent` is left out when zero). Kept byte-identical so
// that a database shared with (or migrated from) dtm reads the same.
import { defaultOptions, type TransOptions } from './model.ts';

export function encodeOptions(o: TransOptions): string {
  const out: Record<string, unknown> = {};
  if (o.waitResult) out.wait_result = true;
  if (o.timeoutToFail) out.timeout_to_fail = o.timeoutToFail;
  if (o.requestTimeout) out.request_timeout = o.requestTimeout;
  if (o.retryInterval) out.retry_interval = o.retryInterval;
  if (Object.keys(o.branchHeaders).length) out.branch_headers = o.branchHeaders;
  out.concurrent = o.concurrent;
  if (o.retryLimit) out.retry_limit = o.retryLimit;
  if (o.retryCount) out.retry_count = o.retryCount;
  return JSON.stringify(out);
}

export function decodeOptions(text: string): TransOptions {
  const o = defaultOptions();
  if (!text) return o;
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return o;
  }
  const int = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? Math.trunc(x) : 0);
  o.waitResult = v.wait_result === true;
  o.timeoutToFail = int(v.timeout_to_fail);
  o.requestTimeout = int(v.request_timeout);
  o.retryInterval = int(v.retry_interval);
  if (v.branch_headers && typeof v.branch_headers === 'object') {
    o.branchHeaders = Object.fromEntries(Object.entries(v.branch_headers as Record<string, unknown>).map(([k, x]) => [k, String(x)]));
  }
  o.concurrent = v.concurrent === true;
  o.retryLimit = int(v.retry_limit);
  o.retryCount = int(v.retry_count);
  return o;
}

/** Legacy `ext_data` ({"headers": {...}}) written by dtm before 2022: its headers are still sent. */
export function decodeExtHeaders(extData: string): Record<string, string> {
  if (!extData) return {};
  try {
    const v = JSON.parse(extData) as { headers?: Record<string, unknown> };
    if (!v.headers || typeof v.headers !== 'object') return {};
    return Object.fromEntries(Object.entries(v.headers).map(([k, x]) => [k, String(x)]));
  } catch {
    return {};
  }
}
