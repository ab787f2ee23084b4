// The keys tables of docs/configuration.md, generated from the schema (`pnpm --filter @dtx/config
// docs` rewrites them; packages/config/test/docs.test.ts fails when the committed ones differ).
import { fileURLToPath } from 'node:url';
import { configKeys, type KeyInfo } from './schema.ts';

export const DOCS_FILE = fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url));

export const DOCS_BEGIN = '<!-- keys:begin (generated from packages/config/src/schema.ts by `pnpm --filter @dtx/config docs`; do not edit) -->';
export const DOCS_END = '<!-- keys:end -->';

function shownDefault(k: KeyInfo): string {
  if (k.doc.shownDefault !== undefined) return k.doc.shownDefault;
  if (typeof k.defaultValue === 'number') return String(k.defaultValue);
  return k.defaultValue === '' ? '' : `\`${k.defaultValue}\``;
}

function table(keys: KeyInfo[], last: string): string[] {
  return [
    `| YAML key | Environment | Default | ${last} |`,
    '|---|---|---|---|',
    ...keys.map((k) => `| \`${k.path.join('.')}\` | \`${k.env}\` | ${shownDefault(k)} | ${k.doc.description} |`.replace(/ {2,}/g, ' ')),
  ];
}

/** The generated text that goes between the markers. */
export function keysTables(keys: KeyInfo[] = configKeys()): string {
  return [
    ...table(
      keys.filter((k) => !k.doc.ignored),
      'Meaning',
    ),
    '',
    'Accepted for compatibility and ignored (they configure dtm features that do not apply here):',
    '',
    ...table(
      keys.filter((k) => k.doc.ignored),
      'Why ignored',
    ),
  ].join('\n');
}

/** `markdown` with the text between the markers replaced by the generated tables. */
export function withKeysTables(markdown: string): string {
  const begin = markdown.indexOf(DOCS_BEGIN);
  const end = markdown.indexOf(DOCS_END);
  if (begin < 0 || end < begin) throw new Error(`the markers ${DOCS_BEGIN} and ${DOCS_END} are missing`);
  return `${markdown.slice(0, begin + DOCS_BEGIN.length)}\n${keysTables()}\n${markdown.slice(end)}`;
}
