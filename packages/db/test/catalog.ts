// What a live database says its tables are: columns (catalog type, nullability), primary key and
// indexes, read from each dialect's own catalog. Used by schema-drift.test.ts.
import type { Dialect, SqlDriver } from '@dtx/db';

export interface LiveColumn {
  /** the catalog's type, normalised to the spelling expectedType() of the drift test uses */
  type: string;
  nullable: boolean;
}

export interface LiveIndex {
  columns: string[];
  unique: boolean;
}

export interface LiveTable {
  columns: Map<string, LiveColumn>;
  primaryKey: string[];
  /** by index name, primary key excluded */
  indexes: Map<string, LiveIndex>;
}

export type Catalog = Map<string, LiveTable>;

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

function table(catalog: Catalog, name: string): LiveTable {
  let t = catalog.get(name);
  if (!t) catalog.set(name, (t = { columns: new Map(), primaryKey: [], indexes: new Map() }));
  return t;
}

async function sqlite(driver: SqlDriver): Promise<Catalog> {
  const catalog: Catalog = new Map();
  // sqlite_sequence (AUTOINCREMENT's counters) and other sqlite_* tables belong to SQLite itself.
  const tables = await driver.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'");
  for (const { name } of tables as { name: string }[]) {
    const t = table(catalog, name);
    const cols = await driver.query('SELECT name, type, "notnull" AS nn, pk FROM pragma_table_info(?) ORDER BY cid', [name]);
    const pk: [number, string][] = [];
    for (const c of cols as { name: string; type: string; nn: number; pk: number }[]) {
      const type = c.type.toUpperCase();
      // An INTEGER PRIMARY KEY is the rowid: it can never be NULL, though pragma says notnull 0.
      const rowid = c.pk > 0 && type === 'INTEGER';
      t.columns.set(c.name, { type, nullable: Number(c.nn) === 0 && !rowid });
      if (c.pk > 0) pk.push([Number(c.pk), c.name]);
    }
    t.primaryKey = pk.sort((a, b) => a[0] - b[0]).map(([, n]) => n);
    const indexes = await driver.query('SELECT name, "unique" AS u, origin FROM pragma_index_list(?)', [name]);
    for (const ix of indexes as { name: string; u: number; origin: string }[]) {
      if (ix.origin === 'pk') continue; // the primary key's own index (non-integer keys)
      const cols = await driver.query('SELECT name FROM pragma_index_info(?) ORDER BY seqno', [ix.name]);
      t.indexes.set(ix.name, { columns: cols.map((c) => String(c.name)), unique: Number(ix.u) === 1 });
    }
  }
  return catalog;
}

async function postgres(driver: SqlDriver): Promise<Catalog> {
  const catalog: Catalog = new Map();
  const tables = await driver.query(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
  );
  for (const r of tables) table(catalog, String(r.table_name));
  const cols = await driver.query(
    `SELECT table_name, column_name, udt_name, character_maximum_length AS len, datetime_precision AS prec, is_nullable
       FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
  );
  for (const c of cols) {
    const t = catalog.get(String(c.table_name));
    if (!t) continue; // a view
    const udt = String(c.udt_name);
    const suffix = ['varchar', 'bpchar'].includes(udt) ? `(${num(c.len)})` : ['timestamp', 'timestamptz'].includes(udt) ? `(${num(c.prec)})` : '';
    t.columns.set(String(c.column_name), { type: udt + suffix, nullable: c.is_nullable === 'YES' });
  }
  const indexes = await driver.query(
    `SELECT t.relname AS table_name, i.relname AS index_name, x.indisunique AS is_unique, x.indisprimary AS is_primary,
            array_to_string(ARRAY(
              SELECT a.attname FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
                JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.n), ',') AS cols
       FROM pg_index x
       JOIN pg_class t ON t.oid = x.indrelid
       JOIN pg_class i ON i.oid = x.indexrelid
       JOIN pg_namespace ns ON ns.oid = t.relnamespace
      WHERE ns.nspname = current_schema()`,
  );
  for (const ix of indexes) {
    const t = catalog.get(String(ix.table_name));
    if (!t) continue;
    const columns = String(ix.cols).split(',');
    if (ix.is_primary) t.primaryKey = columns;
    else t.indexes.set(String(ix.index_name), { columns, unique: Boolean(ix.is_unique) });
  }
  return catalog;
}

async function mysql(driver: SqlDriver): Promise<Catalog> {
  const catalog: Catalog = new Map();
  const tables = await driver.query(
    "SELECT TABLE_NAME AS table_name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'",
  );
  for (const r of tables) table(catalog, String(r.table_name));
  const cols = await driver.query(
    `SELECT TABLE_NAME AS table_name, COLUMN_NAME AS column_name, DATA_TYPE AS data_type, COLUMN_TYPE AS column_type,
            CHARACTER_MAXIMUM_LENGTH AS len, DATETIME_PRECISION AS prec, IS_NULLABLE AS is_nullable
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION`,
  );
  for (const c of cols) {
    const t = catalog.get(String(c.table_name));
    if (!t) continue;
    const dt = String(c.data_type).toLowerCase();
    // tinyint(1) is how MySQL spells a boolean; int(11)-style display widths mean nothing else.
    const type = ['varchar', 'char'].includes(dt)
      ? `${dt}(${num(c.len)})`
      : ['datetime', 'timestamp'].includes(dt)
        ? `${dt}(${num(c.prec)})`
        : dt === 'tinyint'
          ? String(c.column_type).toLowerCase()
          : dt;
    t.columns.set(String(c.column_name), { type, nullable: c.is_nullable === 'YES' });
  }
  const stats = await driver.query(
    `SELECT TABLE_NAME AS table_name, INDEX_NAME AS index_name, NON_UNIQUE AS non_unique, COLUMN_NAME AS column_name
       FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
  );
  for (const s of stats) {
    const t = catalog.get(String(s.table_name));
    if (!t) continue;
    const name = String(s.index_name);
    if (name === 'PRIMARY') {
      t.primaryKey.push(String(s.column_name));
      continue;
    }
    const ix = t.indexes.get(name) ?? { columns: [], unique: Number(s.non_unique) === 0 };
    ix.columns.push(String(s.column_name));
    t.indexes.set(name, ix);
  }
  return catalog;
}

export function readCatalog(driver: SqlDriver): Promise<Catalog> {
  const readers: Record<Dialect, (d: SqlDriver) => Promise<Catalog>> = { sqlite, postgres, mysql };
  return readers[driver.dialect](driver);
}
