// The dashboard's filter vocabulary is a copy (the browser cannot import the engine); it must
// name exactly the statuses and transaction types the engine knows.
import { describe, expect, it } from 'vitest';
import { GLOBAL_STATUSES, isStorable, TRANS_TYPES as ENGINE_TYPES, UNFINISHED as ENGINE_UNFINISHED } from '@dtx/engine';
import { STATUSES, STORABLE, TRANS_TYPES, UNFINISHED } from '../src/filters.ts';

describe("the dashboard's filter vocabulary", () => {
  it('lists the engine statuses, unfinished ones included', () => {
    expect([...STATUSES].sort()).toEqual([...GLOBAL_STATUSES].sort());
    expect([...UNFINISHED].sort()).toEqual([...ENGINE_UNFINISHED].sort());
  });

  it('lists the transaction types of the engine registry', () => {
    expect([...TRANS_TYPES].sort()).toEqual([...ENGINE_TYPES].sort());
  });

  it('holds the same text storable as the engine', () => {
    const samples = ['', 'gid-1', 'a\u0000b', '\u0000', 'x\ud800', '\udc00x', '\ud83d\ude00', 'é中', '\ud800\ud800\udc00', '\udbff\udfff'];
    for (const s of samples) expect([s, STORABLE.test(s)]).toEqual([s, isStorable(s)]);
  });
});
