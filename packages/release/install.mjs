#!/usr/bin/env node
// `node packages/release/install.mjs <dtx-<version>.tgz> <dir>`: installs the release package into
// an empty folder the way a user does (`npm install --omit=dev <tarball>`), so that <dir>/node_modules/.bin/dtx
// runs it. The Dockerfile's build stage and tests/release.test.ts both run exactly this.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const [tarball, dir] = process.argv.slice(2);
if (!tarball || !dir || process.argv.length > 4) {
  console.error('Usage: node packages/release/install.mjs <dtx-<version>.tgz> <dir>');
  process.exit(2);
}
mkdirSync(dir, { recursive: true });
if (!existsSync(join(dir, 'package.json'))) writeFileSync(join(dir, 'package.json'), '{"private":true}\n');
const r = spawnSync('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', resolve(tarball)], {
  cwd: dir,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
