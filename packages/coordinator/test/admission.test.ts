// Admission's bounds on their own (admission.ts): the event-loop lag bound refuses new work only
// once a few requests are in progress, never registerBranch, and says why; the request bounds are
// exercised end to end in tests/admission.test.ts.
import { describe, expect, it } from 'vitest';
import { Admission, isRefusal, LoopLag, type Slot } from '../src/admission.ts';

describe('admission by event-loop lag', () => {
  const admission = (lag: number) =>
    new Admission({ maxInflightSubmits: 64, maxInflightPasses: 256, maxStoreWaitMs: 1000, passes: () => 0, maxLoopLagMs: 50, loopLagMs: () => lag });

  it('admits a lone request however late the loop runs, then refuses once 8 are in progress', () => {
    const a = admission(500);
    const held: Slot[] = [];
    for (let i = 0; i < 8; i++) {
      const r = a.enter('submit');
      expect(isRefusal(r)).toBe(false);
      held.push(r as Slot);
    }
    const refused = a.enter('submit');
    expect(refused).toMatchObject({
      reason: 'event_loop_lag',
      message: expect.stringMatching(/event loop runs 500 ms late \(MaxEventLoopLag=50\).*nothing was stored/) as unknown,
    });
    // registerBranch adds to a transaction already admitted: not held to it
    expect(isRefusal(a.enter('registerBranch'))).toBe(false);
    held[0]?.release();
    expect(a.inflightSubmits).toBe(8);
  });

  it('admits when the loop keeps up', () => {
    const a = admission(10);
    for (let i = 0; i < 20; i++) expect(isRefusal(a.enter('submit'))).toBe(false);
  });

  it('LoopLag measures a blocked loop', async () => {
    const lag = new LoopLag(10);
    await new Promise((r) => setTimeout(r, 50));
    const until = performance.now() + 300;
    while (performance.now() < until) {
      // block the loop
    }
    await new Promise((r) => setTimeout(r, 15));
    expect(lag.ms).toBeGreaterThan(5);
    lag.stop();
  });
});
