// Applies prisma/migrations/<dialect>/*.sql in name order, recording each applied file in
// `_prisma_migrations` (Prisma's own bookkeeping shape, so Prisma tooling could take over later).
// Prisma's native schema engine is not needed: it cannot be downloaded on locked-down servers.
// Several instances may start at once: the whole run holds a database-wide lock.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SqlConn, SqlDriver } from './drivers.ts';
import type { Dialect } from './types.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
/**
 * prisma/migrations in the repository; in the release bundle (packages/release/build.mjs) the
 * folder is copied beside the bundled code as `migrations/`.
 */
export const MIGRATIONS_DIR = existsSync(join(HERE, 'migrations')) ? join(HERE, 'migrations') : join(HERE, '..', '..', '..', 'prisma', 'migrations');

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export function loadMigrations(dialect: Dialect, dir = MIGRATIONS_DIR): Migration[] {
  const folder = join(dir, dialect);
  return readdirSync(folder)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => {
      const sql = readFileSync(join(folder, f), 'utf8');
      return { name: f.replace(/\.sql$/, ''), sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

/**
 * Splits a migration file into statements: at each `;` outside a dollar-quoted body (`$$ ... $$`,
 * a PostgreSQL function's). Our files keep `;` out of literals and comments otherwise.
 */
export function splitStatements(sql: string): string[] {
  const text = sql
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .join('\n');
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    if (text.startsWith('$$', i)) {
      quoted = !quoted;
      i++;
    } else if (text[i] === ';' && !quoted) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out.map((s) => s.trim()).filter(Boolean);
}

const BOOKKEEPING: Record<Dialect, string> = {
  sqlite: `CREATE TABLE IF NOT EXISTS _prisma_migrations (id TEXT PRIMARY KEY NOT NULL, checksum TEXT NOT NULL,
    finished_at DATETIME, migration_name TEXT NOT NULL, logs TEXT, rolled_back_at DATETIME,
    started_at DATETIME NOT NULL DEFAULT current_timestamp, applied_steps_count INTEGER NOT NULL DEFAULT 0)`,
  postgres: `CREATE TABLE IF NOT EXISTS _prisma_migrations (id VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum VARCHAR(64) NOT NULL, finished_at TIMESTAMPTZ, migration_name VARCHAR(255) NOT NULL, logs TEXT,
    rolled_back_at TIMESTAMPTZ, started_at TIMESTAMPTZ NOT NULL DEFAULT now(), applied_steps_count INTEGER NOT NULL DEFAULT 0)`,
  mysql: `CREATE TABLE IF NOT EXISTS _prisma_migrations (id VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum VARCHAR(64) NOT NULL, finished_at DATETIME(3) NULL, migration_name VARCHAR(255) NOT NULL, logs TEXT NULL,
    rolled_back_at DATETIME(3) NULL, started_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    applied_steps_count INT UNSIGNED NOT NULL DEFAULT 0) DEFAULT CHARSET = utf8mb4`,
};

export interface MigrateResult {
  applied: string[];
  /** True when an existing dtm schema was adopted (instead of 0001_init). */
  adopted?: boolean;
}

const FIRST = '0001_init';

/**
 * dtm's own schema (trans_global, trans_branch_op, kv) in a database we never migrated: a team
 * replacing dtm's server with dtx and keeping its configuration. Adopting it keeps every row,
 * unfinished transactions included.
 */
async function hasDtmSchema(c: SqlConn, dialect: Dialect): Promise<boolean> {
  if (dialect === 'sqlite') return false; // dtm has no SQLite store
  const sql =
    dialect === 'postgres'
      ? `SELECT 1 AS ok FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'trans_global'`
      : `SELECT 1 AS ok FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'trans_global'`;
  return (await c.query(sql)).length > 0;
}

export async function migrate(driver: SqlDriver, migrations = loadMigrations(driver.dialect)): Promise<MigrateResult> {
  const applied: string[] = [];
  let adopted = false;
  const run = async (c: SqlConn) => {
    await c.run(BOOKKEEPING[driver.dialect]);
    const done = new Map(
      (await c.query('SELECT migration_name, checksum FROM _prisma_migrations WHERE finished_at IS NOT NULL')).map((r) => [
        String(r.migration_name),
        String(r.checksum),
      ]),
    );
    const first = migrations.find((m) => m.name === FIRST);
    if (done.size === 0 && first && (await hasDtmSchema(c, driver.dialect))) {
      const statements = splitStatements(readFileSync(join(MIGRATIONS_DIR, 'adopt', `${driver.dialect}.sql`), 'utf8'));
      for (const st of statements) await c.run(st);
      await c.run(
        'INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, logs, started_at, applied_steps_count) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [randomUUID(), first.checksum, new Date(), first.name, 'adopted an existing dtm schema', new Date(), statements.length],
      );
      done.set(first.name, first.checksum);
      adopted = true;
    }
    for (const m of migrations) {
      const known = done.get(m.name);
      if (known !== undefined) {
        if (known !== m.checksum) {
          throw new Error(`migration ${m.name} was changed after it was applied (checksum mismatch)`);
        }
        continue;
      }
      const statements = splitStatements(m.sql);
      for (const s of statements) await c.run(s);
      await c.run(
        'INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, started_at, applied_steps_count) VALUES (?, ?, ?, ?, ?, ?)',
        [randomUUID(), m.checksum, new Date(), m.name, new Date(), statements.length],
      );
      applied.push(m.name);
    }
  };

  switch (driver.dialect) {
    case 'sqlite':
      // BEGIN IMMEDIATE serialises concurrent starters; SQLite DDL is transactional.
      await driver.tx(run);
      break;
    case 'postgres':
      // DDL is transactional; the advisory lock keeps a second starter waiting until we commit.
      await driver.tx(async (c) => {
        await c.query('SELECT pg_advisory_xact_lock(36789001)');
        await run(c);
      });
      break;
    case 'mysql':
      // MySQL commits DDL implicitly, so a named lock (not a transaction) keeps starters apart.
      await driver.tx(async (c) => {
        const got = await c.query(`SELECT GET_LOCK('dtx_migrate', 120) AS ok`);
        if (Number(got[0]?.ok) !== 1) throw new Error('could not take the migration lock within 120s');
        try {
          await run(c);
        } finally {
          await c.query(`SELECT RELEASE_LOCK('dtx_migrate')`);
        }
      });
      break;
  }
  return { applied, adopted };
}
