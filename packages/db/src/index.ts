// Storage for the coordinator: opens the configured database (SQLite file, PostgreSQL or
// MySQL/MariaDB), creates it if needed, applies pending migrations and returns the store port.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { StoreConfig } from '@dtx/config';
import { connect, WaitingDriver, type SqlDriver } from './drivers.ts';
import { migrate, type MigrateResult } from './migrate.ts';
import { createPrisma, type PrismaClient } from './prisma.ts';
import { SqlStore } from './sql-store.ts';

export * from './types.ts';
export { SqlStore, toGlobal, toBranch } from './sql-store.ts';
export { connect, type SqlDriver, type SqlConn } from './drivers.ts';
export { withStoreWait, limitStoreWait, BACKGROUND_WAIT_MS, STALL_MS } from './store-wait.ts';
import { withStoreWait } from './store-wait.ts';
import type { StoreWait } from './types.ts';
export { migrate, loadMigrations, splitStatements, type MigrateResult } from './migrate.ts';
export { createPrisma, type PrismaClient } from './prisma.ts';
export { appendAudit, type AuditEntry } from './audit.ts';

// Defined with the configuration, which sits below this package; re-exported under the old name.
export type { StoreConfig } from '@dtx/config';

/** The URL (or file path for SQLite) a store config points at. */
export function storeUrl(c: StoreConfig, db = c.db): string {
  if (c.driver === 'sqlite') return resolve(db);
  const auth = `${encodeURIComponent(c.user)}${c.password ? `:${encodeURIComponent(c.password)}` : ''}@`;
  const scheme = c.driver === 'postgres' ? 'postgres' : 'mysql';
  return `${scheme}://${auth}${c.host}:${c.port}/${encodeURIComponent(db)}`;
}

/** Creates the database (not the tables) when the server may do so and it is missing. */
async function ensureDatabase(c: StoreConfig, wait: StoreWait): Promise<void> {
  if (c.driver === 'sqlite') {
    mkdirSync(dirname(resolve(c.db)), { recursive: true });
    return;
  }
  if (!/^[A-Za-z0-9_$-]+$/.test(c.db)) return; // unusual names: the operator creates them
  const admin = connect({ dialect: c.driver, url: storeUrl(c, c.driver === 'postgres' ? 'postgres' : ''), poolSize: 1 });
  try {
    if (c.driver === 'postgres') {
      const rows = await admin.query('SELECT 1 FROM pg_database WHERE datname = ?', [c.db], wait);
      if (rows.length === 0) await admin.run(`CREATE DATABASE "${c.db}"`, [], wait);
    } else {
      await admin.run(`CREATE DATABASE IF NOT EXISTS \`${c.db}\` CHARACTER SET utf8mb4`, [], wait);
    }
  } catch {
    // No right to create databases, or a race with another instance: connecting will tell.
  } finally {
    await admin.close().catch(() => undefined);
  }
}

export interface Database {
  store: SqlStore;
  driver: SqlDriver;
  config: StoreConfig;
  /** What the start-up migration did (undefined when migrations were not run). */
  migration?: MigrateResult;
  /** Lazily created Prisma client over the same database. */
  prisma(): Promise<PrismaClient>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Apply pending migrations (default true). */
  migrate?: boolean;
  /** Create the database if missing (default true). */
  create?: boolean;
}

export function openDatabase(config: StoreConfig, opts: OpenOptions = {}): Promise<Database> {
  // At start-up nobody waits for us: an unreachable server fails the attempt within a second
  // (the coordinator's start-up loop retries it, app.ts).
  return withStoreWait(OPEN_WAIT_MS, (wait) => open(config, opts, wait));
}

const OPEN_WAIT_MS = 1000;

async function open(config: StoreConfig, opts: OpenOptions, wait: StoreWait): Promise<Database> {
  if (opts.create !== false) await ensureDatabase(config, wait);
  const driver = connect({
    dialect: config.driver,
    url: storeUrl(config),
    poolSize: config.maxOpenConns,
    schema: config.schema,
    sqliteSync: config.sqliteSync,
  });
  let migration: MigrateResult | undefined;
  try {
    if (opts.migrate !== false) migration = await migrate(new WaitingDriver(driver, wait));
  } catch (err) {
    await driver.close().catch(() => undefined);
    throw err;
  }
  let prisma: Promise<PrismaClient> | undefined;
  return {
    store: new SqlStore(driver),
    driver,
    config,
    migration,
    prisma: () => (prisma ??= createPrisma({ dialect: config.driver, url: storeUrl(config), schema: config.schema })),
    close: async () => {
      if (prisma) await (await prisma).$disconnect().catch(() => undefined);
      await driver.close();
    },
  };
}

// The dashboard's aggregate reads that Prisma cannot express (everything else it reads through Prisma).
export { countPerMinute, type PerMinuteColumn } from './dashboard/per-minute.ts';
export { endpointStats, LATENCY_BOUNDS_MS, type EndpointStats } from './dashboard/endpoints.ts';
export { deliveriesByUrl, type UrlDeliveries } from './dashboard/deliveries.ts';
export type { AttemptError } from './dashboard/attempt-errors.ts';
export { adoptedFromDtm } from './retention.ts';
export { takeLoginAttempt, clearLoginAttempts, returnLoginAttempt, pruneLoginAttempts, type Attempt } from './dashboard/login-limit.ts';
