// Production build on demand: `pnpm start` serves `next build` output, rebuilt when it is missing
// or stale (sources, dependencies or the base path changed since it was made). The stamp is a hash
// of every input, written next to the build.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distDirFor } from './dist-dir.ts';

export const WEB_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const stampFile = (basePath: string) => join(WEB_DIR, distDirFor(basePath), 'dtx-build-stamp.json');
const INPUTS = ['src', 'public', 'next.config.ts', 'server/dist-dir.ts', 'postcss.config.mjs', 'package.json', 'tsconfig.json'];
const SHARED = ['../../packages/api/src/filters.ts', '../../pnpm-lock.yaml'];

function walk(path: string, out: string[]): void {
  if (!existsSync(path)) return;
  if (statSync(path).isDirectory()) {
    for (const e of readdirSync(path).sort()) walk(join(path, e), out);
  } else out.push(path);
}

export function buildStamp(basePath: string): string {
  const files: string[] = [];
  for (const p of [...INPUTS, ...SHARED]) walk(join(WEB_DIR, p), files);
  const h = createHash('sha256').update(`basePath=${basePath}\n`);
  for (const f of files) h.update(f.slice(WEB_DIR.length)).update('\0').update(readFileSync(f));
  return h.digest('hex');
}

export function buildIsCurrent(basePath: string): boolean {
  if (!existsSync(join(WEB_DIR, distDirFor(basePath), 'BUILD_ID')) || !existsSync(stampFile(basePath))) return false;
  try {
    return (JSON.parse(readFileSync(stampFile(basePath), 'utf8')) as { stamp?: unknown }).stamp === buildStamp(basePath);
  } catch {
    return false;
  }
}

/** Runs `next build` for this base path unless the current build already matches. */
export function ensureBuild(basePath: string, log: (msg: string) => void = console.error): void {
  if (buildIsCurrent(basePath)) return;
  log(`dashboard: building the web app (next build${basePath ? `, base path ${basePath}` : ''}); this takes a minute the first time`);
  const nextBin = join(WEB_DIR, 'node_modules', '.bin', 'next');
  const r = spawnSync(nextBin, ['build'], {
    cwd: WEB_DIR,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env,
      NEXT_TELEMETRY_DISABLED: '1',
      DTX_WEB_BASE_PATH: basePath,
      DTX_WEB_DIST_DIR: distDirFor(basePath),
      NODE_ENV: 'production',
    },
  });
  if (r.status !== 0) throw new Error(`next build failed (exit ${r.status ?? r.signal}); see the output above`);
  writeFileSync(stampFile(basePath), JSON.stringify({ stamp: buildStamp(basePath), basePath, at: new Date().toISOString() }));
}

// `tsx server/build.ts [basePath]`: build ahead of time (CI, Docker images).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  ensureBuild(process.argv[2] ?? process.env.DASHBOARD_BASE_PATH ?? '');
}
