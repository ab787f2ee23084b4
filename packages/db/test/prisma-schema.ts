// A reader of the rendered Prisma schemas (prisma/schema.<dialect>.prisma) for the drift test.
// Prisma's own datamodel reader (getDMMF of @prisma/internals) is not installed, and the generated
// client keeps only a pruned runtime data model (field names, scalar types and column names: no
// nullability, native types or indexes), so this reads the subset of the schema language that
// prisma/schema.template.prisma uses: models, scalar fields with ?, @id, @unique, @map, @db.*,
// and @@index / @@unique / @@id / @@map. Anything else inside a model fails loudly.

export interface PrismaField {
  /** the field name (Prisma client side) */
  name: string;
  /** the column name (@map, else the field name) */
  column: string;
  /** scalar type: String, Int, BigInt, DateTime, Boolean, Bytes, ... */
  type: string;
  optional: boolean;
  /** @db.<name>(<args>), e.g. { name: 'VarChar', args: ['128'] } */
  native?: { name: string; args: string[] };
}

export interface PrismaIndex {
  /** the database name (map:, else Prisma's default name) */
  name: string;
  columns: string[];
  unique: boolean;
}

export interface PrismaModel {
  name: string;
  /** the table name (@@map, else the model name) */
  table: string;
  fields: PrismaField[];
  primaryKey: string[];
  indexes: PrismaIndex[];
}

/** Drops // and /* *\/ comments, leaving string literals alone. */
function stripComments(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const end = text.indexOf('"', i + 1);
      out += text.slice(i, end + 1);
      i = end;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      i = text.indexOf('*/', i + 2) + 1;
    } else {
      out += c;
    }
  }
  return out;
}

const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim().replace(/\(.*\)$/, '')) // a field's (sort: Desc) / (length: n)
    .filter(Boolean);

export function parsePrismaSchema(text: string): PrismaModel[] {
  const models: PrismaModel[] = [];
  const src = stripComments(text);
  const blocks = [...src.matchAll(/^\s*model\s+(\w+)\s*\{([^}]*)\}/gm)];
  const modelNames = new Set(blocks.map((b) => b[1]));
  // Groups without `?` always take part in a match: the '' defaults are never used.
  for (const [, name = '', body = ''] of blocks) {
    const model: PrismaModel = { name, table: name, fields: [], primaryKey: [], indexes: [] };
    const fieldUniques: string[] = [];
    const blockAttrs: string[] = [];
    for (const raw of body.split('\n')) {
      const line = raw.trim();
      if (!line) continue;
      if (line.startsWith('@@')) {
        blockAttrs.push(line);
        continue;
      }
      const m = /^(\w+)\s+(\w+)(\?|\[\])?\s*(.*)$/.exec(line);
      if (!m) throw new Error(`prisma schema: model ${name}: cannot read the line "${line}"`);
      const [, fieldName = '', type = '', modifier, attrs = ''] = m;
      if (modelNames.has(type) || modifier === '[]') continue; // relation fields have no column
      const column = /@map\(\s*"([^"]+)"\s*\)/.exec(attrs)?.[1] ?? fieldName;
      const db = /@db\.(\w+)(?:\(([^)]*)\))?/.exec(attrs);
      model.fields.push({
        name: fieldName,
        column,
        type,
        optional: modifier === '?',
        native: db ? { name: db[1] ?? '', args: db[2] ? list(db[2]) : [] } : undefined,
      });
      if (/@id\b/.test(attrs)) model.primaryKey = [column];
      const unique = /@unique\b(?:\(\s*map:\s*"([^"]+)"\s*\))?/.exec(attrs);
      if (unique) fieldUniques.push(`${column}\u0000${unique[1] ?? ''}`);
    }
    const columnOf = (field: string) => {
      const f = model.fields.find((x) => x.name === field);
      if (!f) throw new Error(`prisma schema: model ${name}: no field ${field}`);
      return f.column;
    };
    for (const attr of blockAttrs) {
      const m = /^@@(\w+)\((.*)\)$/.exec(attr);
      if (!m) throw new Error(`prisma schema: model ${name}: cannot read "${attr}"`);
      const [, kind = '', args = ''] = m;
      if (kind === 'map') {
        model.table = /^"([^"]+)"$/.exec(args.trim())?.[1] ?? '';
        continue;
      }
      const fields = /\[([^\]]*)\]/.exec(args);
      if (!fields || !['index', 'unique', 'id'].includes(kind)) {
        throw new Error(`prisma schema: model ${name}: unsupported "${attr}"`);
      }
      const columns = list(fields[1] ?? '').map(columnOf);
      const map = /map:\s*"([^"]+)"/.exec(args)?.[1];
      if (kind === 'id') model.primaryKey = columns;
      else model.indexes.push({ name: map ?? '', columns, unique: kind === 'unique' });
    }
    for (const u of fieldUniques) {
      const [column = '', map = ''] = u.split('\u0000');
      model.indexes.push({ name: map, columns: [column], unique: true });
    }
    // Prisma's default constraint names (used when no map: is given).
    for (const ix of model.indexes) {
      if (!ix.name) ix.name = `${model.table}_${ix.columns.join('_')}_${ix.unique ? 'key' : 'idx'}`;
    }
    models.push(model);
  }
  return models;
}
