// Retention (ours; dtm's SQL stores keep everything forever): a background task deletes finished
// transactions, with their branches and attempt log, once older than a configured age, and trims
// the attempt log of unfinished transactions that keep retrying. It works in small batches, one
// after another with a pause between runs, so that it never holds locks long enough to stall
// submits; several instances may run it at once (a row deleted twice is deleted once).
import type { Clock } from './clock.ts';
import type { Logger } from './logger.ts';
import type { Store } from './store/port.ts';

export interface RetentionOptions {
  store: Store;
  clock: Clock;
  log: Logger;
  /** Finished transactions older than this many seconds are deleted; 0 keeps them. */
  finishedAgeSeconds: number;
  /** Transactions deleted per batch (and unfinished ones looked at per trim). */
  batchSize: number;
  /** Seconds between runs (a run goes on while batches come back full). */
  intervalSeconds: number;
  /** Attempt rows kept per unfinished transaction (its first and the newest); 0 never trims. */
  keepAttempts: number;
}

export interface RetentionRun {
  deletedTransactions: number;
  trimmedAttempts: number;
}

/** A run stops after this many full batches, to let the next one start from fresh. */
const MAX_BATCHES_PER_RUN = 50;

export class Retention {
  private timer: NodeJS.Timeout | null = null;
  private trimCursor = 0;
  private running: Promise<RetentionRun> | null = null;

  constructor(private readonly o: RetentionOptions) {}

  /**
   * Runs every intervalSeconds, the first time one interval after start: a start-up (often many
   * instances at once, after a deploy) is busy enough without it.
   */
  start(): void {
    if (this.timer) return;
    const tick = () => {
      this.runOnce().catch((e: Error) => this.o.log.warn({ err: e.message }, 'retention run failed; retried at the next interval'));
    };
    this.timer = setInterval(tick, this.o.intervalSeconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  /** One run: finished transactions past their age, then one sweep of attempt trimming. */
  runOnce(): Promise<RetentionRun> {
    this.running ??= this.run().finally(() => (this.running = null));
    return this.running;
  }

  private async run(): Promise<RetentionRun> {
    const { store, clock, batchSize } = this.o;
    const out: RetentionRun = { deletedTransactions: 0, trimmedAttempts: 0 };
    if (this.o.finishedAgeSeconds > 0) {
      const before = new Date(clock.now().getTime() - this.o.finishedAgeSeconds * 1000);
      for (let i = 0; i < MAX_BATCHES_PER_RUN; i++) {
        const n = await store.deleteFinished(before, batchSize);
        out.deletedTransactions += n;
        if (n < batchSize) break;
      }
    }
    if (this.o.keepAttempts > 0) {
      for (let i = 0; i < MAX_BATCHES_PER_RUN; i++) {
        const r = await store.trimAttempts(this.trimCursor, batchSize, this.o.keepAttempts);
        out.trimmedAttempts += r.deleted;
        this.trimCursor = r.lastId;
        if (r.lastId === 0) break;
      }
    }
    if (out.deletedTransactions || out.trimmedAttempts) this.o.log.info({ ...out }, 'retention');
    return out;
  }
}
