// Saga ordering rules as table tests over plain data (no I/O).
import { describe, expect, it } from 'vitest';
import { sagaPlan } from '@dtx/engine';

const { newSagaState, parseSagaCustom, pickActions, pickCompensations, prepareToCompensate } = sagaPlan;

/** Branch statuses from a compact string: per step "<compensate><action>", p/s/f. */
function statuses(spec: string): string[] {
  const map: Record<string, string> = { p: 'prepared', s: 'succeed', f: 'failed' };
  return spec
    .replace(/\s/g, '')
    .split('')
    .map((c) => {
      const status = map[c];
      if (!status) throw new Error(`unknown status letter '${c}' in '${spec}'`);
      return status;
    });
}

describe('saga plan: forward', () => {
  it.each([
    ['sequential: only the first step starts', '', 'pp pp pp', [1]],
    ['sequential: the step after the last success', '', 'ps ps pp', [5]],
    ['sequential: nothing after a failed action', '', 'ps pf pp', []],
    ['concurrent: every prepared action', '{"concurrent":true}', 'pp pp pp', [1, 3, 5]],
    ['concurrent with orders: 2 waits for 0 and 1', '{"concurrent":true,"orders":{"2":[0,1]}}', 'pp pp pp', [1, 3]],
    ['concurrent with orders: 2 starts once 0 and 1 succeeded', '{"concurrent":true,"orders":{"2":[0,1]}}', 'ps ps pp', [5]],
    ['orders are honoured without concurrent', '{"orders":{"1":[0]}}', 'pp pp', [1]],
  ])('%s', (_name, custom, spec, expected) => {
    const s = newSagaState(parseSagaCustom(custom), statuses(spec));
    expect(pickActions(s)).toEqual(expected);
  });

  it('does not pick an action twice in one pass', () => {
    const s = newSagaState(parseSagaCustom('{"concurrent":true}'), statuses('pp pp'));
    for (const pos of pickActions(s)) s.started[pos] = true;
    expect(pickActions(s)).toEqual([]);
  });
});

describe('saga plan: backward', () => {
  it('compensates the failed step first, then earlier ones, one at a time', () => {
    const s = newSagaState(parseSagaCustom(''), statuses('ps ps pf pp'));
    expect(prepareToCompensate(s)).toBe(3);
    expect(pickCompensations(s)).toEqual([4]);
    s.status[4] = 'succeed';
    expect(pickCompensations(s)).toEqual([2]);
    s.status[2] = 'succeed';
    expect(pickCompensations(s)).toEqual([0]);
  });

  it('treats an eligible but unrecorded action as run (it may have executed before a crash)', () => {
    // sequential: step 0 succeeded, step 1 is eligible and prepared; the saga is aborting (timeout)
    const s = newSagaState(parseSagaCustom(''), statuses('ps pp pp'));
    expect(prepareToCompensate(s)).toBe(2);
    expect(pickCompensations(s)).toEqual([2]);
  });

  it('never compensates a step that could not have run', () => {
    const s = newSagaState(parseSagaCustom(''), statuses('ps pf pp pp'));
    prepareToCompensate(s);
    const picked = pickCompensations(s);
    expect(picked).toEqual([2]);
    expect(picked).not.toContain(4);
    expect(picked).not.toContain(6);
  });

  it('concurrent: compensates a step only after the steps depending on it', () => {
    const s = newSagaState(parseSagaCustom('{"concurrent":true,"orders":{"2":[0,1]}}'), statuses('ps ps pf'));
    expect(prepareToCompensate(s)).toBe(3);
    expect(pickCompensations(s)).toEqual([4]);
    s.started[4] = true;
    s.status[4] = 'succeed';
    expect(pickCompensations(s)).toEqual([2, 0]);
  });

  it('counts only compensations still to do', () => {
    const s = newSagaState(parseSagaCustom(''), statuses('ps sf'));
    expect(prepareToCompensate(s)).toBe(1);
  });
});

describe('saga custom_data', () => {
  it('matches keys case-insensitively and rejects what a pass could not use', () => {
    expect(parseSagaCustom('{"Concurrent":true,"Orders":{"1":[0]}}')).toEqual({ concurrent: true, orders: new Map([[1, [0]]]) });
    expect(() => parseSagaCustom('{"orders":{"a":[0]}}')).toThrow(/not a step index/);
    expect(() => parseSagaCustom('{"orders":{"1":["x"]}}')).toThrow(/step indexes/);
    expect(() => parseSagaCustom('[1]')).toThrow(/JSON object/);
    expect(() => parseSagaCustom('{bad')).toThrow();
  });
});
