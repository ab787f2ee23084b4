// Retention's statements (the store port's deleteFinished, trimAttempts, finishedStats). Each
// call does a bounded amount of work: a batch of ids picked through an index, then deletes by
// those ids, so a run on a table of millions of finished rows never holds locks for long.
import type { SqlDriver } from './drivers.ts';
import { placeholders } from './values.ts';

const num = (v: unknown) => Number(v ?? 0);

/** Finished transactions: succeed ones by finish_time, failed ones by rollback_time (both indexed). */
async function finishedBefore(driver: SqlDriver, before: Date, limit: number): Promise<{ id: number; gid: string }[]> {
  const pick = (status: string, column: string) =>
    driver.query(`SELECT id, gid FROM trans_global WHERE ${column} < ? AND status = '${status}' ORDER BY ${column} LIMIT ?`, [before, limit]);
  const rows = [...(await pick('succeed', 'finish_time')), ...(await pick('failed', 'rollback_time'))];
  return rows.slice(0, limit).map((r) => ({ id: num(r.id), gid: String(r.gid) }));
}

export async function deleteFinished(driver: SqlDriver, before: Date, limit: number): Promise<number> {
  const rows = await finishedBefore(driver, before, limit);
  if (rows.length === 0) return 0;
  const gids = rows.map((r) => r.gid);
  const ids = rows.map((r) => r.id);
  const list = (n: number) => Array.from({ length: n }, () => '?').join(', ');
  // READ COMMITTED: record locks only (no gap locks on MySQL that would block inserts nearby).
  return driver.tx(
    async (c) => {
      await c.run(`DELETE FROM branch_attempt WHERE gid IN (${list(gids.length)})`, gids);
      await c.run(`DELETE FROM trans_branch_op WHERE gid IN (${list(gids.length)})`, gids);
      return c.run(`DELETE FROM trans_global WHERE id IN (${list(ids.length)}) AND status IN ('succeed', 'failed')`, ids);
    },
    { isolation: 'read committed' },
  );
}

export async function trimAttempts(driver: SqlDriver, afterId: number, scan: number, keep: number): Promise<{ deleted: number; lastId: number }> {
  const globals = await driver.query(
    `SELECT id, gid FROM trans_global WHERE id > ? AND status IN ('prepared', 'submitted', 'aborting') ORDER BY id LIMIT ?`,
    [afterId, scan],
  );
  if (globals.length === 0) return { deleted: 0, lastId: 0 };
  const lastId = num(globals[globals.length - 1]?.id);
  const gids = globals.map((g) => String(g.gid));
  const counts = await driver.query(
    `SELECT gid, COUNT(*) AS n, MIN(id) AS first FROM branch_attempt WHERE gid IN ${placeholders(gids.length)} GROUP BY gid`,
    gids,
  );
  let deleted = 0;
  for (const c of counts) {
    if (num(c.n) <= keep) continue;
    const gid = String(c.gid);
    // The oldest of the newest keep - 1 rows: everything older but the first goes.
    const cut = await driver.query('SELECT id FROM branch_attempt WHERE gid = ? ORDER BY id DESC LIMIT 1 OFFSET ?', [gid, keep - 2]);
    if (cut.length === 0) continue;
    deleted += await driver.run('DELETE FROM branch_attempt WHERE gid = ? AND id > ? AND id < ?', [gid, num(c.first), num(cut[0]?.id)]);
  }
  return { deleted, lastId };
}

/** finish_time is set only on succeed and rollback_time only on failed: each index alone answers. */
export async function finishedStats(driver: SqlDriver): Promise<{ count: number; oldest: Date | null }> {
  const stat = async (column: string) => {
    const [r] = await driver.query(`SELECT COUNT(${column}) AS n, MIN(${column}) AS oldest FROM trans_global WHERE ${column} IS NOT NULL`);
    return { n: num(r?.n), oldest: toDate(r?.oldest) };
  };
  const [succeeded, failed] = await Promise.all([stat('finish_time'), stat('rollback_time')]);
  const oldest = [succeeded.oldest, failed.oldest].filter((d): d is Date => d !== null).sort((a, b) => a.getTime() - b.getTime())[0];
  return { count: succeeded.n + failed.n, oldest: oldest ?? null };
}

/** An aggregate's time as a Date (SQLite returns its epoch milliseconds, the others a Date). */
function toDate(v: unknown): Date | null {
  if (v === null || v === undefined) return null;
  return v instanceof Date ? v : new Date(typeof v === 'number' || typeof v === 'string' ? v : NaN);
}

/** Whether this database's schema was adopted from a dtm server (migrate.ts records it so). */
export async function adoptedFromDtm(driver: SqlDriver): Promise<boolean> {
  const rows = await driver.query("SELECT 1 AS x FROM _prisma_migrations WHERE logs = 'adopted an existing dtm schema'");
  return rows.length > 0;
}
