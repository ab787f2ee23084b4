// Group commit's batching rules (group-commit.ts), on its own: which writes go together, which
// alone, and with which wait. The stores' batches on real databases are in store.test.ts.
import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../src/group-commit.ts';
import type { StoreWait } from '../src/types.ts';

const wait = (ms: number): StoreWait => ({ deadline: performance.now() + ms, wrote: false, done: false });

/** A group commit whose calls are recorded and held until `release()`. */
function recorded(stalled: boolean, lanes = 4, split?: number) {
  const calls: string[] = [];
  const held: (() => void)[] = [];
  const hold = () => new Promise<void>((r) => held.push(r));
  const g = new GroupCommit<string, string>({
    lanes,
    max: 64,
    together: async (items, w) => {
      calls.push(`together ${items.join(',')} wait ${Math.round((w?.deadline ?? 0) - performance.now())}`);
      await hold();
      return items.map((i) => `${i} ok`);
    },
    alone: async (item, w) => {
      calls.push(`alone ${item} wait ${Math.round((w?.deadline ?? 0) - performance.now())}`);
      await hold();
      return `${item} alone`;
    },
    key: (item) => item,
    stalled: () => stalled,
    split,
  });
  const release = () => held.splice(0).forEach((r) => r());
  return { g, calls, release };
}

describe('GroupCommit', () => {
  it('puts the writes of one event-loop turn in one batch, waiting as long as its most patient member', async () => {
    const { g, calls, release } = recorded(false);
    const out = Promise.all([g.add('a', wait(2_000)), g.add('b', wait(60_000))]);
    await new Promise((r) => setImmediate(r));
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatch(/^together a,b wait (59\d\d\d|60000)$/);
    release();
    expect(await out).toEqual(['a ok', 'b ok']);
  });

  it('sends a long batch formed while none is in flight as two halves at once; behind a batch in flight, or short, whole', async () => {
    const turn = () => new Promise((r) => setImmediate(r));
    const adds = (g: GroupCommit<string, string>, items: string) => Promise.all(items.split('').map((i) => g.add(i, wait(60_000))));
    const { g, calls, release } = recorded(false, 4, 8);
    const first = adds(g, 'abcdefghi');
    await turn();
    // both halves started before either finished
    expect(calls.map((c) => c.split(' wait')[0])).toEqual(['together a,b,c,d,e', 'together f,g,h,i']);
    const behind = adds(g, 'jklmnopqr');
    await turn();
    expect(calls.map((c) => c.split(' wait')[0]).slice(2)).toEqual(['together j,k,l,m,n,o,p,q,r']);
    release();
    expect(await first).toEqual('abcdefghi'.split('').map((i) => `${i} ok`));
    expect(await behind).toEqual('jklmnopqr'.split('').map((i) => `${i} ok`));
    await turn();
    await turn();
    const short = adds(g, 'stuvwxy');
    await turn();
    expect(calls.map((c) => c.split(' wait')[0]).slice(3)).toEqual(['together s,t,u,v,w,x,y']);
    release();
    await short;
    expect(g.stats).toMatchObject({ batches: 4, members: 25, fallbacks: 0 });
  });

  it('while the database is stalled, runs them alone, side by side, each with its own wait', async () => {
    const { g, calls, release } = recorded(true);
    const out = Promise.all([g.add('a', wait(2_000)), g.add('b', wait(60_000))]);
    await new Promise((r) => setImmediate(r));
    // both started before either finished: a short wait is not queued behind a long one
    expect(calls).toHaveLength(2);
    expect(calls[0]).toMatch(/^alone a wait (19\d\d|2000)$/);
    expect(calls[1]).toMatch(/^alone b wait (59\d\d\d|60000)$/);
    release();
    expect(await out).toEqual(['a alone', 'b alone']);
    expect(g.stats).toMatchObject({ batches: 1, members: 2, fallbacks: 0 });
  });

  it('holds a write queued behind busy lanes, but not while the database is stalled', async () => {
    const turn = () => new Promise((r) => setImmediate(r));
    const busy = recorded(false, 1);
    const first = busy.g.add('a', wait(60_000));
    await turn();
    const second = busy.g.add('b', wait(2_000));
    await turn();
    expect(busy.calls.map((c) => c.split(' wait')[0])).toEqual(['alone a']);
    busy.release();
    await first;
    await turn(); // the lane is handed on after its batch's promise settles, then a turn later
    await turn();
    expect(busy.calls.map((c) => c.split(' wait')[0])).toEqual(['alone a', 'alone b']);
    busy.release();
    await second;

    const stalled = recorded(true, 1);
    const a = stalled.g.add('a', wait(60_000));
    await turn();
    const b = stalled.g.add('b', wait(2_000));
    await turn();
    expect(stalled.calls.map((c) => c.split(' wait')[0])).toEqual(['alone a', 'alone b']);
    stalled.release();
    expect(await Promise.all([a, b])).toEqual(['a alone', 'b alone']);
  });
});
