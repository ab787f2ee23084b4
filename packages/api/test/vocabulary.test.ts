// The dashboard's filter vocabulary is a copy (the browser cannot import the engine); it must
// name exactly the statuses and transaction types the engine knows.
import { describe, expect, it } from 'vitest';
import { GLOBAL_STATUSES, TRANS_TYPES as ENGINE_TYPES, UNFINISHED as ENGINE_UNFINISHED } from '@dtx/engine';
import { STATUSES, TRANS_TYPES, UNFINISHED } from '../src/filters.ts';

describe("the dashboard's filter vocabulary", () => {
  it('lists the engine statuses, unfinished ones included', () => {
    expect([...STATUSES].sort()).toEqual([...GLOBAL_STATUSES].sort());
    expect([...UNFINISHED].sort()).toEqual([...ENGINE_UNFINISHED].sort());
  });

  it('lists the transaction types of the engine registry', () => {
    expect([...TRANS_TYPES].sort()).toEqual([...ENGINE_TYPES].sort());
  });
});
