// The Prisma schema is checked against what the migrations really build. prisma/schema.template.prisma
// (what the dashboard's Prisma client believes) and the three dialects of SQL migrations under
// prisma/migrations/ are written by hand; on each store this migrates a fresh database with the
// project's migrator (openDatabase) and compares, table by table, the live catalog with Prisma's
// datamodel: tables, columns, each column's type and nullability, the primary key, and the indexes
// and unique constraints (name, columns in order, unique or not). See docs/development.md,
// "Schema changes".
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database, type Dialect } from '@dtx/db';
import { freshStore, testStores } from '../../../tests/support/stores.ts';
import { readCatalog, type Catalog } from './catalog.ts';
import { parsePrismaSchema, type PrismaField, type PrismaModel } from './prisma-schema.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Tables the migrations create that Prisma deliberately does not model. */
const UNMODELLED_TABLES: Record<string, string> = {
  // The migrator's own record of applied migrations (packages/db/src/migrate.ts): written and read
  // by it alone, never through Prisma; its shape is the one Prisma Migrate uses, not ours.
  _prisma_migrations: 'migration bookkeeping',
};

/** Indexes one dialect's migrations add that the shared template cannot express. */
// The Topics page's calls per subscriber URL (0024_attempt_url.sql) are read through SQL only, by an
// index whose URL key differs per dialect (whole on SQLite, a prefix on MySQL, an expression on
// PostgreSQL), which the shared template cannot say.
const ATTEMPT_URL = { 'branch_attempt.branch_attempt_url_started_at': 'calls per subscriber URL' };
const UNMODELLED_INDEXES: Record<Dialect, Record<string, string>> = {
  sqlite: { ...ATTEMPT_URL },
  // A varchar_pattern_ops index for the dashboard's gid prefix search (LIKE 'p%') under any
  // collation (postgres/0003_gid_prefix.sql). PostgreSQL-only, while the template renders the same
  // @@index lines for every provider; Prisma never creates indexes here (migrations are SQL).
  postgres: { 'trans_global.trans_global_gid_pattern': 'gid prefix search', ...ATTEMPT_URL },
  mysql: { ...ATTEMPT_URL },
};

/**
 * The catalog type a Prisma field becomes on a dialect, spelled as catalog.ts reports it: SQLite's
 * declared type; PostgreSQL's udt_name; MySQL's DATA_TYPE; with the length of varchars and the
 * precision of timestamps. Prisma's defaults without @db: prisma.io's type mapping per connector.
 */
function expectedType(dialect: Dialect, f: PrismaField): string {
  const n = f.native;
  const arg = n?.args[0];
  if (dialect === 'sqlite') {
    if (n) return `unsupported @db.${n.name} on SQLite`;
    const sqlite: Record<string, string> = {
      String: 'TEXT',
      Int: 'INTEGER',
      BigInt: 'INTEGER',
      DateTime: 'DATETIME',
      Boolean: 'BOOLEAN',
      Bytes: 'BLOB',
      Float: 'REAL',
      Decimal: 'DECIMAL',
    };
    return sqlite[f.type] ?? `unknown Prisma type ${f.type}`;
  }
  if (dialect === 'postgres') {
    if (!n) {
      const pg: Record<string, string> = {
        String: 'text',
        Int: 'int4',
        BigInt: 'int8',
        DateTime: 'timestamp(3)',
        Boolean: 'bool',
        Bytes: 'bytea',
        Float: 'float8',
      };
      return pg[f.type] ?? `unknown Prisma type ${f.type}`;
    }
    const pgNative: Record<string, string> = {
      VarChar: `varchar(${arg})`,
      Char: `bpchar(${arg})`,
      Text: 'text',
      Timestamptz: `timestamptz(${arg ?? 6})`,
      Timestamp: `timestamp(${arg ?? 6})`,
      ByteA: 'bytea',
      Integer: 'int4',
      BigInt: 'int8',
      SmallInt: 'int2',
      Boolean: 'bool',
    };
    return pgNative[n.name] ?? `unknown @db.${n.name}`;
  }
  if (!n) {
    const my: Record<string, string> = {
      String: 'varchar(191)',
      Int: 'int',
      BigInt: 'bigint',
      DateTime: 'datetime(3)',
      Boolean: 'tinyint(1)',
      Bytes: 'longblob',
      Float: 'double',
    };
    return my[f.type] ?? `unknown Prisma type ${f.type}`;
  }
  const myNative: Record<string, string> = {
    VarChar: `varchar(${arg})`,
    Char: `char(${arg})`,
    Text: 'text',
    MediumText: 'mediumtext',
    LongText: 'longtext',
    TinyText: 'tinytext',
    DateTime: `datetime(${arg ?? 0})`,
    Timestamp: `timestamp(${arg ?? 0})`,
    Blob: 'blob',
    MediumBlob: 'mediumblob',
    LongBlob: 'longblob',
    Int: 'int',
    BigInt: 'bigint',
    SmallInt: 'smallint',
    TinyInt: 'tinyint(4)',
  };
  return myNative[n.name] ?? `unknown @db.${n.name}`;
}

const nullity = (nullable: boolean) => (nullable ? 'NULL' : 'NOT NULL');
const cols = (c: string[]) => `(${c.join(', ')})`;

/** Every difference between Prisma's models and the live catalog, one readable line each. */
function compare(dialect: Dialect, models: PrismaModel[], live: Catalog): string[] {
  const diff: string[] = [];
  const modelled = new Set(models.map((m) => m.table));
  for (const name of [...live.keys()].sort()) {
    if (!modelled.has(name) && !(name in UNMODELLED_TABLES)) diff.push(`table ${name}: the database has it, Prisma models no such table`);
  }
  for (const name of Object.keys(UNMODELLED_TABLES)) {
    if (!live.has(name)) diff.push(`table ${name}: listed as deliberately unmodelled, but the database has no such table`);
  }
  const exceptions = new Set(Object.keys(UNMODELLED_INDEXES[dialect]));
  for (const m of models) {
    const t = live.get(m.table);
    if (!t) {
      diff.push(`table ${m.table}: Prisma models it (${m.name}), the database has no such table`);
      continue;
    }
    for (const f of m.fields) {
      const want = `${expectedType(dialect, f)} ${nullity(f.optional)}`;
      const c = t.columns.get(f.column);
      if (!c) diff.push(`${m.table}.${f.column}: Prisma says ${want}, the database has no such column`);
      else if (`${c.type} ${nullity(c.nullable)}` !== want)
        diff.push(`${m.table}.${f.column}: Prisma says ${want}, the database says ${c.type} ${nullity(c.nullable)}`);
    }
    for (const [column, c] of t.columns) {
      if (!m.fields.some((f) => f.column === column))
        diff.push(`${m.table}.${column}: the database says ${c.type} ${nullity(c.nullable)}, Prisma has no such field`);
    }
    if (cols(m.primaryKey) !== cols(t.primaryKey))
      diff.push(`${m.table} primary key: Prisma says ${cols(m.primaryKey)}, the database says ${cols(t.primaryKey)}`);
    const describe = (ix: { columns: string[]; unique: boolean }) => `${ix.unique ? 'unique ' : ''}${cols(ix.columns)}`;
    for (const ix of m.indexes) {
      const got = t.indexes.get(ix.name);
      if (!got) diff.push(`${m.table} index ${ix.name}: Prisma says ${describe(ix)}, the database has no such index`);
      else if (describe(got) !== describe(ix))
        diff.push(`${m.table} index ${ix.name}: Prisma says ${describe(ix)}, the database says ${describe(got)}`);
    }
    for (const [name, got] of t.indexes) {
      const key = `${m.table}.${name}`;
      if (exceptions.delete(key)) continue;
      if (!m.indexes.some((ix) => ix.name === name))
        diff.push(`${m.table} index ${name}: the database says ${describe(got)}, Prisma has no such index`);
    }
  }
  for (const key of exceptions) diff.push(`index ${key}: listed as deliberately unmodelled, but the database has no such index`);
  return diff;
}

interface RuntimeModel {
  dbName?: string | null;
  fields: { name: string; kind: string; type: string; dbName?: string | null }[];
}

/**
 * The generated client's runtime data model (names, scalar types, column names) against the
 * parsed schema: catches a reader that misreads the schema and a client not regenerated since the
 * template changed.
 */
function compareRuntime(models: PrismaModel[], runtime: Record<string, RuntimeModel>): string[] {
  const diff: string[] = [];
  const show = (m: PrismaModel) => ({ table: m.table, fields: m.fields.map((f) => `${f.name} ${f.type} -> ${f.column}`) });
  const fromRuntime = Object.entries(runtime).map(
    ([name, r]) =>
      [
        name,
        { table: r.dbName ?? name, fields: r.fields.filter((f) => f.kind === 'scalar').map((f) => `${f.name} ${f.type} -> ${f.dbName ?? f.name}`) },
      ] as const,
  );
  const parsed = new Map(models.map((m) => [m.name, show(m)]));
  for (const [name, r] of fromRuntime) {
    const p = parsed.get(name);
    if (JSON.stringify(p) !== JSON.stringify(r))
      diff.push(`model ${name}: the rendered schema says ${JSON.stringify(p)}, the generated client says ${JSON.stringify(r)}`);
    parsed.delete(name);
  }
  for (const name of parsed.keys()) diff.push(`model ${name}: in the rendered schema, not in the generated client`);
  return diff;
}

function renderedModels(dialect: Dialect): PrismaModel[] {
  return parsePrismaSchema(readFileSync(join(root, 'prisma', `schema.${dialect}.prisma`), 'utf8'));
}

// The rendered schemas are made from the template by the script `pnpm install` runs; render them
// again (without generating the clients) so that the template as it is now is what gets checked.
beforeAll(() => {
  execFileSync(process.execPath, [join(root, 'packages', 'db', 'scripts', 'generate.mjs'), '--render-only'], { stdio: 'pipe' });
});

describe.each(testStores())('Prisma schema and the %s migrations', (storeName) => {
  let db: Database;
  let models: PrismaModel[];

  beforeAll(async () => {
    db = await openDatabase(await freshStore(storeName, 'drift'));
    models = renderedModels(storeName);
  });
  afterAll(async () => {
    await db?.close();
  });

  it('the schema reader agrees with the generated client', async () => {
    const prisma = (await db.prisma()) as unknown as { _runtimeDataModel: { models: Record<string, RuntimeModel> } };
    expect(models.length).toBeGreaterThan(0);
    expect(compareRuntime(models, prisma._runtimeDataModel.models).join('\n')).toBe('');
  });

  it('describe the same tables, columns, types, nullability, keys and indexes', async () => {
    expect(compare(storeName, models, await readCatalog(db.driver)).join('\n')).toBe('');
  });

  // The comparison itself can fail, on either side: a change to the database and one to the model.
  it('reports a column, an index and a nullability that differ', async () => {
    const drop = storeName === 'mysql' ? 'DROP INDEX audit_log_at ON audit_log' : 'DROP INDEX audit_log_at';
    const spare = await openDatabase(await freshStore(storeName, 'drift'));
    try {
      await spare.driver.run('ALTER TABLE kv ADD COLUMN extra INTEGER');
      await spare.driver.run(drop);
      const changed = models.map((m) =>
        m.table === 'kv' ? { ...m, fields: m.fields.map((f) => (f.column === 'v' ? { ...f, optional: false } : f)) } : m,
      );
      const v = expectedType(
        storeName,
        models.find((m) => m.table === 'kv')!.fields.find((f) => f.column === 'v')!,
      );
      const extra = { sqlite: 'INTEGER', postgres: 'int4', mysql: 'int' }[storeName];
      expect(compare(storeName, changed, await readCatalog(spare.driver))).toEqual([
        `kv.v: Prisma says ${v} NOT NULL, the database says ${v} NULL`,
        `kv.extra: the database says ${extra} NULL, Prisma has no such field`,
        'audit_log index audit_log_at: Prisma says (at), the database has no such index',
      ]);
    } finally {
      await spare.close();
    }
  });
});
