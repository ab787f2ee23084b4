// Renders prisma/schema.template.prisma into one schema per provider and generates each client.
// Prisma's native schema engine is never needed: `prisma generate` only checks that the binary
// path exists, so we point it at /bin/false (see docs/development.md).
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const template = readFileSync(join(root, 'prisma', 'schema.template.prisma'), 'utf8');

/** @type {Record<string, Record<string, string>>} */
const dialects = {
  sqlite: {
    provider: 'sqlite',
    id: 'BigInt @id @default(autoincrement())',
    varchar12: '',
    varchar45: '',
    varchar128: '',
    varchar255: '',
    varchar1024: '',
    text: '',
    longtext: '',
    ts: '',
    blob: '',
  },
  postgres: {
    provider: 'postgresql',
    id: 'BigInt @id @default(autoincrement())',
    varchar12: '@db.VarChar(12)',
    varchar45: '@db.VarChar(45)',
    varchar128: '@db.VarChar(128)',
    varchar255: '@db.VarChar(255)',
    varchar1024: '@db.VarChar(1024)',
    text: '@db.Text',
    longtext: '@db.Text',
    ts: '@db.Timestamptz(3)',
    blob: '@db.ByteA',
  },
  mysql: {
    provider: 'mysql',
    id: 'BigInt @id @default(autoincrement())',
    varchar12: '@db.VarChar(12)',
    varchar45: '@db.VarChar(45)',
    varchar128: '@db.VarChar(128)',
    varchar255: '@db.VarChar(255)',
    varchar1024: '@db.VarChar(1024)',
    text: '@db.Text',
    longtext: '@db.MediumText',
    ts: '@db.DateTime(3)',
    blob: '@db.MediumBlob',
  },
};

const prismaBin = join(root, 'packages', 'db', 'node_modules', '.bin', 'prisma');
for (const [dialect, values] of Object.entries(dialects)) {
  const rendered = template.replace(/\{\{(\w+)\}\}/g, (_, /** @type {string} */ key) => {
    if (key === 'dialect') return dialect;
    const value = values[key];
    if (value === undefined) throw new Error(`schema template: unknown placeholder ${key}`);
    return value;
  });
  const file = join(root, 'prisma', `schema.${dialect}.prisma`);
  writeFileSync(file, `// GENERATED from schema.template.prisma by packages/db/scripts/generate.mjs; do not edit.\n${rendered}`);
  if (process.argv.includes('--render-only')) continue;
  execFileSync(existsSync(prismaBin) ? prismaBin : 'prisma', ['generate', '--schema', file], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env,
      PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? '/bin/false',
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
      CHECKPOINT_DISABLE: '1',
    },
  });
}
