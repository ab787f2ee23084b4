// Turns dtm's gRPC request messages into the engine's request shapes (docs/protocol/grpc-api.md §3). The HTTP
// decoder does the field checks: a DtmRequest is rewritten into the JSON body it is equivalent
// to, then protocol is forced to grpc, Steps comes from its JSON text and BinPayloads are the
// payloads. Gids are not escaped over gRPC.
import { badRequest, type BranchRegistration, type TransRequest } from '@dtx/engine';
import { decodeTransRequest } from '../http/decode.ts';

/** DtmTransOptions as proto-loader decodes it (keepCase, longs as numbers, defaults on). */
export interface DtmTransOptionsMsg {
  WaitResult: boolean;
  TimeoutToFail: number;
  RetryInterval: number;
  BranchHeaders: Record<string, string>;
  RequestTimeout: number;
  RetryLimit: number;
}

export interface DtmRequestMsg {
  Gid: string;
  TransType: string;
  TransOptions: DtmTransOptionsMsg | null;
  CustomedData: string;
  BinPayloads: Buffer[];
  QueryPrepared: string;
  Steps: string;
  ReqExtra: Record<string, string>;
  RollbackReason: string;
}

export interface DtmBranchRequestMsg {
  Gid: string;
  TransType: string;
  BranchID: string;
  Op: string;
  Data: Record<string, string>;
  BusiPayload: Buffer;
}

function parseSteps(text: string): unknown {
  // The Go SDK sends "null" for no steps; an empty string means the same.
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(`Steps is not valid JSON: ${(err as Error).message}`);
  }
}

export function transRequestFromGrpc(m: DtmRequestMsg): TransRequest {
  const o = m.TransOptions;
  const req = decodeTransRequest(
    {
      gid: m.Gid,
      trans_type: m.TransType,
      steps: parseSteps(m.Steps ?? ''),
      custom_data: m.CustomedData,
      query_prepared: m.QueryPrepared,
      protocol: 'grpc',
      rollback_reason: m.RollbackReason,
      req_extra: m.ReqExtra,
      wait_result: o?.WaitResult ?? false,
      timeout_to_fail: Number(o?.TimeoutToFail ?? 0),
      retry_interval: Number(o?.RetryInterval ?? 0),
      request_timeout: Number(o?.RequestTimeout ?? 0),
      retry_limit: Number(o?.RetryLimit ?? 0),
      branch_headers: o?.BranchHeaders ?? {},
    },
    { escape: false },
  );
  req.payloads = (m.BinPayloads ?? []).map((p) => Buffer.from(p));
  return req;
}

export function registrationFromGrpc(m: DtmBranchRequestMsg): BranchRegistration {
  return {
    gid: m.Gid,
    transType: m.TransType,
    branchId: m.BranchID,
    // Op is ignored by dtm too: a workflow branch's op travels in Data.op.
    data: { ...m.Data },
    payload: Buffer.from(m.BusiPayload ?? Buffer.alloc(0)),
  };
}
