// dtm's JSON-RPC 2.0 endpoint on the HTTP port (docs/protocol/http-api.md §7): newGid, prepare, submit, abort,
// registerBranch. Replies are always HTTP 200 except for envelopes that cannot be parsed.
import { errorKind, type Engine, type StoreWait } from '@dtx/engine';
import { clientWaits } from '../admission.ts';
import { decodeRegistration, decodeTransRequest } from './decode.ts';

/** A transaction request in `params`; its client waits request_timeout (admission.ts). */
function trans(params: unknown, wait: StoreWait | undefined) {
  const t = decodeTransRequest(params, { escape: false });
  clientWaits(wait, t.options.requestTimeout);
  return t;
}

interface Reply {
  status: number;
  body: { jsonrpc: '2.0'; id: unknown; error: { code: number; message: string } | null; result: unknown };
}

const error = (id: unknown, code: number, message: string, status = 200): Reply => ({
  status,
  body: { jsonrpc: '2.0', id, error: { code, message }, result: null },
});

/** `wait`: the request's StoreWait (admission.ts). */
export async function handleJsonRpc(engine: Engine, raw: Buffer | undefined, wait?: StoreWait): Promise<Reply> {
  let env: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(raw?.toString('utf8') ?? '');
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the request is not a JSON object');
    env = parsed as Record<string, unknown>;
    if (env.id !== undefined && env.id !== null && typeof env.id !== 'string') {
      throw new Error('json: cannot unmarshal number into Go struct field .id of type string');
    }
  } catch (err) {
    return error(null, -32700, `Parse json error: ${(err as Error).message}`, 400);
  }
  const id = env.id ?? '';
  if (!id || env.jsonrpc !== '2.0') return error(id, -32600, `Bad json request: ${JSON.stringify(env)}`);
  // A method that is not a string names no method: its JSON text goes into -32601's message.
  const method = typeof env.method === 'string' ? env.method : env.method === undefined || env.method === null ? '' : JSON.stringify(env.method);
  const params = env.params;
  try {
    let result: unknown = null;
    switch (method) {
      case 'newGid':
        result = { gid: engine.newGid() };
        break;
      case 'prepare':
        await engine.prepare(trans(params, wait), wait);
        break;
      case 'submit':
        await engine.submit(trans(params, wait), wait);
        break;
      case 'abort':
        await engine.abort(trans(params, wait), wait);
        break;
      case 'registerBranch':
        await engine.registerBranch(decodeRegistration(params, { escape: false }), wait);
        break;
      default:
        return error(id, -32601, `Method not found: ${method}`);
    }
    return { status: 200, body: { jsonrpc: '2.0', id, error: null, result } };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // The database was unreachable and nothing ran: retryable, like an admission refusal.
    if (errorKind(err) === 'unavailable') return error(id, -32000, message, 503);
    return error(id, errorKind(err) === 'failure' ? -32901 : -32603, message);
  }
}

/**
 * Admission refused the envelope before reading it (admission.ts): HTTP 503 with a JSON-RPC
 * error, id null as JSON-RPC 2.0 prescribes when the id is unknown, in the spec's range of
 * server errors, away from dtm's -32901/-32902 (FAILURE/ONGOING); dtmcli turns any non-200 or
 * error reply into a plain error carrying this body (docs/compatibility.md, "Overload").
 */
export function overloadedJsonRpc(message: string): Reply {
  return error(null, -32000, message, 503);
}
