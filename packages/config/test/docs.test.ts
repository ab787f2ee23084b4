// docs/configuration.md's keys tables are the schema's: a key, default or description changed in
// packages/config/src/schema.ts without `pnpm --filter @dtx/config docs` fails here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DOCS_BEGIN, DOCS_END, DOCS_FILE, keysTables, withKeysTables } from '../src/docs.ts';
import { configKeys } from '../src/index.ts';

const committed = readFileSync(DOCS_FILE, 'utf8');

describe('configuration documentation', () => {
  it('has the keys tables the schema generates (run `pnpm --filter @dtx/config docs` to update)', () => {
    const between = committed.slice(committed.indexOf(DOCS_BEGIN) + DOCS_BEGIN.length, committed.indexOf(DOCS_END));
    expect(between.trim()).toBe(keysTables());
    expect(withKeysTables(committed)).toBe(committed);
  });

  it('documents every key once, with its environment variable', () => {
    const rows = committed.split('\n').filter((l) => /^\| `/.test(l));
    expect(rows).toHaveLength(configKeys().length);
    for (const k of configKeys()) {
      expect(rows.filter((r) => r.startsWith(`| \`${k.path.join('.')}\` | \`${k.env}\` |`))).toHaveLength(1);
    }
    expect(committed).toContain('| `Store.MaxOpenConns` | `STORE_MAX_OPEN_CONNS` | 500 |');
    expect(committed).toMatch(/\| `ConfigUpdateInterval` \| `CONFIG_UPDATE_INTERVAL` \| 3 \| how often \(s\) each coordinator reloads the topics/);
  });

  it('replaces only the text between the markers', () => {
    const stale = `# Title\n\nbefore\n${DOCS_BEGIN}\n| old | table |\n${DOCS_END}\nafter\n`;
    const fresh = withKeysTables(stale);
    expect(fresh).toBe(`# Title\n\nbefore\n${DOCS_BEGIN}\n${keysTables()}\n${DOCS_END}\nafter\n`);
    expect(fresh).not.toContain('| old | table |');
    expect(withKeysTables(fresh)).toBe(fresh);
    expect(() => withKeysTables('# no markers\n')).toThrow(/markers/);
  });
});
