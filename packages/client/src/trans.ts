// What every global transaction sends to the coordinator: the TransGlobal body of prepare /
// submit / abort (docs/protocol/http-api.md §3), built with the keys the Go SDK uses.
import type { HttpTransport } from './http.js';

/** Options every transaction type accepts (docs/protocol/http-api.md §3.1). Times in seconds. */
export interface TransOptions {
  /** Block `submit` until the first processing pass ends; its outcome becomes the call's outcome. */
  waitResult?: boolean;
  /** Fail (saga: roll back; tcc/xa: cancel) when not finished after this many seconds. */
  timeoutToFail?: number;
  /** Timeout of each branch call made by the coordinator. */
  requestTimeout?: number;
  /** Base retry interval of the coordinator for this transaction. */
  retryInterval?: number;
  /** Extra HTTP headers (gRPC metadata) the coordinator sends on every branch call. */
  branchHeaders?: Record<string, string>;
  /**
   * The raw `custom_data` text. Saga and msg compute it themselves (concurrency, orders, delay);
   * a value given here is sent as is when they have nothing of their own to send.
   */
  customData?: string;
}

export { encodePayload, decodeReply, payloadText, payloadBytes, type Payload, type Encoder, type Decoder, type EncodedPayload } from './payload.js';

export type TransType = 'saga' | 'msg' | 'tcc' | 'xa' | 'workflow';

/** The JSON body of prepare/submit/abort. Zero values are omitted, as the Go SDK does. */
export function transBody(gid: string, transType: TransType, o: TransOptions, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const body: Record<string, unknown> = { gid, trans_type: transType };
  if (o.customData) body.custom_data = o.customData;
  if (o.waitResult) body.wait_result = true;
  if (o.timeoutToFail) body.timeout_to_fail = checkedSeconds('timeoutToFail', o.timeoutToFail);
  if (o.requestTimeout) body.request_timeout = checkedSeconds('requestTimeout', o.requestTimeout);
  if (o.retryInterval) body.retry_interval = checkedSeconds('retryInterval', o.retryInterval);
  if (o.branchHeaders && Object.keys(o.branchHeaders).length > 0) body.branch_headers = o.branchHeaders;
  body.protocol = 'http';
  return { ...body, ...extra };
}

export function checkedSeconds(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0) throw new TypeError(`${name} must be a whole number of seconds >= 0, got ${v}`);
  return v;
}

export function checkedGid(gid: string): string {
  if (typeof gid !== 'string' || gid === '') throw new TypeError('gid must be a non-empty string');
  return gid;
}

/** A global transaction as /query returns it (docs/protocol/http-api.md §4.9); other fields pass through. */
export interface TransRecord {
  gid: string;
  trans_type: string;
  status: string;
  rollback_reason?: string;
  [key: string]: unknown;
}

/** A branch as /query returns it. */
export interface BranchRecord {
  gid: string;
  branch_id: string;
  op: string;
  status: string;
  url: string;
  [key: string]: unknown;
}

export interface QueryResult {
  transaction: TransRecord | null;
  branches: BranchRecord[];
}

/**
 * The frame of TCC and XA: prepare, run `fn`, submit; if `fn` throws, abort with its message as
 * the rollback reason and rethrow. As the Go SDK, the abort's own outcome does not replace the
 * business error (a lost abort is finished by the coordinator's timeout).
 */
export async function preparedGlobal<T>(
  transport: HttpTransport,
  body: (extra?: Record<string, unknown>) => Record<string, unknown>,
  fn: () => Promise<T>,
): Promise<T> {
  await transport.api('POST', 'prepare', body());
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    await transport.api('POST', 'abort', body({ rollback_reason: reason })).catch(() => undefined);
    throw e;
  }
  await transport.api('POST', 'submit', body());
  return result;
}
