// SQLite's WAL checkpoints on a worker thread instead of the event loop (docs/operations.md,
// "Durability of the embedded store").
//
// With SQLite's default, the connection that commits runs a checkpoint whenever the WAL passes
// 1000 pages: it copies the pages into the database file and, with synchronous=NORMAL, syncs the
// WAL before and the database file after. On the coordinator that connection lives on the event
// loop, so every few hundred commits one of them stalled every request for the copy and two
// fsyncs. Here one worker thread per process holds a second connection to each store file and
// checkpoints it every PERIOD_MS:
// - PASSIVE: copies what it can without taking any lock a writer needs; the coordinator's writes
//   go on meanwhile. It syncs the WAL first, so in `normal` mode a commit reaches the disk within
//   about PERIOD_MS (before: at the next 1000-page checkpoint, however long that took).
// - RESTART, once the WAL holds RESTART_FRAMES frames: a PASSIVE checkpoint lets the WAL start over
//   only if no commit came in while it ran, which under steady load never happens. The worker asks
//   the store to hold its writes (no new write transaction; the event loop goes on, writes queue
//   and form a larger batch after), checkpoints the rest with the write lock free, and lets the
//   next commit write from the WAL's beginning again, so the file stays bounded. Without the hold
//   a busy store starved the RESTART of the lock: between two group-commit batches it is free for
//   microseconds.
// The store's connection keeps SQLite's auto-checkpoint, at OWN_CHECKPOINT_FRAMES instead of 1000: a
// bound for writes faster than the worker's checkpoints (a bulk load; the coordinator writes a few
// MB a second at most), where the commit that crosses it checkpoints what is left (little: the
// worker has copied most) and lets the WAL start over. If the worker cannot run (it fails to start
// or dies), that connection goes back to SQLite's 1000 pages.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How often each store's WAL is checkpointed. */
export const PERIOD_MS = 100;
/** WAL frames past which a checkpoint also starts the WAL over (8 MiB of 1 KiB pages). */
export const RESTART_FRAMES = 8192;
/** The store's own connection checkpoints only past this many frames of WAL (32 MiB of 1 KiB pages). */
export const OWN_CHECKPOINT_FRAMES = 4 * RESTART_FRAMES;
/**
 * How long a RESTART waits for another connection (the dashboard's, say) to finish its write or
 * leave an old snapshot before giving up until a later period: the store's writes are held
 * meanwhile, so briefly.
 */
const RESTART_WAIT_MS = 100;
/** The longest the store's writes are held for a RESTART, whatever the worker does. */
const HOLD_LIMIT_MS = 1000;
/**
 * After a RESTART that could not finish, the periods without another one: 1, 2, 4... up to 300
 * (30 s), so that a read transaction left open elsewhere holds the store's writes for 100 ms now and then,
 * not every period. The store's own checkpoint bound (OWN_CHECKPOINT_FRAMES) still applies.
 */
const MAX_BACKOFF_PERIODS = 300;

// Plain CommonJS run by the worker (eval): the coordinator ships as one bundle, so the worker
// cannot be a module file of its own. better-sqlite3 comes by absolute path (workerData.module).
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
/** id -> { db, holding, skip (periods without RESTART), backoff } */
const dbs = new Map();
let timer = null;
function busy(e) {
  return !!e && typeof e.code === 'string' && e.code.startsWith('SQLITE_BUSY');
}
function drop(id) {
  const c = dbs.get(id);
  dbs.delete(id);
  try { if (c) c.db.close(); } catch {}
}
function failed(id, e) {
  drop(id);
  parentPort.postMessage({ failed: id, message: String(e && e.message) });
}
function tick() {
  timer = null;
  for (const [id, c] of dbs) {
    if (c.holding) continue;
    try {
      const r = c.db.pragma('wal_checkpoint(PASSIVE)')[0];
      if (c.skip > 0) c.skip--;
      else if (r && r.log >= workerData.restartFrames) {
        // The store's writes pause (drivers.ts) while the WAL starts over.
        c.holding = true;
        parentPort.postMessage({ hold: id });
      }
    } catch (e) {
      // SQLITE_BUSY (and its extended codes): another connection's checkpoint; next period.
      if (!busy(e)) failed(id, e);
    }
  }
  if (dbs.size > 0) timer = setTimeout(tick, workerData.periodMs);
}
parentPort.on('message', (m) => {
  if (m.open) {
    try {
      const db = new Database(m.file, { fileMustExist: true });
      db.pragma('busy_timeout = ' + workerData.restartWaitMs);
      db.pragma('synchronous = ' + m.sync);
      db.pragma('wal_autocheckpoint = 0');
      dbs.set(m.open, { db, holding: false, skip: 0, backoff: 0 });
      if (timer === null) timer = setTimeout(tick, workerData.periodMs);
    } catch (e) {
      parentPort.postMessage({ failed: m.open, message: String(e && e.message) });
    }
  } else if (m.held) {
    const c = dbs.get(m.held);
    if (!c) return parentPort.postMessage({ release: m.held });
    let done = false;
    try {
      // busy = 1: another connection kept the lock or an old snapshot past the wait.
      done = c.db.pragma('wal_checkpoint(RESTART)')[0].busy === 0;
    } catch (e) {
      if (!busy(e)) failed(m.held, e);
    }
    // Not again for a while after a failed one (a long read elsewhere): the hold costs the store.
    c.backoff = done ? 0 : Math.min(Math.max(1, c.backoff * 2), workerData.maxBackoff);
    c.skip = c.backoff;
    c.holding = false;
    parentPort.postMessage({ release: m.held });
  } else if (m.close) {
    drop(m.close);
    if (dbs.size === 0 && timer !== null) { clearTimeout(timer); timer = null; }
    parentPort.postMessage({ closed: m.close });
  }
});
`;

type Message = { failed: number; message: string } | { closed: number } | { hold: number } | { release: number };

/** What the worker asks of the store's connection. */
export interface CheckpointClient {
  /** Stop starting write transactions; resolves once none is open. */
  hold(): Promise<void>;
  /** Start them again. */
  release(): void;
  /** The worker cannot checkpoint this store any more: checkpoint on your own. */
  failed(): void;
}

/** One store file's registration with the worker. */
export interface CheckpointHandle {
  /** Stops checkpointing the file (resolves once the worker has closed its connection). */
  close(): Promise<void>;
}

class Checkpointer {
  private readonly worker: Worker;
  private next = 1;
  private readonly clients = new Map<number, CheckpointClient>();
  /** Stores whose writes are held for a RESTART, with the timer that releases them if the worker does not. */
  private readonly holds = new Map<number, NodeJS.Timeout>();
  private readonly closing = new Map<number, () => void>();
  private dead = false;

  constructor() {
    this.worker = new Worker(WORKER, {
      eval: true,
      workerData: {
        module: createRequire(import.meta.url).resolve('better-sqlite3'),
        periodMs: PERIOD_MS,
        restartFrames: RESTART_FRAMES,
        restartWaitMs: RESTART_WAIT_MS,
        maxBackoff: MAX_BACKOFF_PERIODS,
      },
    });
    this.worker.on('message', (m: Message) => {
      if ('hold' in m) this.hold(m.hold);
      else if ('release' in m) this.release(m.release);
      else if ('failed' in m) this.fail(m.failed, m.message);
      else this.closed(m.closed);
    });
    this.worker.on('error', (err) => this.die(err.message));
    this.worker.on('exit', (code) => this.die(`the checkpoint worker exited with code ${code}`));
    // After the listeners: a 'message' listener refs the worker's port again.
    this.worker.unref();
  }

  /** Only on the live worker: die() takes a dead one out of `shared`. */
  open(file: string, sync: 'normal' | 'full', client: CheckpointClient): CheckpointHandle {
    const id = this.next++;
    this.clients.set(id, client);
    this.worker.postMessage({ open: id, file, sync: sync === 'full' ? 'FULL' : 'NORMAL' });
    return {
      close: () => {
        this.release(id);
        this.clients.delete(id);
        if (this.dead) return Promise.resolve();
        return new Promise<void>((resolve) => {
          this.closing.set(id, resolve);
          // Kept alive until the worker answers (an unref'd worker would let the process exit first).
          this.worker.ref();
          this.worker.postMessage({ close: id });
        });
      },
    };
  }

  private hold(id: number): void {
    const c = this.clients.get(id);
    if (!c) return void this.worker.postMessage({ held: id });
    // Never held for long: a RESTART that hangs (another process's lock) is let go.
    this.holds.set(
      id,
      setTimeout(() => this.release(id), HOLD_LIMIT_MS),
    );
    void c.hold().then(() => this.worker.postMessage({ held: id }));
  }

  private release(id: number): void {
    const t = this.holds.get(id);
    if (t === undefined) return;
    clearTimeout(t);
    this.holds.delete(id);
    this.clients.get(id)?.release();
  }

  private fail(id: number, why: string): void {
    this.release(id);
    const c = this.clients.get(id);
    this.clients.delete(id);
    if (!c) return;
    warn(why);
    c.failed();
  }

  private closed(id: number): void {
    const r = this.closing.get(id);
    this.closing.delete(id);
    if (this.closing.size === 0) this.worker.unref();
    r?.();
  }

  /** The worker is gone: every store checkpoints for itself again. */
  private die(why: string): void {
    if (this.dead) return;
    this.dead = true;
    if (shared === this) shared = null;
    for (const id of [...this.clients.keys()]) this.fail(id, why);
    for (const id of [...this.closing.keys()]) this.closed(id);
  }
}

let shared: Checkpointer | null = null;

/** Said once per process on stderr: the store works, its commits pay for checkpoints again. */
let warned = false;
function warn(why: string): void {
  if (warned) return;
  warned = true;
  process.emitWarning(`SQLite checkpoints run in the store's own connection again: ${why}`, 'DtxSqliteCheckpoint');
}

/**
 * Checkpoints `file` off the event loop from now on, asking `client` to hold its writes for each
 * RESTART. `client.failed()` runs if that stops being possible (the caller then turns its own
 * connection's auto-checkpoints back down to SQLite's 1000 pages).
 */
export function checkpointInBackground(file: string, sync: 'normal' | 'full', client: CheckpointClient): CheckpointHandle {
  try {
    shared ??= new Checkpointer();
  } catch (err) {
    // No worker (better-sqlite3 not resolvable from here, threads refused): SQLite's own checkpoints.
    warn((err as Error).message);
    queueMicrotask(() => client.failed());
    return { close: () => Promise.resolve() };
  }
  return shared.open(file, sync, client);
}
