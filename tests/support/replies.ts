// The JSON shapes of the coordinator's HTTP and JSON-RPC replies, as the tests read them
// (docs/protocol/http-api.md §2, §4, §5; rendered by packages/coordinator/src/http/render.ts).
// Omit-empty fields are optional: dtm leaves them out when empty or zero.

/** What the tests hold of any reply: its status, its text, and the text parsed as JSON (null when it is not JSON). */
export interface JsonReply {
  status: number;
  body: unknown;
  text: string;
}

/**
 * A reply's body read as the shape `T`. A cast, not a check, and the only one of its kind in the
 * tests: replies are the server's JSON, the assertions are what check them, and `T` only names the
 * fields a test reads (a missing field reads as undefined and fails the assertion on it).
 */
export function json<T>(r: { body: unknown }): T {
  return r.body as T;
}

/** A void success, an error, or newGid: `{"dtm_result": …, "message": …}` (§2, §4.2). */
export interface DtmAnswer {
  dtm_result?: string;
  message?: string;
  gid?: string;
  /** An admission refusal's reason (503). */
  reason?: string;
}

/** A global record (§5.1). */
export interface DtmGlobal {
  id: number;
  create_time: string | null;
  update_time: string | null;
  gid?: string;
  trans_type?: string;
  status?: string;
  query_prepared?: string;
  protocol?: string;
  finish_time?: string;
  rollback_time?: string;
  result?: string;
  rollback_reason?: string;
  options?: string;
  custom_data?: string;
  next_cron_interval?: number;
  next_cron_time?: string;
  owner?: string;
  ext_data?: string;
  concurrent: boolean;
}

/** A branch record (§5.2); `bin_data` is base64. */
export interface DtmBranch {
  id: number;
  create_time: string | null;
  update_time: string | null;
  gid?: string;
  url?: string;
  bin_data?: string;
  branch_id?: string;
  op?: string;
  status?: string;
  finish_time?: string;
  rollback_time?: string;
}

/** GET query (§4.9): `transaction` is null for an unknown gid. */
export interface DtmQuery {
  transaction: DtmGlobal | null;
  branches: DtmBranch[];
}

/** A query reply whose transaction exists. */
export interface DtmFound {
  transaction: DtmGlobal;
  branches: DtmBranch[];
}

/** GET all (§4.10): `transactions` is null when the `gid` asked for does not exist. */
export interface DtmAll {
  transactions: DtmGlobal[] | null;
  next_position: string;
}

/** GET resetCronTime (§4.11). */
export interface DtmResetCron {
  succeed_count: number;
  has_remaining: boolean;
}

/** A KV entry (§4.14); a topic's `v` is its JSON list of subscribers. */
export interface DtmKv {
  id: number;
  create_time: string | null;
  update_time: string | null;
  cat: string;
  k: string;
  v: string;
  version: number;
}

/** GET queryKV and scanKV (§4.14). */
export interface DtmKvPage {
  kv: DtmKv[];
  next_position?: string;
}

/** POST prepareWorkflow (§4.8). */
export interface DtmProgresses {
  transaction: DtmGlobal;
  progresses: { status: string; bin_data: string; branch_id: string; op: string }[];
}

/** GET version (§4.1). */
export interface DtmVersion {
  version: string;
}

/** A JSON-RPC reply (§7): `error` is null on success. */
export interface JsonRpcReply {
  jsonrpc?: string;
  id?: string | null;
  result?: ({ gid?: string } & Record<string, unknown>) | null;
  error?: { code: number; message: string } | null;
}
