// The chaos checker's rules on hand-made call logs: each rule must catch its violation, and a
// clean saga must pass (otherwise a green chaos run would prove nothing).
import { describe, expect, it } from 'vitest';
import type { CallRecord } from '../src/branch-service.ts';
import { analyse, judge, type Final } from '../src/checker.ts';
import type { Ack } from '../src/submitter.ts';

let t = 1000;
function call(route: string, status = 200, gid = 'g', dur = 5): CallRecord {
  const op = route.endsWith('Com') ? 'compensate' : 'action';
  const branch_id = route.startsWith('TransOut') ? '01' : '02';
  const start = (t += 10);
  return { gid, branch_id, op, route, start, end: start + dur, status, aborted: false };
}

describe('judge', () => {
  it('accepts the legal outcomes', () => {
    expect(judge('succeed', false, [call('TransOut'), call('TransIn')])).toEqual([]);
    expect(judge('failed', true, [call('TransOut'), call('TransIn', 409), call('TransInCom'), call('TransOutCom')])).toEqual([]);
    // A retried action (503, then 200) is still legal.
    expect(judge('succeed', false, [call('TransOut', 503), call('TransOut'), call('TransIn')])).toEqual([]);
  });

  it('rejects a success without every action answered, or with a compensation', () => {
    expect(judge('succeed', false, [call('TransOut')]).join()).toMatch(/action 02 was never answered/);
    expect(judge('succeed', false, [call('TransOut'), call('TransIn'), call('TransInCom')]).join()).toMatch(/compensation call/);
    expect(judge('succeed', true, [call('TransOut'), call('TransIn')]).join()).toMatch(/scripted to roll back/);
  });

  it('rejects a rollback with a compensation missing, out of order, or before its action ended', () => {
    expect(judge('failed', true, [call('TransOut'), call('TransIn', 409), call('TransInCom')]).join()).toMatch(
      /action 01 was called, but its compensation/,
    );
    expect(judge('failed', true, [call('TransOut'), call('TransIn', 409), call('TransOutCom'), call('TransInCom')]).join()).toMatch(
      /not reverse order/,
    );
    const slow = call('TransIn', 409, 'g', 100);
    expect(judge('failed', true, [call('TransOut'), slow, call('TransInCom'), call('TransOutCom')]).join()).toMatch(
      /compensation 02 started before its action/,
    );
    expect(judge('failed', false, [call('TransOut'), call('TransIn'), call('TransInCom'), call('TransOutCom')]).join()).toMatch(
      /no action was answered 409/,
    );
  });
});

describe('analyse', () => {
  const ack = (gid: string, status = 200): Ack => ({
    gid,
    rollback: false,
    target: '',
    status,
    latencyMs: 1,
    error: status === 200 ? '' : 'boom',
    at: 0,
  });
  it('counts lost sagas, overlapping calls and duplicates', () => {
    const a = call('TransOut', 200, 'a', 50);
    const a2 = call('TransOut', 200, 'a'); // starts while `a` runs, and so does TransIn: two pairs
    const finals = new Map<string, Final>([
      ['a', { gid: 'a', status: 'succeed' }],
      ['b', { gid: 'b', status: null }],
      ['c', { gid: 'c', status: 'submitted' }],
      ['d', { gid: 'd', status: null }],
    ]);
    const r = analyse([ack('a'), ack('b'), ack('c'), ack('d', 503)], [a, a2, call('TransIn', 200, 'a')], finals);
    expect(r.acknowledged).toBe(3);
    expect(r.lost.notInStore).toEqual(['b']);
    expect(r.lost.unfinished).toEqual([{ gid: 'c', status: 'submitted' }]);
    expect(r.overlapping.map((o) => o.gid)).toEqual(['a', 'a']);
    expect(r.duplicates).toEqual({ calls: 1, gids: 1, afterSuccess: 0 });
    expect(r.http5xx).toEqual({ '503 boom': 1 });
    expect(r.illegal).toEqual([]);
  });
  it('counts admission refusals apart from other 5xx answers', () => {
    const refusal = (reason: string): Ack => ({ ...ack(`r-${reason}`, 503), error: JSON.stringify({ message: 'not now', reason }) });
    const finals = new Map<string, Final>(['store_unavailable', 'inflight_submits', 'other'].map((x) => [`r-${x}`, { gid: `r-${x}`, status: null }]));
    const r = analyse([refusal('store_unavailable'), refusal('inflight_submits'), refusal('other')], [], finals);
    expect(r.refused).toEqual({ store_unavailable: 1, inflight_submits: 1 });
    expect(Object.keys(r.http5xx)).toEqual(['503 {"message":"not now","reason":"other"}']);
  });
});
