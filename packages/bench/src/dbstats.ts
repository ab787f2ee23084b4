// Database-side counters sampled before and after a run, to count statements, commits and log
// flushes per saga. PostgreSQL: pg_stat_database for the run's database plus pg_stat_wal
// (server-wide). MariaDB/MySQL: SHOW GLOBAL STATUS (server-wide: nothing else should run).
import { connect, type SqlDriver } from '@dtx/db';

export type Counters = Record<string, number>;

const MYSQL_VARS = [
  'Questions',
  'Com_select',
  'Com_insert',
  'Com_update',
  'Com_delete',
  'Com_begin',
  'Com_commit',
  'Com_rollback',
  'Handler_commit',
  'Innodb_os_log_fsyncs',
  'Innodb_data_fsyncs',
  'Innodb_rows_inserted',
  'Innodb_rows_updated',
  'Innodb_rows_read',
  'Bytes_received',
  'Bytes_sent',
  'Innodb_deadlocks',
];

export class DbStats {
  private constructor(
    readonly dialect: 'postgres' | 'mysql',
    private readonly admin: SqlDriver,
  ) {}

  static open(dialect: 'postgres' | 'mysql', adminUrl: string): DbStats {
    return new DbStats(dialect, connect({ dialect, url: adminUrl, poolSize: 1 }));
  }

  /** Counters now; `db` is the PostgreSQL database to look at. */
  async sample(db: string): Promise<Counters> {
    const out: Counters = {};
    if (this.dialect === 'postgres') {
      await this.admin.query('SELECT pg_stat_clear_snapshot()');
      const rows = await this.admin.query(
        'SELECT xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted, tup_updated, tup_deleted, ' +
          'blks_read, blks_hit FROM pg_stat_database WHERE datname = ?',
        [db],
      );
      for (const [k, v] of Object.entries(rows[0] ?? {})) out[k] = Number(v);
      const wal = await this.admin.query('SELECT wal_records, wal_bytes, wal_write, wal_sync FROM pg_stat_wal');
      for (const [k, v] of Object.entries(wal[0] ?? {})) out[k] = Number(v);
    } else {
      const rows = await this.admin.query(`SHOW GLOBAL STATUS WHERE Variable_name IN (${MYSQL_VARS.map(() => '?').join(', ')})`, MYSQL_VARS);
      for (const r of rows) out[String(r.Variable_name)] = Number(r.Value);
    }
    return out;
  }

  async settings(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    if (this.dialect === 'postgres') {
      const rows = await this.admin.query(
        `SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method', ` +
          `'shared_buffers', 'commit_delay', 'max_connections')`,
      );
      for (const r of rows) out[String(r.name)] = String(r.setting);
      const version = (await this.admin.query('SHOW server_version'))[0]?.server_version;
      out.version = typeof version === 'string' ? version : '';
    } else {
      const rows = await this.admin.query(
        `SHOW GLOBAL VARIABLES WHERE Variable_name IN ('innodb_flush_log_at_trx_commit', 'sync_binlog', 'log_bin', ` +
          `'innodb_buffer_pool_size', 'innodb_flush_method', 'max_connections', 'version')`,
      );
      for (const r of rows) out[String(r.Variable_name)] = String(r.Value);
    }
    return out;
  }

  /**
   * Idle round-trip latency of one single-row autocommit UPDATE on a durable (logged) table: the
   * floor under every commit. Temporary tables would skip the log flush, so a scratch table (in a
   * scratch database on MariaDB) is created and dropped.
   */
  async commitLatency(n = 300): Promise<{ p50: number; p99: number }> {
    const table = this.dialect === 'postgres' ? 'dtx_bench_probe' : 'dtx_bench_probe.probe';
    if (this.dialect === 'mysql') await this.admin.run('CREATE DATABASE IF NOT EXISTS dtx_bench_probe');
    await this.admin.run(`DROP TABLE IF EXISTS ${table}`);
    await this.admin.run(`CREATE TABLE ${table} (id int PRIMARY KEY, v int)`);
    const lat: number[] = [];
    try {
      await this.admin.run(`INSERT INTO ${table} (id, v) VALUES (1, 0)`);
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await this.admin.run(`UPDATE ${table} SET v = v + 1 WHERE id = 1`);
        lat.push(performance.now() - t0);
      }
    } finally {
      if (this.dialect === 'mysql') await this.admin.run('DROP DATABASE IF EXISTS dtx_bench_probe');
      else await this.admin.run(`DROP TABLE IF EXISTS ${table}`);
    }
    lat.sort((a, b) => a - b);
    return { p50: lat[Math.floor(n * 0.5)] ?? NaN, p99: lat[Math.floor(n * 0.99)] ?? NaN };
  }

  async dropDatabase(db: string): Promise<void> {
    if (this.dialect === 'postgres') await this.admin.run(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
    else await this.admin.run(`DROP DATABASE IF EXISTS \`${db}\``);
  }

  close(): Promise<void> {
    return this.admin.close();
  }
}

export function diff(before: Counters, after: Counters): Counters {
  const out: Counters = {};
  for (const [k, v] of Object.entries(after)) out[k] = v - (before[k] ?? 0);
  return out;
}
