// The partial indexes of migration 0025 (docs/operations.md, "Indexes and the cost of a
// transaction") hold only the rows a query by them can match. A planner uses such an index only
// when it can prove the query implies the index's condition, so each query shape that needs one is
// planned here, on a real database, with the store's own SQL (recorded from its driver calls) where
// the store writes it. MySQL has no partial indexes: there the indexes stay whole.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, SqlStore, type Database, type SqlDriver } from '@dtx/db';
import { globalRow } from '../../../tests/support/rows.ts';
import { freshStore, testStores, type StoreName } from '../../../tests/support/stores.ts';

type Sent = { sql: string; params: unknown[] };

/** The driver, with every query and run it is asked for recorded. */
function recording(driver: SqlDriver, sent: Sent[]): SqlDriver {
  return new Proxy(driver, {
    get(target, key) {
      const v = Reflect.get(target, key, target) as unknown;
      if (key === 'query' || key === 'run') {
        return (sql: string, params: unknown[] = [], ...rest: unknown[]) => {
          sent.push({ sql, params });
          return (v as (...a: unknown[]) => unknown).call(target, sql, params, ...rest);
        };
      }
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

const stores = testStores().filter((s): s is Exclude<StoreName, 'mysql'> => s !== 'mysql');

describe.skipIf(stores.length === 0).each(stores)('partial indexes on %s', (storeName) => {
  let db: Database;
  let prepared = 0;

  beforeAll(async () => {
    db = await openDatabase(await freshStore(storeName, 'pidx'));
  });
  afterAll(async () => {
    await db?.close();
  });

  /**
   * The plan of a statement as text. On PostgreSQL the generic plan, the one a named statement
   * runs with after its first executions, valid for any parameter values (a plan made for the
   * values at hand can prove more from them), with sequential scans priced out so that an index
   * that can serve is used.
   */
  async function plan(sql: string, params: unknown[]): Promise<string> {
    if (storeName === 'sqlite') {
      return (await db.driver.query(`EXPLAIN QUERY PLAN ${sql}`, params)).map((r) => String(r.detail)).join('\n');
    }
    let n = 0;
    const numbered = sql.replace(/\?/g, () => `$${++n}`);
    const literal = (v: unknown) =>
      typeof v === 'number' ? String(v) : `'${(v instanceof Date ? v.toISOString() : String(v)).replace(/'/g, "''")}'`;
    return db.driver.tx(async (c) => {
      await c.run('SET LOCAL enable_seqscan = off');
      await c.run('SET LOCAL plan_cache_mode = force_generic_plan');
      const name = `pidx_${++prepared}`;
      await c.run(`PREPARE ${name} AS ${numbered}`);
      const rows = await c.query(`EXPLAIN EXECUTE ${name}${params.length ? `(${params.map(literal).join(', ')})` : ''}`);
      await c.run(`DEALLOCATE ${name}`);
      return rows.map((r) => String(r['QUERY PLAN'])).join('\n');
    });
  }

  it('the lease renewal reads the owner index, which holds leased rows only', async () => {
    const sent: Sent[] = [];
    const store = new SqlStore(recording(db.driver, sent));
    const gid = `pidx-${Date.now()}`;
    await store.insertTrans(globalRow(gid, new Date(Date.now() - 1000)), [], new Date());
    const claimed = await store.claimDue('pidx:1', new Date(), 10_000, new Date(Date.now() + 10_000), 10);
    expect(claimed.map((r) => r.gid)).toContain(gid);
    expect(await store.renewLeases(['pidx:1'], 20_000)).toEqual([{ gid, owner: 'pidx:1' }]);

    // The renewal (UPDATE ... RETURNING here; the claim's read by owner is MySQL's path only)
    const byOwner = sent.filter((s) => /WHERE owner (=|IN)/.test(s.sql));
    expect(byOwner.map((s) => s.sql.slice(0, 39))).toEqual(['UPDATE trans_global SET lease_expire = ']);
    for (const s of byOwner)
      expect(await plan(s.sql, s.params), s.sql).toMatch(
        storeName === 'sqlite' ? /USING (COVERING )?INDEX owner\b/ : /(Index|Bitmap Index) Scan using owner\b/,
      );
  });

  it('the migrations build them with their conditions', async () => {
    const rows =
      storeName === 'sqlite'
        ? await db.driver.query(`SELECT name, sql AS def FROM sqlite_master WHERE type = 'index' AND tbl_name = 'trans_global'`)
        : await db.driver.query(
            `SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE tablename = 'trans_global' AND schemaname = current_schema()`,
          );
    const condition = (name: string) => {
      const found = rows.find((r) => r.name === name)?.def;
      const def = typeof found === 'string' ? found : '';
      return def.includes(' WHERE ') ? def.slice(def.indexOf(' WHERE ') + 7).replace(/[()]|::text/g, '') : 'none';
    };
    expect(condition('owner')).toBe("owner <> ''");
    expect(condition('trans_global_status_fail_since')).toBe('fail_since IS NOT NULL');
    expect(condition('trans_global_status_ongoing_since')).toBe('ongoing_since IS NOT NULL');
    expect(condition('trans_global_rollback_time')).toBe('rollback_time IS NOT NULL');
    // the scheduler's and the lists' indexes stay whole
    expect(condition('status_next_cron_time')).toBe('none');
    expect(condition('trans_global_status_id')).toBe('none');
  });

  it('retention and the stuck view still read their indexes through conditions that imply the partial ones', async () => {
    // retention.ts: the oldest failed transaction
    expect(
      await plan('SELECT COUNT(rollback_time) AS n, MIN(rollback_time) AS oldest FROM trans_global WHERE rollback_time IS NOT NULL', []),
    ).toMatch(/trans_global_rollback_time/);
    // the finished-range filter and the per-minute counts compare rollback_time
    expect(await plan('SELECT id FROM trans_global WHERE rollback_time >= ? AND rollback_time < ?', [new Date(0), new Date()])).toMatch(
      /trans_global_rollback_time/,
    );
    // filters.ts stuckWhere: unfinished and failing (or ongoing) since before a time, status bound as parameters as Prisma does
    const unfinished = ['prepared', 'submitted', 'aborting'];
    expect(await plan('SELECT id FROM trans_global WHERE status IN (?, ?, ?) AND fail_since < ?', [...unfinished, new Date()])).toMatch(
      /trans_global_status_fail_since/,
    );
    expect(await plan('SELECT id FROM trans_global WHERE status IN (?, ?, ?) AND ongoing_since < ?', [...unfinished, new Date()])).toMatch(
      /trans_global_status_ongoing_since/,
    );
  });
});
