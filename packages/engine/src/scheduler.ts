// The scheduler: claims due transactions (unfinished, next_cron_time passed, lease free or
// expired) and runs their passes, at most `concurrency` at once. Idle, it polls every
// TransCronInterval (less a random part, so that instances spread out, as dtm does); `poke`
// wakes it at once when something became due here.
import { decodeOptions } from './options.ts';
import type { HeldLease, LeaseKeeper } from './leases.ts';
import type { Logger } from './logger.ts';
import type { Clock } from './clock.ts';
import { passTransFromRow } from './pass.ts';
import type { PassRunner } from './runner.ts';
import type { BranchRow, GlobalRow, Store } from './store/port.ts';

export interface SchedulerOptions {
  store: Store;
  clock: Clock;
  log: Logger;
  leases: LeaseKeeper;
  runner: PassRunner;
  /** Conf.RetryInterval (s): a claimed row is due again this much later if its pass dies. */
  retryInterval: number;
  /** Conf.TransCronInterval (s) */
  transCronInterval: number;
  /** Most passes the scheduler runs at once. */
  concurrency: number;
}

/** What readiness checks ask the scheduler (docs/operations.md, "Health"). */
export interface SchedulerHealth {
  ok: boolean;
  /** Why not, when not ok. */
  reason?: string;
  /** Wall-clock ms of the last completed loop turn (a claim query that answered), if any. */
  lastLoopAt: number | null;
}

/** A loop turn older than this many TransCronIntervals (plus STALE_SLACK_MS) makes the scheduler unhealthy. */
export const STALE_INTERVALS = 3;
const STALE_SLACK_MS = 2000;

export class Scheduler {
  private running = false;
  /** Date.now() (not the engine's Clock: tests' ManualClock must not make a live loop look stale). */
  private lastLoopAt: number | null = null;
  private lastError = '';
  private loopDone: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private active = 0;
  /** Claimed rows whose pass has not started yet (their branches are loading). */
  private loading = 0;

  constructor(private readonly o: SchedulerOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  /** Wakes the scheduler now (something became due). */
  poke(): void {
    this.wake?.();
  }

  /** Stops claiming; running passes go on (the engine drains them). */
  async stop(): Promise<void> {
    this.running = false;
    this.poke();
    await this.loopDone;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      let claimed = 0;
      const room = this.o.concurrency - this.active;
      if (room > 0) {
        try {
          claimed = await this.claimAndRun(room);
          this.lastLoopAt = Date.now();
        } catch (e) {
          this.lastError = (e as Error).message;
          this.o.log.error({ err: this.lastError }, 'claiming due transactions failed');
        }
      } else {
        this.lastLoopAt = Date.now(); // busy at full concurrency: the loop is alive
      }
      if (!this.running) break;
      if (claimed > 0 && claimed === room) continue;
      const idle = Math.max(0.05, this.o.transCronInterval - Math.random()) * 1000;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, room > 0 ? idle : 1000);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  /** Ready when the loop is running and completed a turn within the last few TransCronIntervals. */
  healthy(now = Date.now()): SchedulerHealth {
    const lastLoopAt = this.lastLoopAt;
    if (!this.running) return { ok: false, reason: 'scheduler not running', lastLoopAt };
    const staleMs = STALE_INTERVALS * this.o.transCronInterval * 1000 + STALE_SLACK_MS;
    if (lastLoopAt === null || now - lastLoopAt > staleMs) {
      const since = lastLoopAt === null ? 'has not completed a turn yet' : `last completed a turn ${Math.round((now - lastLoopAt) / 1000)}s ago`;
      return { ok: false, reason: `scheduler ${since}${this.lastError ? ` (last error: ${this.lastError})` : ''}`, lastLoopAt };
    }
    return { ok: true, lastLoopAt };
  }

  /** Claims up to `limit` due transactions and starts their passes. Returns how many. */
  async claimAndRun(limit: number): Promise<number> {
    const { store, clock, leases } = this.o;
    const token = leases.newToken();
    const now = clock.now();
    const sentAt = leases.now();
    const rows = await store.claimDue(token, now, leases.leaseMs, new Date(now.getTime() + this.o.retryInterval * 1000), limit);
    for (const row of rows) {
      this.active++;
      void this.runClaimed(row, leases.hold(row.gid, token, sentAt)).finally(() => {
        this.active--;
        this.poke();
      });
    }
    return rows.length;
  }

  /** Claimed transactions whose pass has not started yet. */
  get starting(): number {
    return this.loading;
  }

  private async runClaimed(row: GlobalRow, lease: HeldLease): Promise<void> {
    let branches: BranchRow[];
    this.loading++;
    try {
      branches = await this.o.store.findBranches(row.gid);
    } catch (e) {
      this.o.log.error({ gid: row.gid, err: (e as Error).message }, 'could not load branches');
      this.o.leases.drop(lease);
      return;
    } finally {
      this.loading--;
    }
    await this.o.runner.run(passTransFromRow(row, decodeOptions(row.options)), branches, lease);
  }
}
