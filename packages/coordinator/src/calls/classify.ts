// How dtm reads a branch's answer (docs/protocol/branch-calls.md §4, docs/protocol/grpc-api.md §6.4). Pure functions.
import { withSuffix } from '@dtx/engine';
import type { Outcome } from '@dtx/engine';

export interface Classified {
  outcome: Outcome;
  message: string;
}

/**
 * HTTP: ONGOING if status 425 or the body contains "ONGOING"; else FAILURE if status 409 or the
 * body contains "FAILURE"; else an error unless the status is exactly 200.
 */
export function classifyHttp(status: number, body: string): Classified {
  const text = body.trim();
  if (status === 425 || text.includes('ONGOING')) return { outcome: 'ongoing', message: withSuffix(text, 'ONGOING') };
  if (status === 409 || text.includes('FAILURE')) return { outcome: 'failure', message: withSuffix(text, 'FAILURE') };
  if (status !== 200) return { outcome: 'error', message: text || `HTTP status ${status}` };
  return { outcome: 'success', message: '' };
}

/** gRPC status codes used in classification. */
export const GrpcCode = {
  OK: 0,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  FailedPrecondition: 9,
  Aborted: 10,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
} as const;

/** OK = success; Aborted = failure unless the message is exactly ONGOING; FailedPrecondition = ongoing. */
export function classifyGrpc(code: number, details: string): Classified {
  if (code === GrpcCode.OK) return { outcome: 'success', message: '' };
  if (code === GrpcCode.Aborted && details === 'ONGOING') return { outcome: 'ongoing', message: 'ONGOING' };
  if (code === GrpcCode.Aborted) return { outcome: 'failure', message: withSuffix(details, 'FAILURE') };
  if (code === GrpcCode.FailedPrecondition) return { outcome: 'ongoing', message: withSuffix(details, 'ONGOING') };
  return { outcome: 'error', message: `rpc error: code = ${grpcCodeName(code)} desc = ${details}` };
}

const GRPC_CODE_NAMES = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
];

export function grpcCodeName(code: number): string {
  return GRPC_CODE_NAMES[code] ?? `Code(${code})`;
}
