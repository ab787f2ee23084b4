// SQLite's checkpoints on a worker thread (sqlite-checkpointer.ts): what a store's file shows.
// Commits reach the database file within moments, not only once 1000 pages of WAL have piled up
// (SQLite's own rule, which the store's connection runs only far past that), and the WAL starts
// over instead of growing with everything written, also when writes leave the lock no pause.
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { connect, type SqlDriver } from '../src/drivers.ts';
import { OWN_CHECKPOINT_FRAMES, PERIOD_MS } from '../src/sqlite-checkpointer.ts';

const dir = mkdtempSync(join(tmpdir(), 'dtx-ckpt-'));
const size = (file: string) => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A new store file in `dir` with one table, t (id, v). */
async function store(name: string): Promise<{ file: string; d: SqlDriver }> {
  const file = join(dir, `${name}.sqlite`);
  const d = connect({ dialect: 'sqlite', url: file });
  await d.run('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
  return { file, d };
}

describe('SQLite checkpoints off the event loop', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('copies commits into the database file within moments, long before 1000 pages of WAL', async () => {
    const { file, d } = await store('soon');
    await sleep(PERIOD_MS * 3);
    const before = size(file);
    // About 100 pages of WAL: SQLite's own checkpoint would wait for 1000.
    for (let i = 0; i < 100; i++) await d.run('INSERT INTO t (v) VALUES (?)', ['x'.repeat(900)]);
    expect(size(`${file}-wal`)).toBeGreaterThan(100 * 1024);
    let after = size(file);
    for (let i = 0; i < 50 && after < before + 90 * 1024; i++) {
      await sleep(PERIOD_MS);
      after = size(file);
    }
    expect(after).toBeGreaterThanOrEqual(before + 90 * 1024);
    expect(await d.query('SELECT count(*) AS n FROM t')).toEqual([{ n: 100 }]);
    await d.close();
  });

  it('starts the WAL over under steady writes instead of letting it hold everything written', async () => {
    const { file, d } = await store('steady');
    // 30 commits of about 1 MB, a moment apart: 30 MB through a WAL that starts over at 8 MiB.
    let maxWal = 0;
    for (let b = 0; b < 30; b++) {
      await write(d, 1000, 1000);
      maxWal = Math.max(maxWal, size(`${file}-wal`));
      await sleep(PERIOD_MS / 2);
    }
    expect(size(file) + size(`${file}-wal`)).toBeGreaterThan(30e6);
    expect(maxWal).toBeLessThan(16e6);
    await d.close();
    expect(size(`${file}-wal`)).toBe(0);
  });

  it("keeps the WAL below the store's own checkpoint bound under a stream of small commits", async () => {
    const { file, d } = await store('stream');
    // The coordinator's pattern: commit after commit, the write lock free only in between, so a
    // PASSIVE checkpoint never lets the WAL start over by itself. Without the worker's hold and
    // RESTART the WAL grows to the store's own bound (OWN_CHECKPOINT_FRAMES pages, 34 MB here);
    // with them it stayed near 11 MB.
    // At most about 10,000 commits a second (a millisecond's pause every ten), the rate of a few
    // thousand sagas a second: faster, the WAL outgrows any bound between two periods.
    let maxWal = 0;
    for (let i = 0; i < 20_000; i++) {
      await d.run('INSERT INTO t (v) VALUES (?)', ['z'.repeat(1000)]);
      if (i % 10 === 9) await sleep(1);
      if (i % 200 === 0) maxWal = Math.max(maxWal, size(`${file}-wal`));
    }
    expect(size(file) + size(`${file}-wal`)).toBeGreaterThan(20e6);
    expect(maxWal).toBeLessThan(24e6);
    expect(maxWal).toBeLessThan(OWN_CHECKPOINT_FRAMES * (1024 + 24));
    await d.close();
  });

  it('keeps taking writes while another connection holds an old snapshot, and starts the WAL over once it is gone', async () => {
    const { file, d } = await store('reader');
    // A read transaction left open elsewhere (a slow query of the dashboard's, say): no RESTART can
    // finish while it lasts, and each attempt holds the store's writes for a moment.
    const reader = new Database(file);
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) AS n FROM t').get();
    for (let b = 0; b < 12; b++) {
      await write(d, 1000, 1000);
      await sleep(PERIOD_MS / 2);
    }
    expect(size(`${file}-wal`)).toBeGreaterThan(12e6);
    const seq = walSequence(file);
    reader.exec('COMMIT');
    reader.close();
    // Small writes from now on (far below the store's own checkpoint bound): only the worker can
    // let the WAL start over, which bumps the checkpoint sequence in its header.
    let rows = 12_000;
    for (let i = 0; i < 200 && walSequence(file) === seq; i++) {
      await write(d, 100, 1000);
      rows += 100;
      await sleep(PERIOD_MS / 2);
    }
    expect(walSequence(file)).toBeGreaterThan(seq);
    expect(await d.query('SELECT count(*) AS n FROM t')).toEqual([{ n: rows }]);
    await d.close();
  });

  it('keeps the WAL bounded when writes outrun the worker', async () => {
    const { file, d } = await store('bulk');
    // 150 MB as fast as SQLite takes it, the lock free only between two transactions: the worker
    // has the store hold its writes for a RESTART. How far the WAL gets depends on how fast the
    // machine writes against how often the worker runs (35-62 MB here, on a quiet and on a busy
    // machine); the point is that it starts over at all (without the hold the RESTART never got
    // the lock, and the WAL held all 150 MB in two runs of three).
    let maxWal = 0;
    for (let b = 0; b < 150; b++) {
      await write(d, 1000, 1000);
      maxWal = Math.max(maxWal, size(`${file}-wal`));
    }
    expect(size(file) + size(`${file}-wal`)).toBeGreaterThan(150e6);
    expect(maxWal).toBeLessThan(100e6);
    await d.close();
  });
});

/** The WAL header's checkpoint sequence number (bytes 12-15), which each restart of the WAL increments. */
function walSequence(file: string): number {
  const fd = openSync(`${file}-wal`, 'r');
  try {
    const b = Buffer.alloc(4);
    readSync(fd, b, 0, 4, 12);
    return b.readUInt32BE(0);
  } finally {
    closeSync(fd);
  }
}

/** One transaction of `rows` rows of `bytes` bytes each. */
function write(d: SqlDriver, rows: number, bytes: number): Promise<void> {
  return d.tx(async (c) => {
    for (let i = 0; i < rows; i++) await c.run('INSERT INTO t (v) VALUES (?)', ['y'.repeat(bytes)]);
  });
}
