// Test support of @dtx/client: a coordinator (dtx in-process on a store, or whatever
// DTX_CLIENT_TEST_URL points at, e.g. a dtm you run), fresh business databases on PostgreSQL and
// MariaDB with the barrier table, and Prisma clients on them. Only the tests use the repo's
// coordinator; the package itself imports nothing from it.
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { createPrisma, type PrismaClient } from '@dtx/db';
import type { Coordinator } from '@dtx/coordinator';
import { startInProcess } from '../../../tests/support/coordinator.ts';
import { freshStore, testStores } from '../../../tests/support/stores.ts';
import { barrierDdl } from '../src/index.ts';

export { eventually } from '../../../tests/support/branches.ts';

/**
 * The business databases (PostgreSQL and MariaDB) are configured: `pnpm test` and
 * `scripts/services.mjs env` set both URLs. Without them (e.g. `DTX_TEST_STORES=sqlite` with no
 * databases started) the suites that need them are skipped, not failed.
 */
export const businessDatabases = Boolean(process.env.DTX_TEST_PG_URL && process.env.DTX_TEST_MYSQL_URL);

/** Coordinators the suite runs against: DTX_CLIENT_TEST_URL alone if set, else dtx on SQLite and PostgreSQL. */
export function coordinatorTargets(): string[] {
  if (process.env.DTX_CLIENT_TEST_URL) return ['external'];
  return testStores().filter((s) => s !== 'mysql');
}

/** [target, protocol] pairs: every target over HTTP, and over gRPC where a gRPC URL is known. */
export function protocolTargets(): [string, 'http' | 'grpc'][] {
  const grpc = !process.env.DTX_CLIENT_TEST_URL || Boolean(process.env.DTX_CLIENT_TEST_GRPC_URL);
  return coordinatorTargets().flatMap((t): [string, 'http' | 'grpc'][] =>
    grpc
      ? [
          [t, 'http'],
          [t, 'grpc'],
        ]
      : [[t, 'http']],
  );
}

export interface StartedCoordinator {
  url: string;
  /** grpc://host:port of its gRPC API (DTX_CLIENT_TEST_GRPC_URL for an external coordinator). */
  grpcUrl: string;
  close(): Promise<void>;
}

export async function startTarget(target: string): Promise<StartedCoordinator> {
  const external = process.env.DTX_CLIENT_TEST_URL;
  if (target === 'external' && external) {
    return { url: external, grpcUrl: process.env.DTX_CLIENT_TEST_GRPC_URL ?? '', close: () => Promise.resolve() };
  }
  const c: Coordinator = await startInProcess(await freshStore(target as 'sqlite' | 'postgres', 'client'));
  return { url: `http://127.0.0.1:${c.httpPort}`, grpcUrl: `grpc://127.0.0.1:${c.grpcPort}`, close: () => c.close() };
}

function requiredUrl(name: string): URL {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: source \`node scripts/services.mjs env\` first`);
  return new URL(v);
}

const unique = (label: string) => `dtxc_${label}_${randomBytes(4).toString('hex')}`;

export interface PgBusiness {
  url: string;
  pool: pg.Pool;
  close(): Promise<void>;
}

/** A fresh PostgreSQL database with dtm's barrier table `dtm_barrier.barrier` (the default name). */
export async function pgBusiness(label: string): Promise<PgBusiness> {
  const base = requiredUrl('DTX_TEST_PG_URL');
  const db = unique(label);
  const admin = new pg.Client({ connectionString: base.toString() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${db}`);
  } finally {
    await admin.end();
  }
  const u = new URL(base);
  u.pathname = `/${db}`;
  const pool = new pg.Pool({ connectionString: u.toString(), max: 8 });
  for (const s of barrierDdl('postgres')) await pool.query(s);
  return { url: u.toString(), pool, close: () => pool.end() };
}

export interface MysqlBusiness {
  url: string;
  db: string;
  /** The barrier table of this database: `<db>.barrier` (MariaDB's dtm_barrier would be shared by every run). */
  table: string;
  pool: mysql.Pool;
  close(): Promise<void>;
}

/** A fresh MariaDB database holding the business tables and a barrier table `<db>.barrier`. */
export async function mysqlBusiness(label: string): Promise<MysqlBusiness> {
  const base = requiredUrl('DTX_TEST_MYSQL_URL');
  const db = unique(label);
  const conn = { host: base.hostname, port: Number(base.port), user: decodeURIComponent(base.username), password: decodeURIComponent(base.password) };
  const admin = await mysql.createConnection(conn);
  try {
    await admin.query(`CREATE DATABASE ${db} CHARACTER SET utf8mb4`);
  } finally {
    await admin.end();
  }
  const pool = mysql.createPool({ ...conn, database: db, connectionLimit: 8 });
  const table = `${db}.barrier`;
  for (const s of barrierDdl('mysql', table)) await pool.query(s);
  const u = new URL(base);
  u.pathname = `/${db}`;
  return { url: u.toString(), db, table, pool, close: () => pool.end() };
}

/**
 * A Prisma client on a business database. The repo's generated clients (packages/db, Prisma 7
 * with driver adapters, no native engine) serve: the barrier only needs `$transaction` and raw SQL.
 */
export function prismaOn(dialect: 'postgres' | 'mysql', url: string): Promise<PrismaClient> {
  return createPrisma({ dialect, url, poolSize: 4 });
}

/** A grpc-js server with its services added by `setup`, listening on a free loopback port. */
export async function grpcServer(setup: (server: grpc.Server) => void): Promise<{ server: grpc.Server; address: string }> {
  const server = new grpc.Server();
  setup(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, address: `127.0.0.1:${port}` };
}
