// The stores a storage-dependent test runs against, each in a fresh database of its own.
// DTX_TEST_STORES picks them (default: all three); PostgreSQL and MariaDB come from
// DTX_TEST_PG_URL / DTX_TEST_MYSQL_URL, which scripts/test-all.mjs sets after starting them.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type StoreConfig } from '@dtx/db';

export type StoreName = 'sqlite' | 'postgres' | 'mysql';

export function testStores(): StoreName[] {
  const names = (process.env.DTX_TEST_STORES ?? 'sqlite,postgres,mysql')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names) {
    if (!['sqlite', 'postgres', 'mysql'].includes(n)) throw new Error(`DTX_TEST_STORES: unknown store ${n}`);
  }
  return names as StoreName[];
}

function requiredUrl(name: string): URL {
  const v = process.env[name];
  if (!v) {
    throw new Error(`${name} is not set: run the tests with \`pnpm test\` (it starts the databases), or set DTX_TEST_STORES=sqlite`);
  }
  return new URL(v);
}

/** A StoreConfig for a brand-new, empty database on the given store. */
export async function freshStore(name: StoreName, label = 'test'): Promise<StoreConfig> {
  const db = `dtx_${label}_${randomBytes(4).toString('hex')}`.toLowerCase();
  if (name === 'sqlite') {
    const dir = join(tmpdir(), 'dtx-tests');
    mkdirSync(dir, { recursive: true });
    return { driver: 'sqlite', host: '', port: 0, user: '', password: '', db: join(dir, `${db}.sqlite`), schema: 'public', maxOpenConns: 1 };
  }
  const u = requiredUrl(name === 'postgres' ? 'DTX_TEST_PG_URL' : 'DTX_TEST_MYSQL_URL');
  const config: StoreConfig = {
    driver: name,
    host: u.hostname,
    port: Number(u.port),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    db,
    schema: 'public',
    maxOpenConns: 20,
  };
  const admin = connect({ dialect: name, url: u.toString(), poolSize: 1 });
  try {
    await admin.run(name === 'postgres' ? `CREATE DATABASE "${db}"` : `CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4`);
  } finally {
    await admin.close();
  }
  return config;
}

/** Environment variables that point a coordinator process at a store config. */
export function storeEnv(c: StoreConfig): Record<string, string> {
  return {
    STORE_DRIVER: c.driver,
    STORE_HOST: c.host,
    STORE_PORT: String(c.port || ''),
    STORE_USER: c.user,
    STORE_PASSWORD: c.password,
    STORE_DB: c.db,
  };
}
