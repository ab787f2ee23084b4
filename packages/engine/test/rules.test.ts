// dtm's rules that are pure functions: retry timing, timeouts, options encoding. (Answer
// classification and branch URLs belong to the transports: packages/coordinator/test.)
import { describe, expect, it } from 'vitest';
import { baseInterval, decodeOptions, defaultOptions, encodeOptions, isTimedOut, retryCountOf, touch } from '@dtx/engine';

describe('retry timing', () => {
  const server = { retryInterval: 10, timeoutToFail: 35 };
  it('base interval: option, else a smaller timeout_to_fail, else the server value', () => {
    expect(baseInterval({ ...defaultOptions(), retryInterval: 3 }, server)).toBe(3);
    expect(baseInterval({ ...defaultOptions(), timeoutToFail: 4 }, server)).toBe(4);
    expect(baseInterval({ ...defaultOptions(), timeoutToFail: 60 }, server)).toBe(10);
    expect(baseInterval(defaultOptions(), server)).toBe(10);
  });

  it('backs off by doubling without a cap, keeps on ONGOING, resets on success', () => {
    const now = new Date(0);
    let s = { interval: 10, nextCronTime: now, lastTouched: now, touched: false };
    for (const expected of [20, 40, 80, 160, 320, 640, 1280]) {
      s = touch(s, 'backoff', 10, now);
      expect(s.interval).toBe(expected);
      expect(s.nextCronTime.getTime()).toBe(expected * 1000);
    }
    expect(touch(s, 'keep', 10, now).interval).toBe(1280);
    expect(touch(s, 'reset', 10, now).interval).toBe(10);
    expect(touch(s, 'keep', 10, now, 7).nextCronTime.getTime()).toBe(7000);
    expect(retryCountOf(80, 10)).toBe(3);
    expect(retryCountOf(10, 10)).toBe(0);
  });

  it('timeouts: tcc/xa/msg default to the server value, saga only when set, workflow never', () => {
    const created = new Date(0);
    const at = (s: number) => new Date(s * 1000);
    const o = defaultOptions();
    expect(isTimedOut('tcc', o, server, created, at(35))).toBe(true);
    expect(isTimedOut('tcc', o, server, created, at(34))).toBe(false);
    expect(isTimedOut('msg', o, server, created, at(35))).toBe(true);
    expect(isTimedOut('saga', o, server, created, at(100000))).toBe(false);
    expect(isTimedOut('saga', { ...o, timeoutToFail: 5 }, server, created, at(5))).toBe(true);
    expect(isTimedOut('workflow', { ...o, timeoutToFail: 5 }, server, created, at(500))).toBe(false);
  });
});

describe('options column', () => {
  it('is written like dtm (Go field order, zero values omitted except concurrent)', () => {
    const o = { ...defaultOptions(), waitResult: true, timeoutToFail: 60, retryInterval: 15, branchHeaders: { 'x-tenant': '7' }, retryLimit: 3 };
    expect(encodeOptions(o)).toBe(
      '{"wait_result":true,"timeout_to_fail":60,"retry_interval":15,"branch_headers":{"x-tenant":"7"},"concurrent":false,"retry_limit":3}',
    );
    expect(encodeOptions(defaultOptions())).toBe('{"concurrent":false}');
    expect(decodeOptions(encodeOptions(o))).toEqual(o);
    expect(decodeOptions('')).toEqual(defaultOptions());
  });
});
