// `pnpm --filter @dtx/config docs`: rewrites the keys tables of docs/configuration.md from the schema.
import { readFileSync, writeFileSync } from 'node:fs';
import { DOCS_FILE, withKeysTables } from './docs.ts';

const before = readFileSync(DOCS_FILE, 'utf8');
const after = withKeysTables(before);
if (after !== before) writeFileSync(DOCS_FILE, after);
console.log(after === before ? `${DOCS_FILE} is up to date` : `updated ${DOCS_FILE}`);
