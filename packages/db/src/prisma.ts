// Prisma clients for the three providers. The models are the same in each generated client (one
// template, prisma/schema.template.prisma), so callers use the PostgreSQL client's type for all.
// Used for reads and admin writes (dashboard, listings); the engine's hot path uses sql-store.ts.
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaMariaDb } from '@prisma/adapter-mariadb';
import { PrismaPg } from '@prisma/adapter-pg';
import type { PrismaClient as PgPrismaClient } from '../generated/postgres/client.ts';
import type { Dialect } from './types.ts';

export type PrismaClient = PgPrismaClient;

export interface PrismaTarget {
  dialect: Dialect;
  /** sqlite: file path; others: connection URL */
  url: string;
  schema?: string;
  poolSize?: number;
}

export async function createPrisma(target: PrismaTarget): Promise<PrismaClient> {
  switch (target.dialect) {
    case 'sqlite': {
      const { PrismaClient } = await import('../generated/sqlite/client.ts');
      const adapter = new PrismaBetterSqlite3({ url: target.url }, { timestampFormat: 'unixepoch-ms' });
      return new PrismaClient({ adapter }) as unknown as PrismaClient;
    }
    case 'postgres': {
      const { PrismaClient } = await import('../generated/postgres/client.ts');
      const adapter = new PrismaPg(
        { connectionString: target.url, max: target.poolSize ?? 10 },
        target.schema && target.schema !== 'public' ? { schema: target.schema } : undefined,
      );
      return new PrismaClient({ adapter });
    }
    case 'mysql': {
      const { PrismaClient } = await import('../generated/mysql/client.ts');
      const u = new URL(target.url);
      const adapter = new PrismaMariaDb({
        host: u.hostname,
        port: Number(u.port || 3306),
        user: decodeURIComponent(u.username),
        password: decodeURIComponent(u.password),
        database: u.pathname.replace(/^\//, ''),
        connectionLimit: target.poolSize ?? 10,
      });
      return new PrismaClient({ adapter }) as unknown as PrismaClient;
    }
  }
}
