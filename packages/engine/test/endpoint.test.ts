// Endpoint names (what the Stuck reasons, the Overview's endpoint table and dtx_branch_calls_total
// show) and the short form of a call's answer.
import { describe, expect, it } from 'vitest';
import { answerOf, endpointOf } from '../src/endpoint.ts';

describe('endpointOf', () => {
  it.each([
    ['http://stock-srv:8080/api/TransIn?gid=1&branch_id=01', 'stock-srv:8080/api/TransIn'],
    ['https://user:secret@pay.example/v1/charge#x', 'pay.example/v1/charge'],
    ['localhost:58081/busi.Busi/TransIn', 'localhost:58081/busi.Busi/TransIn'],
    ['discovery://shop.rpc/shop.Shop/Reserve', 'shop.rpc/shop.Shop/Reserve'],
    ['http://svc', 'svc'],
  ])('%s is %s', (url, endpoint) => {
    expect(endpointOf(url)).toBe(endpoint);
  });

  it('is at most 255 characters', () => {
    expect(endpointOf(`http://h/${'x'.repeat(400)}`)).toHaveLength(255);
  });
});

describe('answerOf', () => {
  it.each([
    [{ outcome: 'error', httpStatus: 500, message: 'boom' }, '500'],
    [{ outcome: 'failure', httpStatus: 409, message: 'FAILURE' }, '409 FAILURE'],
    [{ outcome: 'ongoing', httpStatus: 425, message: 'ONGOING' }, 'ongoing'],
    [{ outcome: 'error', grpcCode: 14, message: 'rpc error: code = Unavailable desc = x' }, 'gRPC UNAVAILABLE'],
    [{ outcome: 'error', message: 'connect ECONNREFUSED 127.0.0.1:1' }, 'no answer: connect ECONNREFUSED 127.0.0.1:1'],
  ] as const)('%j is %s', (r, text) => {
    expect(answerOf(r)).toBe(text);
  });
});
