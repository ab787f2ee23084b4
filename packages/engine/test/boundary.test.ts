// The engine is storage-agnostic: importing it must not load a database driver or Prisma (the
// store port is an interface; packages/db implements it). Checked in a fresh process, with the
// storage package itself as the control that the check can see drivers at all.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const DRIVERS = /node_modules\/\.pnpm\/(pg@|mariadb@|better-sqlite3@|@prisma\+)/;

/** Paths of driver modules loaded by importing `specifier` from `fromDir` in a new process. */
function driversLoadedBy(specifier: string, fromDir: string): string[] {
  const script = `await import(${JSON.stringify(specifier)});
const { default: m } = await import('node:module');
console.log(JSON.stringify(Object.keys(m._cache)));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: fromDir, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as string[]).filter((p) => DRIVERS.test(p));
}

describe('package boundaries', () => {
  it('importing @dtx/engine loads no database driver', () => {
    expect(driversLoadedBy('@dtx/engine', join(ROOT, 'packages/engine'))).toEqual([]);
  });

  it('(control) importing @dtx/db does load the drivers', () => {
    expect(driversLoadedBy('@dtx/db', join(ROOT, 'packages/db')).length).toBeGreaterThan(0);
  });
});
