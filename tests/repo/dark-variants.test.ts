// Dark mode (prefers-color-scheme): every light colour class of the dashboard has its dark: twin,
// so no new panel stays white on a dark page. scripts/dark-variants.mjs adds the missing ones.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/processes.ts';

const SCRIPT = join(ROOT, 'scripts', 'dark-variants.mjs');

describe('dashboard dark mode', () => {
  it('every light colour class in apps/web/src has a dark: twin (else run node scripts/dark-variants.mjs)', () => {
    let out = '';
    try {
      execFileSync(process.execPath, [SCRIPT, '--check'], { encoding: 'utf8' });
    } catch (err) {
      out = String((err as { stdout?: string }).stdout ?? err);
    }
    expect(out).toBe('');
  });
});
