// Requests refused at submit because they could never finish (issue 9): saga orders naming
// missing steps or forming a cycle, branch headers no transport can send, gRPC target schemes no
// driver resolves, strings no store can hold. Table tests over checkTransRequest (no I/O).
import { describe, expect, it } from 'vitest';
import { checkTransRequest, defaultOptions, sagaPlan, type TransRequest } from '@dtx/engine';

const A = 'http://127.0.0.1:1/a';

function req(extra: Partial<TransRequest> = {}, steps = 2): TransRequest {
  return {
    gid: 'g1',
    transType: 'saga',
    steps: Array.from({ length: steps }, () => ({ action: A, compensate: A })),
    payloads: Array.from({ length: steps }, () => Buffer.from('{}')),
    customData: '',
    queryPrepared: '',
    protocol: 'http',
    rollbackReason: '',
    options: defaultOptions(),
    reqExtra: {},
    extHeaders: {},
    ...extra,
  };
}

const refusal = (r: TransRequest, grpcSchemes: string[] = []): string | null => {
  try {
    checkTransRequest(r, { grpcSchemes });
    return null;
  } catch (err) {
    expect((err as { kind?: string }).kind).toBe('bad-request');
    return (err as Error).message;
  }
};

describe('saga orders', () => {
  const orders = (o: unknown, concurrent = true) => JSON.stringify({ concurrent, orders: o });
  it.each<[string, string, number, string | null]>([
    ['a valid diamond', orders({ 2: [0, 1], 3: [2] }), 4, null],
    [
      'a prerequisite past the last step',
      orders({ 1: [7] }),
      2,
      'invalid custom_data: saga orders: step 1 depends on step 7, which does not exist (2 steps)',
    ],
    [
      'a negative prerequisite',
      orders({ 1: [-1] }),
      2,
      'invalid custom_data: saga orders: step 1 depends on step -1, which does not exist (2 steps)',
    ],
    [
      'orders of a step that does not exist',
      orders({ 3: [0] }),
      2,
      'invalid custom_data: saga orders: step 3 has orders but does not exist (2 steps)',
    ],
    ['orders of a negative step', orders({ '-1': [0] }), 1, 'invalid custom_data: saga orders: step -1 has orders but does not exist (1 step)'],
    ['a self-dependency', orders({ 0: [0] }), 2, 'invalid custom_data: saga orders contain a cycle: 0 -> 0'],
    ['a two-step cycle', orders({ 0: [1], 1: [0] }), 2, 'invalid custom_data: saga orders contain a cycle: 0 -> 1 -> 0'],
    [
      'a longer cycle behind a valid step',
      orders({ 1: [3], 2: [1], 3: [2], 0: [] }),
      4,
      'invalid custom_data: saga orders contain a cycle: 1 -> 3 -> 2 -> 1',
    ],
    [
      'a sequential saga whose first step waits for the second',
      orders({ 0: [1] }, false),
      2,
      'invalid custom_data: saga orders contain a cycle: 0 -> 1 -> 0 (without concurrent, each step also waits for the step before it)',
    ],
    ['a sequential saga with orders that follow the steps', orders({ 1: [0], 2: [0] }, false), 3, null],
  ])('%s', (_label, customData, steps, message) => {
    expect(refusal(req({ customData }, steps))).toBe(message);
  });

  it('the pass-time check is the same function, and returns what it checked', () => {
    const custom = sagaPlan.parseSagaCustom(orders({ 1: [0] }));
    expect(sagaPlan.checkSagaOrders(custom, 2)).toBe(custom);
    expect(() => sagaPlan.checkSagaOrders(custom, 1)).toThrow('step 1 has orders but does not exist (1 step)');
  });
});

describe('branch headers', () => {
  const headers = (h: Record<string, string>, protocol = 'http') => req({ protocol, options: { ...defaultOptions(), branchHeaders: h } });
  it.each<[string, TransRequest, string | null]>([
    ['plain headers', headers({ 'X-Trace': 'abc def', Authorization: 'Bearer x', 'X-Latin': 'caf\u00e9' }), null],
    [
      'CR LF in a value',
      headers({ 'X-A': 'a\r\nX-Injected: 1' }),
      'branch_headers "X-A": the value holds a character not allowed in an HTTP header value (\\u000d at position 1)',
    ],
    [
      'NUL in a value',
      headers({ 'X-A': 'a\u0000' }),
      'branch_headers "X-A": the value holds a character not allowed in an HTTP header value (\\u0000 at position 1)',
    ],
    [
      'a character past Latin-1',
      headers({ 'X-A': '\u20ac' }),
      'branch_headers "X-A": the value holds a character not allowed in an HTTP header value (\\u20ac at position 0)',
    ],
    ['a name with a space', headers({ 'X A': '1' }), 'branch_headers "X A": the name is not an HTTP header name (an RFC 9110 token)'],
    ['a name with a colon', headers({ 'X:A': '1' }), 'branch_headers "X:A": the name is not an HTTP header name (an RFC 9110 token)'],
    ['an empty name', headers({ '': '1' }), 'branch_headers "": the name is not an HTTP header name (an RFC 9110 token)'],
    [
      'transfer-encoding',
      headers({ 'Transfer-Encoding': 'chunked' }),
      `branch_headers "Transfer-Encoding": the coordinator's HTTP client (undici) refuses to send this header`,
    ],
    [
      'connection: upgrade',
      headers({ connection: 'upgrade' }),
      `branch_headers "connection": the coordinator's HTTP client (undici) refuses to send this header`,
    ],
    ['connection: close', headers({ connection: 'close' }), null],
    [
      'gRPC: a key that is a token but not metadata',
      headers({ 'X!A': '1' }, 'grpc'),
      'branch_headers "X!A": the name is not a gRPC metadata key (0-9 a-z _ . -)',
    ],
    [
      'gRPC: a -bin key',
      headers({ 'trace-bin': 'AAEC' }, 'grpc'),
      'branch_headers "trace-bin": gRPC metadata keys ending in -bin carry binary values, which headers cannot',
    ],
    [
      'gRPC: a Latin-1 value',
      headers({ 'x-a': 'caf\u00e9' }, 'grpc'),
      'branch_headers "x-a": the value holds a character not allowed in gRPC metadata (printable ASCII only; \\u00e9 at position 3)',
    ],
    [
      'gRPC: connection: close',
      headers({ Connection: 'close' }, 'grpc'),
      'branch_headers "Connection": a connection-specific header, which HTTP/2 (gRPC) cannot carry',
    ],
    ['gRPC: upper-case keys are lowercased', headers({ 'X-Trace': 'abc' }, 'grpc'), null],
    [
      'passthrough headers too',
      req({ extHeaders: { 'x-a': 'a\nb' } }),
      'passthrough_headers "x-a": the value holds a character not allowed in an HTTP header value (\\u000a at position 1)',
    ],
  ])('%s', (_label, r, message) => {
    expect(refusal(r)).toBe(message);
  });
});

describe('gRPC target schemes', () => {
  const grpcSaga = (action: string) => req({ protocol: 'grpc', steps: [{ action, compensate: '' }], payloads: [Buffer.alloc(0)] }, 1);
  const gozero = ['etcd', 'discov', 'direct', 'dns'];
  it.each<[string, string[], string | null]>([
    ['127.0.0.1:5000/busi.Busi/TransIn', [], null],
    ['http://127.0.0.1:5000/api/TransIn', [], null],
    ['etcd://127.0.0.1:2379/busi/busi.Busi/TransIn', gozero, null],
    ['DIRECT:///127.0.0.1:5000/busi.Busi/TransIn', gozero, null],
    [
      'file:///etc/passwd/x.Y/Z',
      [],
      "steps[0].action uses the scheme 'file://', which the configured MicroService driver does not resolve (the default driver resolves none: use host:port/package.Service/Method): 'file:///etc/passwd/x.Y/Z'",
    ],
    [
      'ftp://x/pkg.Svc/M',
      gozero,
      "steps[0].action uses the scheme 'ftp://', which the configured MicroService driver does not resolve (it resolves etcd://, discov://, direct://, dns://): 'ftp://x/pkg.Svc/M'",
    ],
    ['etcd://127.0.0.1:2379/busi/busi.Busi/TransIn', [], "steps[0].action uses the scheme 'etcd://'"],
  ])('%s with [%s]', (url, schemes, message) => {
    const got = refusal(grpcSaga(url), schemes);
    if (message === null) expect(got).toBeNull();
    else expect(got).toContain(message);
  });
});

describe('strings no store can hold', () => {
  it.each<[string, Partial<TransRequest>, string | null]>([
    ['NUL in the gid', { gid: 'a\u0000b' }, 'gid contains a NUL character (\\u0000 at position 1), which cannot be stored'],
    ['NUL in custom_data', { customData: '{"x":"\u0000"}' }, 'custom_data contains a NUL character (\\u0000 at position 6), which cannot be stored'],
    [
      'a lone high surrogate in rollback_reason',
      { rollbackReason: 'x\ud800' },
      'rollback_reason contains an unpaired UTF-16 surrogate (not valid Unicode) (\\ud800 at position 1), which cannot be stored',
    ],
    [
      'a lone low surrogate in query_prepared',
      { queryPrepared: '\udc00' },
      'query_prepared contains an unpaired UTF-16 surrogate (not valid Unicode) (\\udc00 at position 0), which cannot be stored',
    ],
    [
      'NUL in a step URL',
      { steps: [{ action: `${A}\u0000`, compensate: A }], payloads: [Buffer.alloc(0)] },
      'steps[0].action contains a NUL character (\\u0000 at position 20), which cannot be stored',
    ],
    [
      'NUL in req_extra',
      { reqExtra: { result: '\u0000' } },
      'req_extra.result contains a NUL character (\\u0000 at position 0), which cannot be stored',
    ],
    ['emoji, control characters and U+FFFF are fine', { rollbackReason: '\u{1F600}\u0001\uffff', customData: '' }, null],
    ['NUL in a payload is fine (bytes)', { payloads: [Buffer.from([0]), Buffer.from([0])] }, null],
  ])('%s', (_label, extra, message) => {
    expect(refusal(req(extra))).toBe(message);
  });
});
