// Vocabulary shared by the engine and its callers: ops, options and the shape of a transaction
// request once a transport has decoded it (HTTP JSON body, gRPC DtmRequest, ...).

// Statuses and their legal moves: status.ts. Transaction types: types/registry.ts.

export const Op = {
  Action: 'action',
  Compensate: 'compensate',
  Try: 'try',
  Confirm: 'confirm',
  Cancel: 'cancel',
  Commit: 'commit',
  Rollback: 'rollback',
  Msg: 'msg',
} as const;

export type Protocol = 'http' | 'grpc' | 'json-rpc';

/** Per-transaction options (dtm's TransOptions). Durations are seconds. */
export interface TransOptions {
  waitResult: boolean;
  timeoutToFail: number;
  requestTimeout: number;
  retryInterval: number;
  branchHeaders: Record<string, string>;
  concurrent: boolean;
  retryLimit: number;
  retryCount: number;
}

export const defaultOptions = (): TransOptions => ({
  waitResult: false,
  timeoutToFail: 0,
  requestTimeout: 0,
  retryInterval: 0,
  branchHeaders: {},
  concurrent: false,
  retryLimit: 0,
  retryCount: 0,
});

/** A global-transaction request (prepare, submit, abort, prepareWorkflow) after decoding. */
export interface TransRequest {
  gid: string;
  transType: string;
  /** saga: {action, compensate}; msg: {action} */
  steps: Record<string, string>[];
  /** One payload per step. */
  payloads: Buffer[];
  customData: string;
  queryPrepared: string;
  protocol: string;
  rollbackReason: string;
  options: TransOptions;
  /** workflow submit: status, rollback_reason, result */
  reqExtra: Record<string, string>;
  /**
   * Request headers named by `passthrough_headers` (HTTP), stored in ext_data and sent to every
   * branch, as dtm did before v1.16.
   */
  extHeaders: Record<string, string>;
}

/** A registerBranch request after decoding. */
export interface BranchRegistration {
  gid: string;
  transType: string;
  branchId: string;
  /** tcc: confirm, cancel; xa: url; workflow: op, status, sync */
  data: Record<string, string>;
  /** Stored as the branch operations' bin_data. */
  payload: Buffer;
}
