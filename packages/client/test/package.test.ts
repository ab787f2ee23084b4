// @dtx/client is publishable on its own: it imports nothing but Node's built-ins and its one
// dependency, undici (no coordinator package, no driver), builds with tsc into dist/, and its packed files are what `exports` names.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const pkg = fileURLToPath(new URL('..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('@dtx/client package', () => {
  // The optional peers (@grpc/grpc-js, @grpc/proto-loader) are loaded with import() on first use;
  // Nest's (@nestjs/common, rxjs) only by the `@dtx/client/nest` entry, which nothing else imports.
  it('imports only relative files, node: built-ins and its dependencies from src/ (statically), Nest only from the nest entry', () => {
    const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    const dependencies = new Set(Object.keys(manifest.dependencies ?? {}));
    expect([...dependencies]).toEqual(['undici']);
    const foreign: string[] = [];
    for (const f of sources(join(pkg, 'src'))) {
      const nestEntry = relative(pkg, f) === join('src', 'branch', 'nest.ts');
      for (const m of readFileSync(f, 'utf8').matchAll(/^(?:import|export)\b[^;'"]*from\s+'([^']+)'/gm)) {
        const spec = m[1] ?? '';
        if (spec.startsWith('./') || spec.startsWith('../') || spec.startsWith('node:')) {
          if (!nestEntry && spec.endsWith('/nest.js')) foreign.push(`${relative(pkg, f)}: ${spec}`);
        } else if (!dependencies.has(spec) && !(nestEntry && (spec === '@nestjs/common' || spec === 'rxjs'))) {
          foreign.push(`${relative(pkg, f)}: ${spec}`);
        }
      }
    }
    expect(foreign).toEqual([]);
  });

  // The package ships its own copy of dtm's gRPC contract (it cannot depend on the coordinator's
  // packages); the two copies must never drift apart.
  it("carries the same dtmgimp.proto as the coordinator's", () => {
    const coordinator = join(pkg, '..', 'coordinator', 'proto', 'dtmgimp.proto');
    expect(readFileSync(join(pkg, 'proto', 'dtmgimp.proto'), 'utf8')).toBe(readFileSync(coordinator, 'utf8'));
  });

  it('builds with tsc and the built ESM module loads with its exports', () => {
    execFileSync(process.execPath, [join(pkg, '..', '..', 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(pkg, 'tsconfig.build.json')], {
      stdio: 'pipe',
    });
    const out = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(join(pkg, 'dist', 'index.js'))}); console.log(Object.keys(m).sort().join(','))`,
      ],
      { encoding: 'utf8' },
    );
    const names = out.trim().split(',');
    for (const n of [
      'DtmClient',
      'Saga',
      'Msg',
      'Tcc',
      'Failure',
      'Ongoing',
      'BranchBarrier',
      'pgDb',
      'mysql2Db',
      'prismaDb',
      'dtmExpress',
      'dtmFastify',
    ]) {
      expect(names).toContain(n);
    }
    expect(readFileSync(join(pkg, 'dist', 'index.d.ts'), 'utf8')).toContain("export { DtmClient } from './client.js'");
    const nest = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', `const m = await import('@dtx/client/nest'); console.log(Object.keys(m).sort().join(','))`],
      { encoding: 'utf8', cwd: pkg },
    );
    expect(nest.trim()).toBe('DtmBranch,DtmInterceptor,DtmRoute');
  });

  it('packs dist/, the DDL files and the README, not the sources or tests', () => {
    const json = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: pkg, encoding: 'utf8' });
    const files = (JSON.parse(json) as { files: { path: string }[] }[])[0]?.files.map((f) => f.path) ?? [];
    expect(files).toEqual(
      expect.arrayContaining([
        'dist/index.js',
        'dist/index.d.ts',
        'dist/branch/nest.js',
        'dist/branch/nest.d.ts',
        'sql/postgres.sql',
        'sql/mysql.sql',
        'proto/dtmgimp.proto',
        'README.md',
        'package.json',
      ]),
    );
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);
  });
});
