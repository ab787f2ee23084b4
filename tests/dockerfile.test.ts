// The Dockerfile (docs/deploying.md) cannot be built on our machines, so this checks what can be
// checked without Docker: its build stage runs only the release scripts that tests/release.test.ts
// runs (or a short allow-list of toolchain set-up), and the runtime stage has the promised shape.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support/processes.ts';

interface Instruction {
  op: string;
  args: string;
  stage: number;
}

function parse(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [, word, rest] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (word === undefined || rest === undefined) throw new Error(`cannot parse Dockerfile line: ${line}`);
    const op = word.toUpperCase();
    if (op === 'FROM') stage++;
    out.push({ op, args: rest.replace(/\s+/g, ' ').trim(), stage });
  }
  return out;
}

/** The fields of the root package.json read here. */
interface RootPackage {
  version: string;
  packageManager: string;
}

const rootPackage = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as RootPackage;
const VERSION = rootPackage.version;
const dockerfile = parse(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const releaseTest = readFileSync(join(ROOT, 'tests', 'release.test.ts'), 'utf8');

// Commands the release test runs itself (checked below in its source), and the set-up of the toolchain.
const TESTED = ['pnpm release', `node packages/release/install.mjs release/dtx-${VERSION}.tgz /opt/dtx`];
const ALLOWED = [
  /^apt-get update && apt-get install -y --no-install-recommends python3 make g\+\+ && rm -rf \/var\/lib\/apt\/lists\/\*$/,
  /^npm install -g pnpm@10\.34\.9$/, // the root package.json's packageManager
  /^pnpm install --frozen-lockfile$/, // the README's set-up step
  /^useradd --system --uid 10001 --user-group --home-dir \/data --shell \/usr\/sbin\/nologin dtx && mkdir -p \/data && chown dtx:dtx \/data$/,
];

describe('Dockerfile', () => {
  it('runs nothing but the tested release scripts and an allow-list of set-up commands', () => {
    const runs = dockerfile.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs.length).toBeGreaterThan(0);
    for (const cmd of runs) {
      expect(TESTED.includes(cmd) || ALLOWED.some((re) => re.test(cmd)), `RUN ${cmd}`).toBe(true);
    }
    // the release test really runs those: the same release command and the same install script
    expect(releaseTest).toContain("spawnSync('pnpm', ['run', '-s', 'release']");
    expect(releaseTest).toContain("join(ROOT, 'packages', 'release', 'install.mjs')");
    expect(rootPackage.packageManager).toBe('pnpm@10.34.9');
    expect(runs).toContain('pnpm release');
  });

  it('has a slim Node 20 runtime stage run by a non-root user, with /data, the ports, a readiness health check and SIGTERM', () => {
    const froms = dockerfile.filter((i) => i.op === 'FROM');
    expect(froms.length).toBe(2);
    expect(froms[1]?.args).toMatch(/^node:20-(bookworm-)?slim$/);
    const runtime = dockerfile.filter((i) => i.stage === 1);
    const get = (op: string) => runtime.filter((i) => i.op === op).map((i) => i.args);
    expect(get('USER')).toEqual(['dtx']);
    expect(get('VOLUME')).toEqual(['/data']);
    expect(get('EXPOSE').join(' ').split(' ').sort()).toEqual(['36788', '36789', '36790']);
    expect(get('STOPSIGNAL')).toEqual(['SIGTERM']);
    expect(get('HEALTHCHECK').join('')).toContain('/api/health/ready');
    expect(get('ENV').join(' ')).toContain('STORE_DB=/data/dtm.sqlite');
    expect(get('COPY')).toEqual(['--from=build /opt/dtx /opt/dtx']);
    expect(get('ENTRYPOINT')).toEqual(['["/opt/dtx/node_modules/.bin/dtx"]']);
  });
});
