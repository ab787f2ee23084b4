// Leases (ours; dtm has none): every pass holds a lease on its global row (owner = a lease token,
// lease_expire), so two instances never process one transaction at once and a killed
// instance's transactions are picked up once its leases expire.
//
// Fencing. The database sets and compares lease_expire by its own clock (store/port.ts), so
// instances need not agree on the time. Each pass also keeps its own deadline on this process's
// monotonic clock, counted from *before* the statement that granted (or renewed) the lease was
// sent, less a safety margin: it always believes its lease ends before the database does.
// Before every branch call the pass makes sure that the rest of its lease covers the call's
// timeout; if not, it renews the lease right then, and if that renewal fails or does not come
// back with the row, the pass stops before the call (StaleLeaseError) and leaves the lease to
// expire. A pass stuck behind a database outage therefore never calls a branch once another
// instance may have taken its transaction over. A background heartbeat renews the leases of
// passes that run long, so that most calls need no renewal of their own.
import { performance } from 'node:perf_hooks';
import { StaleLeaseError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { Clock } from './clock.ts';
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
  /** Monotonic milliseconds (tests move it by hand). */
  monotonic?: () => number;
}

/**
 * What a lease must still cover beyond a call's timeout (clock rate differences, scheduling):
 * a tenth of the lease, at most 1 s.
 */
export function leaseMargin(leaseMs: number): number {
  return Math.min(1000, leaseMs / 10);
}

/** The lease one pass holds: its row, its token, and until when (monotonic ms) it is safe. */
export interface HeldLease {
  readonly gid: string;
  readonly token: string;
  deadline: number;
}

export class LeaseKeeper {
  private seq = 0;
  private heartbeat: NodeJS.Timeout | null = null;
  /** Leases of running passes by `<token>#<gid>`. */
  private readonly held = new Map<string, HeldLease>();
  readonly leaseMs: number;
  private readonly margin: number;
  private readonly mono: () => number;

  constructor(private readonly o: LeaseKeeperOptions) {
    this.leaseMs = o.retryInterval * 1000;
    this.margin = leaseMargin(this.leaseMs);
    this.mono = o.monotonic ?? (() => performance.now());
  }

  /** A fresh lease token: `<instance>:<n>` (rows of one scheduler claim share a token). */
  newToken(): string {
    return `${this.o.instanceId}:${++this.seq}`;
  }

  /** Now on the monotonic clock: take it before sending a statement that grants a lease. */
  now(): number {
    return this.mono();
  }

  /** Records a lease the database granted to a statement sent at `sentAt` (monotonic ms). */
  hold(gid: string, token: string, sentAt: number, leaseMs = this.leaseMs): HeldLease {
    const lease = { gid, token, deadline: sentAt + leaseMs - this.margin };
    this.held.set(`${token}#${gid}`, lease);
    return lease;
  }

  /** The pass is over: its lease is no longer renewed. */
  drop(lease: HeldLease): void {
    this.held.delete(`${lease.token}#${lease.gid}`);
    if (this.held.size === 0) this.stop();
  }

  /**
   * Makes sure the lease covers the next `needMs` (a branch call's timeout) plus the margin;
   * renews it now if not. Throws StaleLeaseError when it cannot be sure: the caller must not
   * make the call.
   */
  async ensure(lease: HeldLease, needMs: number): Promise<void> {
    if (lease.deadline - this.mono() >= needMs + this.margin) return;
    const leaseMs = Math.max(this.leaseMs, needMs + 3 * this.margin);
    const sentAt = this.mono();
    let renewed = false;
    try {
      renewed = (await this.o.store.renewLeases([lease.token], leaseMs)).some((r) => r.gid === lease.gid && r.owner === lease.token);
    } catch (e) {
      this.o.log.warn({ gid: lease.gid, err: (e as Error).message }, 'could not renew the lease before a branch call');
    }
    if (renewed) lease.deadline = Math.max(lease.deadline, sentAt + leaseMs - this.margin);
    if (lease.deadline - this.mono() < needMs + this.margin) throw new StaleLeaseError(lease.gid, lease.token);
  }

  /**
   * Leases an existing row for an API-triggered pass. Another pass may hold it (a scheduler on
   * some instance): wait for it when the caller waits for the result, else make the row due so
   * that whoever is free next processes it (`onDue` wakes the local scheduler). `store`: the
   * request's view of the store (Store.waiting).
   */
  async acquire(gid: string, wait: boolean, onDue: () => void, store: Store = this.o.store): Promise<{ row: GlobalRow; lease: HeldLease } | null> {
    const { clock } = this.o;
    const deadline = this.mono() + (this.o.requestTimeout + 2) * 1000;
    for (;;) {
      const token = this.newToken();
      const sentAt = this.mono();
      const row = await store.acquireLease(gid, token, this.leaseMs);
      if (row) return { row, lease: this.hold(gid, token, sentAt) };
      if (!wait || this.mono() > deadline) {
        await store.resetNextCronTime(gid, clock.now());
        onDue();
        return null;
      }
      await sleep(50);
    }
  }

  /** Starts the heartbeat (if not running): every third of a lease, it renews the leases that have used up a third. */
  keepAlive(): void {
    if (this.heartbeat) return;
    const every = Math.max(200, this.leaseMs / 3);
    this.heartbeat = setInterval(() => void this.renewDue(every), every);
    this.heartbeat.unref();
  }

  private async renewDue(every: number): Promise<void> {
    // Most passes end in milliseconds, and every lease is granted for a whole RetryInterval.
    const soon = this.mono() + this.leaseMs - every;
    const due = [...this.held.values()].filter((l) => l.deadline < soon);
    if (due.length === 0) return;
    const sentAt = this.mono();
    try {
      const renewed = await this.o.store.renewLeases([...new Set(due.map((l) => l.token))], this.leaseMs);
      for (const r of renewed) {
        const lease = this.held.get(`${r.owner}#${r.gid}`);
        if (lease) lease.deadline = Math.max(lease.deadline, sentAt + this.leaseMs - this.margin);
      }
    } catch (e) {
      // The leases keep the deadlines they had; a pass whose call needs more renews it itself.
      this.o.log.error({ err: (e as Error).message }, 'could not renew leases');
    }
  }

  stop(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
