// A global transaction row to insert through the store port in storage-level tests: a submitted
// saga over HTTP with no options, due at `nextCronTime`, unless `extra` says otherwise.
import type { NewGlobal } from '@dtx/db';

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
