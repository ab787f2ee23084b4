// PostgreSQL's group-commit batches run as the functions of migration 0026_batch_functions
// (pg-batch.ts). PL/pgSQL plans a function's statement once per session and keeps that plan, so
// the plan made on a new database's empty tables is the one still used once they hold thousands
// of rows: it must join the batch's rows to the tables through their indexes. auto_explain shows
// the plans a function's statements actually ran with, as notices on the calling connection.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, storeUrl, type Database, type SqlDriver } from '@dtx/db';
import { changeStatusMany, insertMany, type InsertMember } from '../src/pg-batch.ts';
import { globalRow } from '../../../tests/support/rows.ts';
import { freshStore, testStores } from '../../../tests/support/stores.ts';

describe.skipIf(!testStores().includes('postgres'))('PostgreSQL batch functions', () => {
  let db: Database;
  let client: pg.Client;
  const notices: string[] = [];

  /** The store's batch statements, sent on our own connection (the one auto_explain reports on). */
  const driver = {
    dialect: 'postgres',
    query: async (sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> => {
      let n = 0;
      const text = sql.replace(/\?/g, () => `$${++n}`);
      const result = await client.query<Record<string, unknown>>(text, params);
      return result.rows;
    },
  } as unknown as SqlDriver;

  beforeAll(async () => {
    const config = await freshStore('postgres', 'bplan');
    db = await openDatabase(config);
    client = new pg.Client({ connectionString: storeUrl(config) });
    await client.connect();
    client.on('notice', (n) => notices.push(n.message ?? ''));
    await client.query(`LOAD 'auto_explain'`);
    await client.query('SET auto_explain.log_min_duration = 0');
    await client.query('SET auto_explain.log_nested_statements = on');
    await client.query(`SET auto_explain.log_level = 'notice'`);
  });
  afterAll(async () => {
    await client?.end();
    await db?.close();
  });

  const members = (gids: string[], now: Date): InsertMember[] =>
    gids.map((gid) => ({
      g: globalRow(gid, now, { owner: 'o:1', leaseMs: 10_000 }),
      branches: ['compensate', 'action'].map((op) => ({
        gid,
        url: 'http://127.0.0.1:1/x',
        binData: Buffer.from('{}'),
        branchId: '01',
        op,
        status: 'prepared' as const,
      })),
      now,
    }));

  /** One batch of inserts and one of status changes; the plans their functions' statements ran with. */
  async function batches(prefix: string): Promise<{ insert: string; status: string }> {
    const gids = [1, 2, 3].map((i) => `${prefix}-${i}`);
    const now = new Date();
    notices.length = 0;
    expect(await insertMany(driver, members(gids, now), undefined)).toEqual([true, true, true]);
    const insert = notices.find((m) => m.includes('Insert on trans_global')) ?? '';
    notices.length = 0;
    const changes = gids.map((gid, i) => ({
      gid,
      from: 'submitted' as const,
      to: 'succeed' as const,
      now,
      change: { owner: i === 2 ? 'someone else' : 'o:1', release: true, branches: [{ branchId: '01', op: 'action', status: 'succeed' as const }] },
    }));
    expect(await changeStatusMany(driver, changes, undefined)).toEqual([true, true, false]);
    const status = notices.find((m) => m.includes('Update on trans_global')) ?? '';
    const rows = await client.query('SELECT gid, status, owner FROM trans_global WHERE gid = ANY($1) ORDER BY gid', [gids]);
    expect(rows.rows).toEqual([
      { gid: gids[0], status: 'succeed', owner: '' },
      { gid: gids[1], status: 'succeed', owner: '' },
      { gid: gids[2], status: 'submitted', owner: 'o:1' },
    ]);
    const branches = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM trans_branch_op WHERE gid = ANY($1) AND op = 'action' AND status = 'succeed'`,
      [gids],
    );
    expect(branches.rows[0]?.n).toBe(3); // branch results are facts, whatever the compare-and-set did
    return { insert, status };
  }

  it('join the batch to the tables through their indexes, planned on empty tables and still once they have grown', async () => {
    const early = await batches('empty');
    // the tables grow under the plan made above (no ANALYZE in between that would replace it)
    await client.query(`INSERT INTO trans_global (gid, trans_type, status, query_prepared, protocol, create_time, update_time,
        options, custom_data, next_cron_interval, next_cron_time, owner, ext_data, result, rollback_reason, retry_count, last_error)
      SELECT 'bulk-' || i, 'saga', 'succeed', '', 'http', now(), now(), '{}', '', 10, now(), '', '', '', '', 0, ''
      FROM generate_series(1, 5000) AS i`);
    await client.query(`INSERT INTO trans_branch_op (gid, url, bin_data, branch_id, op, status, create_time, update_time)
      SELECT 'bulk-' || i, 'http://127.0.0.1:1/x', NULL, '01', 'action', 'succeed', now(), now() FROM generate_series(1, 5000) AS i`);
    const grown = await batches('grown');
    for (const { insert, status } of [early, grown]) {
      expect(insert).toContain('Conflict Arbiter Indexes');
      expect(status).toMatch(/Index Scan using \S+ on trans_global/);
      expect(status).toMatch(/Index Scan using \S+ on trans_branch_op/);
      for (const plan of [insert, status]) {
        expect(plan).not.toContain('Seq Scan');
        expect(plan).not.toMatch(/Hash Join|Merge Join/);
      }
    }
  });
});
