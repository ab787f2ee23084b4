// Names of branch endpoints, as the dashboard's Stuck reasons, its "Failing endpoints" table and
// the dtx_branch_calls_total metric show them (docs/operations.md, "Finding the failing
// downstream"): host and path of an HTTP URL, host and service/method of a gRPC target. Query
// strings, fragments and credentials are dropped, so one endpoint is one name however its calls
// are parameterised.
import type { CallResult } from './calls/types.ts';

/** Longest endpoint name kept (the stored column is varchar(255)). */
export const ENDPOINT_MAX = 255;

export function endpointOf(url: string): string {
  let s = url.trim();
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(s);
  if (scheme) s = s.slice(scheme[0].length);
  s = s.replace(/[?#].*$/s, '');
  // user:password@host
  const slash = s.indexOf('/');
  const authority = slash < 0 ? s : s.slice(0, slash);
  const at = authority.lastIndexOf('@');
  if (at >= 0) s = s.slice(at + 1);
  return s.length > ENDPOINT_MAX ? s.slice(0, ENDPOINT_MAX) : s;
}

const GRPC_CODES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** What a call answered, in a few words: "500", "gRPC UNAVAILABLE", "no answer: connect ECONNREFUSED". */
export function answerOf(r: Pick<CallResult, 'httpStatus' | 'grpcCode' | 'message' | 'outcome'>): string {
  if (r.outcome === 'ongoing') return 'ongoing';
  if (r.httpStatus !== undefined) return r.outcome === 'failure' ? `${r.httpStatus} FAILURE` : String(r.httpStatus);
  if (r.grpcCode !== undefined) return `gRPC ${GRPC_CODES[r.grpcCode] ?? r.grpcCode}`;
  const m = r.message.replace(/\s+/g, ' ').trim();
  return `no answer: ${m.length > 200 ? `${m.slice(0, 200)}…` : m}`;
}
