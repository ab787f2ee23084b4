// Fault drivers. Each runs while the submitter is busy (kill loops, database restarts) or once
// (an outage), logs what it did, and leaves every coordinator and the database running when it
// returns, so that the run can drain.
import type { Coordinator } from './coordinators.ts';
import type { DbServer } from './databases.ts';
import { between, sleep } from './procs.ts';

export type Fault =
  /**
   * SIGKILL a coordinator every `every` seconds (a random one of the instances) and restart it;
   * with `untilS`, no kill starts after that many seconds into the run.
   */
  | { kind: 'kill'; every: [number, number]; untilS?: number }
  /** Stop the database cleanly and start it again at once, every `every` seconds. */
  | { kind: 'db-restart'; every: [number, number] }
  /** Once, `afterS` seconds in: freeze (SIGSTOP) or stop the database for `seconds`, then resume. */
  | { kind: 'outage'; afterS: number; seconds: number; mode: 'freeze' | 'stop' };

export interface FaultEvent {
  /** Seconds since the run's faults started. */
  t: number;
  what: string;
}

export interface FaultContext {
  coordinators: Coordinator[];
  db: DbServer;
  /** True while the submitter is still sending. */
  active: () => boolean;
  events: FaultEvent[];
}

/** Sleeps up to `ms`, waking early once the submitter is done. */
async function nap(ms: number, active: () => boolean): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!active()) return false;
    await sleep(Math.min(200, end - Date.now()));
  }
  return active();
}

export async function runFault(f: Fault, ctx: FaultContext, t0: number): Promise<void> {
  const log = (what: string) => ctx.events.push({ t: Math.round((Date.now() - t0) / 100) / 10, what });
  if (f.kind === 'kill') {
    while (await nap(between(f.every), ctx.active)) {
      if (f.untilS !== undefined && Date.now() - t0 > f.untilS * 1000) break;
      const c = ctx.coordinators[Math.floor(Math.random() * ctx.coordinators.length)];
      if (!c) break;
      await c.kill();
      log(`SIGKILL ${c.name}`);
      await c.start();
      log(`${c.name} up again`);
    }
  } else if (f.kind === 'db-restart') {
    while (await nap(between(f.every), ctx.active)) {
      await ctx.db.stop();
      log('database stopped');
      await ctx.db.start();
      log('database started');
    }
  } else {
    await sleep(f.afterS * 1000);
    // Not while a coordinator is restarting (it would wait out the outage in its start-up).
    for (let i = 0; i < 600 && !ctx.coordinators.every((c) => c.running); i++) await sleep(100);
    if (f.mode === 'freeze') {
      ctx.db.freeze();
      log(`database frozen (SIGSTOP) for ${f.seconds} s`);
      await sleep(f.seconds * 1000);
      ctx.db.thaw();
      log('database resumed (SIGCONT)');
    } else {
      await ctx.db.stop();
      log(`database stopped for ${f.seconds} s`);
      await sleep(f.seconds * 1000);
      await ctx.db.start();
      log('database started');
    }
  }
  // A coordinator that died on its own (e.g. during the outage) is restarted for the drain.
  for (const c of ctx.coordinators) {
    if (!c.running) {
      log(`${c.name} had exited: restarted`);
      await c.start();
    }
  }
}

export const scenarios = {
  'kill-one': { instances: 1, faults: [{ kind: 'kill', every: [2, 3] }] },
  'kill-two': { instances: 2, faults: [{ kind: 'kill', every: [3, 5] }] },
  'db-restart': { instances: 1, faults: [{ kind: 'db-restart', every: [8, 12] }] },
  'outage-5s': { instances: 1, faults: [{ kind: 'outage', afterS: 3, seconds: 5, mode: 'freeze' }] },
  'outage-40s': { instances: 1, faults: [{ kind: 'outage', afterS: 3, seconds: 40, mode: 'freeze' }] },
  // tests/chaos.test.ts's outage case: one kill, then a freeze longer than the lease and the pool
  // timeout while the restarted coordinator still has the killed one's sagas to recover.
  'kill-then-outage': {
    instances: 1,
    faults: [
      { kind: 'kill', every: [3, 4], untilS: 5 },
      { kind: 'outage', afterS: 14, seconds: 25, mode: 'freeze' },
    ],
  },
} satisfies Record<string, { instances: number; faults: Fault[] }>;

export type ScenarioName = keyof typeof scenarios;
