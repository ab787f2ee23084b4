// What a branch call is and what came back, independent of the transport that carried it.

export type Outcome = 'success' | 'failure' | 'ongoing' | 'error';

export interface BranchCall {
  gid: string;
  transType: string;
  branchId: string;
  op: string;
  url: string;
  /** Body bytes (HTTP) or serialized request message (gRPC); empty for none. */
  payload: Buffer;
  /** The transaction's protocol: http, grpc or json-rpc. */
  protocol: string;
  /** HTTP: POST the payload (else GET): when there is one, and always for some types (xa). */
  post: boolean;
  /** Legacy ext_data headers first, then branch_headers (later entries win). */
  headers: Record<string, string>;
  timeoutMs: number;
}

export interface CallResult {
  outcome: Outcome;
  /**
   * Error text as dtm reports it: the trimmed response body (FAILURE answers get " FAILURE"
   * appended), a gRPC status message, or the transport error.
   */
  message: string;
  /** Transport actually used for the call ('none' when the URL was empty). */
  transport: 'http' | 'json-rpc' | 'grpc' | 'none';
  httpStatus?: number;
  grpcCode?: number;
  /** Start of the call and its duration, for the attempt log. */
  startedAt: Date;
  durationMs: number;
  /** Response body or status message, truncated, for the attempt log. */
  response: string;
}

/** Calls a branch over one transport and classifies the answer. Never throws. */
export interface BranchTransport {
  call(call: BranchCall): Promise<CallResult>;
  close?(): Promise<void>;
}
