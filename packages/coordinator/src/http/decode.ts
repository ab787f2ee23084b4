// Decodes dtm request bodies the way dtm's Go server does (encoding/json into its structs): keys
// match case-insensitively (an exact-case key wins), unknown keys are ignored, null leaves a field
// empty. Where Go would fail to decode (wrong JSON types, fractions for integers, invalid JSON) we
// answer 400 with a message naming the field instead of dtm's 500.
import { badRequest, checkRequestText, defaultOptions, type BranchRegistration, type TransRequest } from '@dtx/engine';

export function parseJsonBody(body: Buffer | string | undefined): unknown {
  const text = body === undefined ? '' : typeof body === 'string' ? body : body.toString('utf8');
  if (text.trim() === '') throw badRequest('request body is empty: a JSON object is expected');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(`request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** Go's case-insensitive field lookup: exact key first, else any key equal ignoring case. */
function fields(obj: Record<string, unknown>): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(obj)) if (!out.has(k.toLowerCase())) out.set(k.toLowerCase(), v);
  for (const [k, v] of Object.entries(obj)) if (k === k.toLowerCase()) out.set(k, v);
  return out;
}

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'object' : typeof v;
}

function str(f: Map<string, unknown>, key: string): string {
  const v = f.get(key);
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw badRequest(`field '${key}' must be a string, got ${jsonType(v)}`);
  return v;
}

function int(f: Map<string, unknown>, key: string): number {
  const v = f.get(key);
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw badRequest(`field '${key}' must be an integer`);
  return v;
}

function bool(f: Map<string, unknown>, key: string): boolean {
  const v = f.get(key);
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw badRequest(`field '${key}' must be a boolean, got ${jsonType(v)}`);
  return v;
}

function stringMap(v: unknown, what: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw badRequest(`${what} must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (x !== null && typeof x !== 'string') throw badRequest(`${what}.${k} must be a string, got ${jsonType(x)}`);
    out[k] = x ?? '';
  }
  return out;
}

function stringArray(v: unknown, what: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw badRequest(`${what} must be an array of strings`);
  return (v as unknown[]).map((x, i) => {
    if (x !== null && typeof x !== 'string') throw badRequest(`${what}[${i}] must be a string, got ${jsonType(x)}`);
    return x ?? '';
  });
}

/** dtm's Escape: HTTP gids lose every \n, \r and ; (a quirk kept for compatibility). */
export function escapeGid(gid: string): string {
  return gid.replace(/[\n\r;]/g, '');
}

/** A TransGlobal JSON body (prepare, submit, abort, prepareWorkflow, forceStop, resetNextCronTime). */
export interface DecodeOptions {
  escape: boolean;
  defaultProtocol?: string;
  /** Reads a request header (HTTP): the headers named by passthrough_headers are kept. */
  header?: (name: string) => string | undefined;
}

export function decodeTransRequest(json: unknown, opts: DecodeOptions = { escape: true }): TransRequest {
  if (json === null) json = {};
  if (typeof json !== 'object' || Array.isArray(json)) {
    throw badRequest(`request body must be a JSON object, got ${jsonType(json)}`);
  }
  const f = fields(json as Record<string, unknown>);
  const rawSteps = f.get('steps');
  let steps: Record<string, string>[] = [];
  if (rawSteps !== undefined && rawSteps !== null) {
    if (!Array.isArray(rawSteps)) throw badRequest('steps must be an array of objects');
    steps = rawSteps.map((s, i) => stringMap(s, `steps[${i}]`));
  }
  // Legacy clients carry payloads in steps[i].data; dtm appends those after `payloads`.
  const payloads = stringArray(f.get('payloads'), 'payloads');
  for (const s of steps) if (s.data) payloads.push(s.data);
  const options = defaultOptions();
  options.waitResult = bool(f, 'wait_result');
  options.timeoutToFail = int(f, 'timeout_to_fail');
  options.requestTimeout = int(f, 'request_timeout');
  options.retryInterval = int(f, 'retry_interval');
  options.branchHeaders = stringMap(f.get('branch_headers'), 'branch_headers');
  options.concurrent = bool(f, 'concurrent');
  options.retryLimit = int(f, 'retry_limit');
  options.retryCount = int(f, 'retry_count');
  const gid = str(f, 'gid');
  const extHeaders: Record<string, string> = {};
  for (const name of stringArray(f.get('passthrough_headers'), 'passthrough_headers')) {
    const v = opts.header?.(name);
    if (v) extHeaders[name] = v;
  }
  const req: TransRequest = {
    gid: opts.escape ? escapeGid(gid) : gid,
    transType: str(f, 'trans_type'),
    steps,
    payloads: payloads.map((p) => Buffer.from(p, 'utf8')),
    customData: str(f, 'custom_data'),
    queryPrepared: str(f, 'query_prepared'),
    protocol: str(f, 'protocol') || (opts.defaultProtocol ?? 'http'),
    rollbackReason: str(f, 'rollback_reason'),
    options,
    reqExtra: stringMap(f.get('req_extra'), 'req_extra'),
    extHeaders,
  };
  // Every operation's strings, abort's rollback_reason and workflow submit's req_extra included.
  checkRequestText(req);
  return req;
}

/**
 * registerBranch body: a flat object of strings. dtm decodes it strictly (gin's binder) and
 * answers 400 for any non-string value; so do we.
 */
export function decodeRegistration(json: unknown, opts: { escape: boolean } = { escape: true }): BranchRegistration {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw badRequest(`json: cannot unmarshal ${jsonType(json)} into Go value of type map[string]string`);
  }
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(json as Record<string, unknown>)) {
    if (v !== null && typeof v !== 'string') {
      throw badRequest(`json: cannot unmarshal ${jsonType(v)} into Go value of type string (key '${k}')`);
    }
    data[k] = v ?? '';
  }
  const gid = data.gid ?? '';
  return {
    gid: opts.escape ? escapeGid(gid) : gid,
    transType: data.trans_type ?? '',
    branchId: data.branch_id ?? '',
    data,
    payload: Buffer.from(data.data ?? '', 'utf8'),
  };
}
