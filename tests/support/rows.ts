// A global transaction row to insert through the store port in storage-level tests: a submitted
// saga over HTTP with no options, due at `nextCronTime`, unless `extra` says otherwise; and an attempt-log row.
import type { NewAttempt, NewGlobal } from '@dtx/db';

export function globalRow(gid: string, nextCronTime: Date, extra: Partial<NewGlobal> = {}): NewGlobal {
  return {
    gid,
    transType: 'saga',
    status: 'submitted',
    queryPrepared: '',
    protocol: 'http',
    options: '{}',
    customData: '',
    extData: '',
    rollbackReason: '',
    nextCronInterval: 10,
    nextCronTime,
    owner: '',
    leaseMs: 0,
    ...extra,
  };
}

/**
 * A branch call for the attempt log (storage-level tests): `gid`'s branch 01 action called at
 * `startedAt`, 3 ms, answered 200 on success and 500 with `error` otherwise, unless `extra` says
 * otherwise.
 */
export function attemptRow(gid: string, url: string, outcome: string, startedAt: Date, extra: Partial<NewAttempt> = {}): NewAttempt {
  return {
    gid,
    branchId: '01',
    op: 'action',
    url,
    protocol: 'http',
    startedAt,
    durationMs: 3,
    httpStatus: outcome === 'success' ? 200 : 500,
    grpcCode: null,
    outcome,
    response: '',
    error: outcome === 'success' ? '' : 'down',
    owner: 'x',
    ...extra,
  };
}
