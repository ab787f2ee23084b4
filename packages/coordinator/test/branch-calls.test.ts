// dtm's branch-call rules that are pure functions: how an answer is classified (HTTP and gRPC)
// and how a branch URL carries the transaction's identity.
import { describe, expect, it } from 'vitest';
import { branchUrl, classifyGrpc, classifyHttp, goQueryEscape } from '@dtx/coordinator';

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

describe('branch URLs', () => {
  const call = {
    gid: 'g 1+x',
    transType: 'saga',
    branchId: '01',
    op: 'action',
    payload: Buffer.alloc(0),
    post: false,
    protocol: 'http',
    headers: {},
    timeoutMs: 1000,
  };
  it('appends gid, trans_type, branch_id and op sorted by key, Go-escaped', () => {
    expect(branchUrl({ ...call, url: 'http://svc/api/TransOut' })).toBe('http://svc/api/TransOut?branch_id=01&gid=g+1%2Bx&op=action&trans_type=saga');
    expect(branchUrl({ ...call, url: 'http://svc/api/TransOut?x=1' })).toBe(
      'http://svc/api/TransOut?x=1&branch_id=01&gid=g+1%2Bx&op=action&trans_type=saga',
    );
    expect(goQueryEscape("a!b'c(d)e*f~g")).toBe('a%21b%27c%28d%29e%2Af~g');
  });
});
