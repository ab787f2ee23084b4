#!/usr/bin/env node
// The Python compatibility tests (compat/python): dtm's official Python SDK, from PyPI, against
// the coordinator. Creates compat/python/.venv with the pinned requirements (again only when
// requirements.txt changes), then runs pytest there. Run from the repository root after
// `pnpm install`; `pnpm test` runs it when python3 is present.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'compat', 'python');
const venv = join(dir, '.venv');
const python = join(venv, 'bin', 'python');
const stamp = join(venv, 'requirements.sha256');
const want = createHash('sha256')
  .update(readFileSync(join(dir, 'requirements.txt')))
  .digest('hex');

/** @param {string} cmd @param {string[]} args */
function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: dir, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== want) {
  rmSync(venv, { recursive: true, force: true });
  run('python3', ['-m', 'venv', venv]);
  run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', 'requirements.txt']);
  writeFileSync(stamp, want);
}
run(python, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', ...process.argv.slice(2)]);
