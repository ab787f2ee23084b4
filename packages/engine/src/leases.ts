// Leases (ours; dtm has none): every pass holds a lease on its global row (owner = a
// lease token, lease_expire), so two instances never process one transaction at once and a
// killed instance's transactions are picked up once its leases expire. This keeps the tokens,
// takes leases for API-triggered passes, and renews the leases of passes that run long.
import type { Clock } from './pass.ts';
import type { Logger } from './logger.ts';
import type { GlobalRow, Store } from './store/port.ts';

export interface LeaseKeeperOptions {
  store: Store;
  clock: Clock;
  log: Logger;
  instanceId: string;
  /** Conf.RetryInterval (s): the length of a lease. */
  retryInterval: number;
  /** Conf.RequestTimeout (s): how long an API call waits for a busy row. */
  requestTimeout: number;
}

/** Where the keeper finds the passes that need their leases renewed. */
export interface RunningPasses {
  /** Whether any pass is running. */
  readonly size: number;
  /** Lease tokens of the passes that started at or before `since` (epoch ms). */
  tokensStartedBy(since: number): string[];
}

export class LeaseKeeper {
  private seq = 0;
  private heartbeat: NodeJS.Timeout | null = null;

  constructor(private readonly o: LeaseKeeperOptions) {}

  /** A fresh lease token: `<instance>:<n>` (rows of one scheduler claim share a token). */
  newToken(): string {
    return `${this.o.instanceId}:${++this.seq}`;
  }

  /** Expiry of a lease taken or renewed now. */
  leaseUntil(): Date {
    return new Date(this.o.clock.now().getTime() + this.o.retryInterval * 1000);
  }

  /**
   * Leases an existing row for an API-triggered pass. Another pass may hold it (a scheduler on
   * some instance): wait for it when the caller waits for the result, else make the row due so
   * that whoever is free next processes it (`onDue` wakes the local scheduler).
   */
  async acquire(gid: string, wait: boolean, onDue: () => void): Promise<GlobalRow | null> {
    const { store, clock } = this.o;
    const deadline = clock.now().getTime() + (this.o.requestTimeout + 2) * 1000;
    for (;;) {
      const row = await store.acquireLease(gid, this.newToken(), clock.now(), this.leaseUntil());
      if (row) return row;
      if (!wait || clock.now().getTime() > deadline) {
        await store.resetNextCronTime(gid, clock.now());
        onDue();
        return null;
      }
      await sleep(50);
    }
  }

  /** Renews, every third of a lease, the leases of passes that have run for a while. */
  keepAlive(passes: RunningPasses): void {
    if (this.heartbeat) return;
    const every = Math.max(200, (this.o.retryInterval * 1000) / 3);
    this.heartbeat = setInterval(() => {
      if (passes.size === 0) {
        this.stop();
        return;
      }
      // Most passes end in milliseconds, and every lease is granted for a whole RetryInterval.
      const tokens = passes.tokensStartedBy(this.o.clock.now().getTime() - every);
      if (tokens.length === 0) return;
      this.o.store.renewLeases(tokens, this.leaseUntil()).catch((e: Error) => {
        this.o.log.error({ err: e.message }, 'could not renew leases');
      });
    }, every);
    this.heartbeat.unref();
  }

  stop(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
