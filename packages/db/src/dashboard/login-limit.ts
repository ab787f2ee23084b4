// Login attempt counters of the dashboard (docs/security.md, "Dashboard"), in the `login_limit`
// table: one fixed window per key (a username or a remote address), shared by every dashboard
// instance on the database. Taking an attempt is one atomic upsert that returns the new count, so
// concurrent attempts are all counted and at most `limit` of them see a count within the limit.
//
// Hand-written rather than rate-limiter-flexible (which the project tried first): its SQL stores
// do not fit our drivers (its MySQL store needs the mysql/mysql2 client, its SQLite store would
// write on the better-sqlite3 handle behind our group commit), and its Prisma store, which works
// on all three, costs two commits per attempt on Prisma's own SQLite connection, which competes
// with the coordinator's connection for SQLite's one write lock (a 200-login burst took over a
// minute and pushed the p99 of concurrent submits past 300 ms), and on MySQL Prisma's emulated
// upsert fails the losers of a first-insert race. Here an attempt is one statement in the store's
// own transaction (one group commit on SQLite).
import type { SqlDriver } from '../drivers.ts';

export interface Attempt {
  /** Attempts in the current window, this one included. */
  count: number;
  /** When the window ends (epoch ms). */
  resetsAt: number;
}

const toMs = (v: unknown): number => (v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : Number(v));

/** Counts one attempt for `key`; a window that has ended starts again at 1. */
export async function takeLoginAttempt(driver: SqlDriver, key: string, windowMs: number, now = new Date()): Promise<Attempt> {
  const resets = new Date(now.getTime() + windowMs);
  const row = await driver.tx(async (c) => {
    if (driver.dialect === 'mysql') {
      // the assignments run left to right: `points` is decided on the old expire_at
      await c.run(
        `INSERT INTO login_limit (limit_key, points, expire_at) VALUES (?, 1, ?)
         ON DUPLICATE KEY UPDATE points = IF(expire_at <= ?, 1, points + 1), expire_at = IF(expire_at <= ?, ?, expire_at)`,
        [key, resets, now, now, resets],
      );
      return (await c.query('SELECT points, expire_at FROM login_limit WHERE limit_key = ?', [key]))[0];
    }
    const rows = await c.query(
      `INSERT INTO login_limit (limit_key, points, expire_at) VALUES (?, 1, ?)
       ON CONFLICT (limit_key) DO UPDATE SET
         points = CASE WHEN login_limit.expire_at <= ? THEN 1 ELSE login_limit.points + 1 END,
         expire_at = CASE WHEN login_limit.expire_at <= ? THEN ? ELSE login_limit.expire_at END
       RETURNING points, expire_at`,
      [key, resets, now, now, resets],
    );
    return rows[0];
  });
  if (!row) throw new Error(`login_limit: no row for ${key} after the upsert`);
  return { count: Number(row.points), resetsAt: toMs(row.expire_at) };
}

/** Forgets a key's attempts (a successful login for that username). */
export async function clearLoginAttempts(driver: SqlDriver, key: string): Promise<void> {
  await driver.run('DELETE FROM login_limit WHERE limit_key = ?', [key]);
}

/** Gives one attempt back (a successful login from that address is not held against it). */
export async function returnLoginAttempt(driver: SqlDriver, key: string): Promise<void> {
  await driver.run('UPDATE login_limit SET points = points - 1 WHERE limit_key = ? AND points > 0', [key]);
}

/** Deletes the counters whose window ended before `before`. */
export async function pruneLoginAttempts(driver: SqlDriver, before: Date): Promise<number> {
  return driver.run('DELETE FROM login_limit WHERE expire_at < ?', [before]);
}
