// Group commit for the server stores (docs/benchmarks.md, "Group commit"): writes of the same
// shape issued by concurrent requests while the database is busy go out together, as one
// statement (PostgreSQL) or one multi-statement transaction (MySQL), so that a busy coordinator
// pays one round trip and one commit for many sagas instead of one each. SQLite's driver does the
// same per event-loop turn (drivers.ts).
//
// A batch is sent as soon as a lane is free: a lone write goes out at once (alone, through the
// plain statement, exactly as without batching), and only writes that arrive while the lanes are
// busy wait, for the next free lane. Each caller is answered after the commit that carried its
// write, so durability is unchanged. A batch that fails as a whole (an SQL error in one member, a
// lost connection, an unreachable database) is run again member by member through the plain
// statement, each with its own StoreWait, in the order they came: the culprit fails alone, and
// each request waits for an unreachable database only as long as its own client waits. While the
// database is stalled (no answer for a while), writes neither wait for a lane nor share a batch's
// wait: each goes alone, side by side with the others, and is refused at its own deadline.
import type { StoreWait } from './types.ts';

export interface GroupOptions<I, O> {
  /** Batches in flight at once (each holds one pooled connection). */
  lanes: number;
  /** Members of one batch at most. */
  max: number;
  /**
   * A batch of at least this many members, formed while no batch is in flight, goes out as two
   * halves at once, on two connections (needs two lanes). A database that executes a batch's
   * statements one after the other on one thread then works on both halves side by side, on
   * cores it would leave idle, and answers sooner. Unset: never split (docs/benchmarks.md,
   * "MariaDB: an idle server gets a long batch in two halves").
   */
  split?: number;
  /** Runs `items` together (one statement or transaction); one result per item, in order. */
  together: (items: I[], wait: StoreWait | undefined) => Promise<O[]>;
  /** Runs one item on its own (a lone write, and the fallback of a failed batch). */
  alone: (item: I, wait: StoreWait | undefined) => Promise<O>;
  /**
   * Items with the same key never share a batch and never run at once: the later one waits until
   * the earlier one's batch (and its fallback) is over, so they apply in the order they came.
   */
  key: (item: I) => string;
  /**
   * Whether the database is stalled (store-wait.ts, Liveness): then writes do not wait for a free
   * lane, and a batch's members run alone, side by side, each with its own wait. A batch waits as
   * long as its most patient member (widest), and a queued write waits for a lane whatever its
   * deadline, so a write whose client would not wait that long would be held past its deadline
   * instead of refused; while the database is stalled nothing is sent, so nothing is lost.
   */
  stalled?: () => boolean;
}

export interface GroupStats {
  /** Batches run (a lone write counts as one). */
  batches: number;
  /** Writes they carried. */
  members: number;
  /** Batches that failed as a whole and ran member by member. */
  fallbacks: number;
}

interface Member<I, O> {
  item: I;
  wait: StoreWait | undefined;
  resolve: (v: O) => void;
  reject: (e: unknown) => void;
}

export class GroupCommit<I, O> {
  private queue: Member<I, O>[] = [];
  private inFlight = 0;
  /** Keys of the members of batches in flight. */
  private readonly busy = new Set<string>();
  private scheduled = false;
  /** Batches run and members they carried (tests, benchmarks). */
  readonly stats: GroupStats = { batches: 0, members: 0, fallbacks: 0 };

  constructor(private readonly o: GroupOptions<I, O>) {}

  add(item: I, wait: StoreWait | undefined): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, wait, resolve, reject });
      this.kick();
    });
  }

  /** Takes the queue at the end of this event-loop turn (the writes of one turn go together). */
  private kick(): void {
    if (this.scheduled || !this.laneFree() || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /**
   * Whether another batch may start. While the database is stalled, always: nothing is sent then,
   * and a write held in the queue behind patient ones would wait past its own deadline.
   */
  private laneFree(): boolean {
    return this.inFlight < this.o.lanes || this.o.stalled?.() === true;
  }

  private flush(): void {
    const halve = this.o.split !== undefined && this.o.lanes >= 2 && this.inFlight === 0 && this.queue.length >= this.o.split;
    const size = halve ? Math.min(this.o.max, Math.ceil(this.queue.length / 2)) : this.o.max;
    while (this.laneFree() && this.queue.length > 0) {
      const batch: Member<I, O>[] = [];
      const keys: string[] = [];
      const rest: Member<I, O>[] = [];
      for (const m of this.queue) {
        const k = this.o.key(m.item);
        if (batch.length < size && !this.busy.has(k)) {
          this.busy.add(k);
          keys.push(k);
          batch.push(m);
        } else {
          rest.push(m);
        }
      }
      this.queue = rest;
      if (batch.length === 0) return; // everything queued waits for a batch in flight
      this.inFlight++;
      void this.run(batch).finally(() => {
        for (const k of keys) this.busy.delete(k);
        this.inFlight--;
        this.kick();
      });
    }
  }

  private async run(batch: Member<I, O>[]): Promise<void> {
    this.stats.batches++;
    this.stats.members += batch.length;
    const only = batch.length === 1 ? batch[0] : undefined;
    if (only) {
      await this.o.alone(only.item, only.wait).then(only.resolve, only.reject);
      return;
    }
    if (this.o.stalled?.()) {
      await Promise.all(batch.map((m) => this.o.alone(m.item, m.wait).then(m.resolve, m.reject)));
      return;
    }
    let outs: O[];
    try {
      outs = await this.o.together(
        batch.map((m) => m.item),
        widest(batch),
      );
    } catch {
      // One after the other, in the order they came (the same order as had each gone alone).
      this.stats.fallbacks++;
      for (const m of batch) await this.o.alone(m.item, m.wait).then(m.resolve, m.reject);
      return;
    }
    batch.forEach((m, i) => {
      if (m.wait) m.wait.wrote = true;
      m.resolve(outs[i] as O);
    });
  }
}

/**
 * The wait of a batch: as long as its most patient member's (background work has none: the
 * background wait). A member whose own client gave up earlier is answered late, never wrongly.
 */
function widest(batch: { wait: StoreWait | undefined }[]): StoreWait | undefined {
  let deadline = 0;
  for (const m of batch) {
    if (!m.wait || m.wait.done) return undefined;
    deadline = Math.max(deadline, m.wait.deadline);
  }
  return { deadline, wrote: false, done: false };
}
