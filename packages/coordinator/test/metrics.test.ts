// dtx_branch_calls_total: one series per endpoint and outcome, with a bounded number of endpoints.
import { describe, expect, it } from 'vitest';
import { MAX_ENDPOINT_SERIES, Metrics, OTHER_ENDPOINT } from '../src/metrics.ts';

async function series(m: Metrics): Promise<Map<string, number>> {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === 'dtx_branch_calls_total');
  const out = new Map<string, number>();
  for (const v of (metric?.values ?? []) as { labels: Record<string, string>; value: number }[]) {
    out.set(`${v.labels.endpoint} ${v.labels.outcome}`, v.value);
  }
  return out;
}

describe('dtx_branch_calls_total', () => {
  it('counts calls by endpoint and outcome', async () => {
    const m = new Metrics('test');
    m.call('stock:8080/api/TransIn', 'error');
    m.call('stock:8080/api/TransIn', 'error');
    m.call('stock:8080/api/TransIn', 'success');
    m.call('pay:9090/busi.Pay/Charge', 'failure');
    expect(Object.fromEntries(await series(m))).toEqual({
      'stock:8080/api/TransIn error': 2,
      'stock:8080/api/TransIn success': 1,
      'pay:9090/busi.Pay/Charge failure': 1,
    });
  });

  it(`keeps ${MAX_ENDPOINT_SERIES} endpoints apart and counts the rest as "${OTHER_ENDPOINT}"`, async () => {
    const m = new Metrics('test');
    for (let i = 0; i < MAX_ENDPOINT_SERIES + 50; i++) m.call(`svc-${i}:80/x`, 'success');
    // an endpoint seen before the bound keeps its own series
    m.call('svc-0:80/x', 'error');
    const s = await series(m);
    expect(s.size).toBe(MAX_ENDPOINT_SERIES + 2);
    expect(s.get(`${OTHER_ENDPOINT} success`)).toBe(50);
    expect(s.get('svc-0:80/x error')).toBe(1);
    expect(s.has(`svc-${MAX_ENDPOINT_SERIES}:80/x success`)).toBe(false);
  });
});
