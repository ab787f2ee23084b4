// Comments cite documents of this repository (`docs/protocol/transactions.md §4.1`): every cited
// file must exist, and every cited section must be a heading in it, so a citation never points
// at nothing.
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/processes.ts';

const SOURCE_DIRS = ['apps', 'packages', 'tests', 'scripts'];
const SKIP = new Set(['node_modules', 'generated', '.next', 'dist', 'test-results']);

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name) || name.startsWith('.next')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (/\.(ts|tsx|mjs)$/.test(name)) out.push(p);
  }
  return out;
}

/** A citation (path of a .md file under docs, optionally " §4.4-4.5") -> file and the sections it names (first of a range). */
const CITATION = /\bdocs\/[\w/-]+\.md(?: §\s?(\d+(?:\.\d+)*))?/g;

describe('document citations in code', () => {
  const files = SOURCE_DIRS.flatMap((d) => sources(join(ROOT, d)));

  it('name files that exist and sections that are headings there', () => {
    const problems: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(CITATION)) {
        const [cited, section] = [m[0].split(' ')[0] ?? '', m[1]];
        const target = join(ROOT, cited);
        if (!existsSync(target)) {
          problems.push(`${relative(ROOT, file)}: ${cited} does not exist`);
          continue;
        }
        if (section && !new RegExp(`^#+ ${section.replace(/\./g, '\\.')}[. ]`, 'm').test(readFileSync(target, 'utf8'))) {
          problems.push(`${relative(ROOT, file)}: ${cited} has no section ${section}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('finds the citations it checks', () => {
    expect(files.some((f) => /docs\/protocol\/transactions\.md §4\.1/.test(readFileSync(f, 'utf8')))).toBe(true);
  });
});
