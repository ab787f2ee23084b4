// dtm's rules that are pure functions: answer classification, retry timing, options encoding,
// branch URLs.
import { describe, expect, it } from 'vitest';
import {
  baseInterval,
  branchUrl,
  classifyGrpc,
  classifyHttp,
  decodeOptions,
  defaultOptions,
  encodeOptions,
  goQueryEscape,
  isTimedOut,
  retryCountOf,
  touch,
} from '@dtx/engine';

describe('branch answer classification (HTTP)', () => {
  it.each([
    [200, '{"dtm_result":"SUCCESS"}', 'success'],
    [200, '', 'success'],
    [409, '', 'failure'],
    [200, '{"dtm_result":"FAILURE"}', 'failure'],
    [500, 'FAILURE', 'failure'],
    [425, '', 'ongoing'],
    [200, '{"dtm_result":"ONGOING"}', 'ongoing'],
    [409, 'ONGOING', 'ongoing'],
    [201, '', 'error'],
    [204, '', 'error'],
    [500, 'boom', 'error'],
    [404, 'not found', 'error'],
  ])('%i %j is %s', (status, body, outcome) => {
    expect(classifyHttp(status, body).outcome).toBe(outcome);
  });

  it('appends FAILURE to the trimmed body once', () => {
    expect(classifyHttp(409, '  no money \n').message).toBe('no money FAILURE');
    expect(classifyHttp(409, 'it is a FAILURE').message).toBe('it is a FAILURE');
  });
});

describe('branch answer classification (gRPC)', () => {
  it.each([
    [0, '', 'success'],
    [10, 'FAILURE', 'failure'],
    [10, 'insufficient stock', 'failure'],
    [10, 'ONGOING', 'ongoing'],
    [9, '', 'ongoing'],
    [13, 'internal', 'error'],
    [14, 'unavailable', 'error'],
    [2, 'unknown', 'error'],
  ])('code %i %j is %s', (code, details, outcome) => {
    expect(classifyGrpc(code, details).outcome).toBe(outcome);
  });
});

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

describe('branch URLs', () => {
  const call = { gid: 'g 1+x', transType: 'saga', branchId: '01', op: 'action', payload: Buffer.alloc(0), protocol: 'http', headers: {}, timeoutMs: 1000 };
  it('appends gid, trans_type, branch_id and op sorted by key, Go-escaped', () => {
    expect(branchUrl({ ...call, url: 'http://svc/api/TransOut' })).toBe(
      'http://svc/api/TransOut?branch_id=01&gid=g+1%2Bx&op=action&trans_type=saga',
    );
    expect(branchUrl({ ...call, url: 'http://svc/api/TransOut?x=1' })).toBe(
      'http://svc/api/TransOut?x=1&branch_id=01&gid=g+1%2Bx&op=action&trans_type=saga',
    );
    expect(goQueryEscape("a!b'c(d)e*f~g")).toBe('a%21b%27c%28d%29e%2Af~g');
  });
});
