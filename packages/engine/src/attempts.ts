// The branch attempt log is written in batches off the hot path: one multi-row INSERT per flush
// instead of one statement per branch call. It is diagnostic data; a crash loses at most the
// last flush interval of attempts (the transactions themselves are not affected).
import type { NewAttempt, Store } from './store/port.ts';
import type { BranchCall, CallResult } from './calls/types.ts';
import type { AttemptSink } from './pass.ts';
import type { Logger } from './logger.ts';

const MAX_ERROR_CHARS = 2000;

export class AttemptWriter implements AttemptSink {
  private queue: NewAttempt[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly owner: string,
    private readonly log: Logger,
    private readonly intervalMs = 50,
    private readonly maxBatch = 200,
    /** Beyond this many queued rows new attempts are dropped (the database is down). */
    private readonly maxQueue = 50_000,
  ) {}

  record(gid: string, call: BranchCall, r: CallResult): void {
    if (this.queue.length >= this.maxQueue) return;
    this.queue.push({
      gid,
      branchId: call.branchId,
      op: call.op,
      url: call.url.slice(0, 1024),
      protocol: r.transport,
      startedAt: r.startedAt,
      durationMs: Math.round(r.durationMs),
      httpStatus: r.httpStatus ?? null,
      grpcCode: r.grpcCode ?? null,
      outcome: r.outcome,
      response: r.response,
      error: r.outcome === 'success' ? '' : r.message.slice(0, MAX_ERROR_CHARS),
      owner: this.owner,
    });
    if (this.queue.length >= this.maxBatch) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.intervalMs);
  }

  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.queue;
    if (batch.length === 0) return this.flushing;
    this.queue = [];
    this.flushing = this.flushing.then(async () => {
      try {
        await this.store.insertAttempts(batch);
      } catch (err) {
        this.log.warn({ err, rows: batch.length }, 'could not write branch attempts; dropped');
      }
    });
    return this.flushing;
  }
}
