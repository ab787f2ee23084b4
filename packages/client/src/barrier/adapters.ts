// The barrier's databases: node-postgres (`pg`), `mysql2/promise` and Prisma interactive
// transactions. Typed structurally, so this package loads none of them itself.
import type { BarrierDb, BarrierDialect, SqlRunner } from './core.js';

export interface DbOptions {
  /** The barrier table in this database, `[schema.]table` (default `dtm_barrier.barrier`). */
  table?: string;
}

/** What the barrier needs of a `pg` client (pg.PoolClient, pg.Client). */
export interface PgQueryable {
  query(text: string, values?: unknown[]): Promise<{ rowCount: number | null; rows: unknown[] }>;
}

/** What the barrier needs of a `pg.Pool`. */
export interface PgPoolLike {
  connect(): Promise<PgQueryable & { release(err?: Error | boolean): void }>;
}

export function pgRunner(c: PgQueryable): SqlRunner {
  return {
    exec: async (sql, params) => (await c.query(sql, params)).rowCount ?? 0,
    rows: async (sql, params) => (await c.query(sql, params)).rows as Record<string, unknown>[],
  };
}

/** A pg.Pool as a barrier database; each local transaction takes one client from the pool. */
export function pgDb(pool: PgPoolLike, o: DbOptions = {}): BarrierDb<PgQueryable> {
  return {
    dialect: 'postgres',
    table: o.table,
    async transaction(fn) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        try {
          const v = await fn(pgRunner(client), client);
          await client.query('COMMIT');
          return v;
        } catch (e) {
          await client.query('ROLLBACK').catch((re: unknown) => {
            broken = re as Error;
          });
          throw e;
        }
      } finally {
        client.release(broken);
      }
    },
    async autocommit(fn) {
      const client = await pool.connect();
      try {
        return await fn(pgRunner(client));
      } finally {
        client.release();
      }
    },
  };
}

/** What the barrier needs of a `mysql2/promise` connection. */
export interface Mysql2Connection {
  query(sql: string, values?: unknown): Promise<[unknown, unknown]>;
  beginTransaction(): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/** What the barrier needs of a `mysql2/promise` pool (`mysql.createPool(...)` from 'mysql2/promise'). */
export interface Mysql2PoolLike {
  getConnection(): Promise<Mysql2Connection & { release(): void }>;
}

export function mysql2Runner(c: Mysql2Connection): SqlRunner {
  return {
    exec: async (sql, params) => {
      const [res] = await c.query(sql, params);
      return (res as { affectedRows?: number }).affectedRows ?? 0;
    },
    rows: async (sql, params) => {
      const [res] = await c.query(sql, params);
      return res as Record<string, unknown>[];
    },
  };
}

/** A mysql2/promise pool as a barrier database (MySQL or MariaDB). */
export function mysql2Db(pool: Mysql2PoolLike, o: DbOptions = {}): BarrierDb<Mysql2Connection> {
  return {
    dialect: 'mysql',
    table: o.table,
    async transaction(fn) {
      const conn = await pool.getConnection();
      try {
        await conn.beginTransaction();
        try {
          const v = await fn(mysql2Runner(conn), conn);
          await conn.commit();
          return v;
        } catch (e) {
          await conn.rollback().catch(() => undefined);
          throw e;
        }
      } finally {
        conn.release();
      }
    },
    async autocommit(fn) {
      const conn = await pool.getConnection();
      try {
        return await fn(mysql2Runner(conn));
      } finally {
        conn.release();
      }
    },
  };
}

/** What the barrier needs of a Prisma transaction client (`tx` in `$transaction(async (tx) => ...)`). */
export interface PrismaTxLike {
  $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<number>;
  $queryRawUnsafe(query: string, ...values: unknown[]): PromiseLike<unknown>;
}

/** What the barrier needs of a PrismaClient. */
export interface PrismaLike<Tx extends PrismaTxLike> extends PrismaTxLike {
  $transaction<R>(fn: (tx: Tx) => Promise<R>, options?: { maxWait?: number; timeout?: number }): Promise<R>;
}

function prismaRunner(c: PrismaTxLike): SqlRunner {
  return {
    exec: async (sql, params) => Number(await c.$executeRawUnsafe(sql, ...params)),
    rows: async (sql, params) => (await c.$queryRawUnsafe(sql, ...params)) as Record<string, unknown>[],
  };
}

export interface PrismaDbOptions extends DbOptions {
  /** The database behind the client; read from the client when omitted (its provider). */
  dialect?: BarrierDialect;
  /** Options of the interactive transaction (Prisma's defaults: maxWait 2 s, timeout 5 s). */
  transaction?: { maxWait?: number; timeout?: number };
}

/** A PrismaClient (PostgreSQL or MySQL/MariaDB) as a barrier database: interactive `$transaction`s. */
export function prismaDb<Tx extends PrismaTxLike>(prisma: PrismaLike<Tx>, o: PrismaDbOptions = {}): BarrierDb<Tx> {
  const dialect = o.dialect ?? prismaDialect(prisma);
  return {
    dialect,
    table: o.table,
    transaction: (fn) => prisma.$transaction((tx) => fn(prismaRunner(tx), tx), o.transaction),
    autocommit: (fn) => fn(prismaRunner(prisma)),
  };
}

function prismaDialect(prisma: object): BarrierDialect {
  const provider = (prisma as { _activeProvider?: unknown })._activeProvider;
  if (provider === 'postgresql' || provider === 'cockroachdb') return 'postgres';
  if (provider === 'mysql') return 'mysql';
  throw new TypeError(`prismaDb: cannot tell the database of this client (provider ${String(provider)}): pass { dialect }`);
}
