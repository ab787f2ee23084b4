// The release build (docs/deploying.md). `pnpm build`: the dashboard's `next build`, then one
// esbuild bundle of every workspace package (TypeScript, generated Prisma clients included) with
// three entry points (dist/cli.js = the `dtx` command, dist/server.js, dist/dashboard.js), the SQL
// migrations and dtmgimp.proto copied beside it, and the Next.js build copied to web/. Third-party
// packages stay external and become the dependencies of the package `dtx` (their versions are the
// workspace's pins). `pnpm release` (`--pack`) packs release/pkg into release/dtx-<version>.tgz.
//
// The Dockerfile runs exactly this; tests/release.test.ts installs and runs its output.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OUT = join(ROOT, 'release');
const PKG = join(OUT, 'pkg');
const DIST = join(PKG, 'dist');
const WEB = join(ROOT, 'apps', 'web');
/**
 * The fields of a package.json read here.
 * @typedef {{
 *   version?: string,
 *   description?: string,
 *   license?: string,
 *   engines?: { node?: string },
 *   dependencies?: Record<string, string>,
 *   devDependencies?: Record<string, string>,
 * }} PackageJson
 */
/** @param {string} f */
function readJson(f) {
  /** @type {unknown} */
  const json = JSON.parse(readFileSync(f, 'utf8'));
  return /** @type {PackageJson} */ (json);
}

/**
 * @param {string} cmd
 * @param {string[]} args
 * @param {import('node:child_process').SpawnSyncOptions} [opts]
 */
function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: ROOT, ...opts, env: { ...process.env, ...opts.env } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
}

/** Every third-party dependency pinned by a workspace package: name -> version. */
function workspacePins() {
  /** @type {Map<string, string>} */
  const pins = new Map();
  for (const group of ['apps', 'packages']) {
    for (const d of readdirSync(join(ROOT, group))) {
      const f = join(ROOT, group, d, 'package.json');
      if (!existsSync(f)) continue;
      const p = readJson(f);
      for (const [name, version] of Object.entries({ ...p.devDependencies, ...p.dependencies })) {
        if (version.startsWith('workspace:')) continue;
        if (pins.has(name) && pins.get(name) !== version) throw new Error(`${name} is pinned to ${pins.get(name)} and ${version}`);
        pins.set(name, version);
      }
    }
  }
  return pins;
}

const BUNDLED = ['@trpc/server'];
/** @param {string} spec */
const packageOf = (spec) =>
  spec
    .split('/')
    .slice(0, spec.startsWith('@') ? 2 : 1)
    .join('/');
const builtins = new Set(builtinModules);

const basePath = process.env.DASHBOARD_BASE_PATH ?? '';
const distDir = basePath ? `.next${basePath.replace(/[^A-Za-z0-9]+/g, '-')}` : '.next'; // apps/web/server/dist-dir.ts

const t0 = Date.now();
// 1. The dashboard's production build (skipped when current, see apps/web/server/build.ts).
run(process.execPath, ['--import', 'tsx', join(WEB, 'server', 'build.ts'), basePath], { cwd: WEB, env: { NEXT_TELEMETRY_DISABLED: '1' } });

// 2. One bundle of our code; everything from node_modules stays an import of the installed package.
rmSync(PKG, { recursive: true, force: true });
mkdirSync(DIST, { recursive: true });
/** @type {Set<string>} */
const used = new Set();
/** @type {import('esbuild').Plugin} */
const externals = {
  name: 'externals',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (a) => {
      if (a.path.startsWith('node:') || builtins.has(a.path)) return { path: a.path, external: true };
      if (a.path.startsWith('@dtx/')) return undefined; // workspace code: bundled
      // Plain JavaScript that would pull TypeScript into the install as a required peer dependency.
      if (BUNDLED.includes(packageOf(a.path))) return undefined;
      used.add(packageOf(a.path));
      return { path: a.path, external: true };
    });
  },
};
const result = await esbuild.build({
  absWorkingDir: ROOT,
  entryPoints: {
    cli: 'packages/release/src/cli.ts',
    server: 'apps/server/src/main.ts',
    dashboard: 'apps/web/server/main.ts',
  },
  outdir: DIST,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunk-[hash]',
  plugins: [externals],
  logLevel: 'warning',
  metafile: true,
  legalComments: 'none',
});
if (result.errors.length) process.exit(1);
// The chunks must sit right under dist/ for the paths our code computes from import.meta.url:
// packages/runtime's VERSION reads ../package.json; migrations/ and proto/ are looked up beside it.
for (const f of Object.keys(result.metafile.outputs)) {
  if (!relative(DIST, join(ROOT, f)).match(/^[^/]+\.js$/)) throw new Error(`unexpected output ${f}`);
}
cpSync(join(ROOT, 'prisma', 'migrations'), join(DIST, 'migrations'), { recursive: true });
cpSync(join(ROOT, 'packages', 'coordinator', 'proto'), join(DIST, 'proto'), { recursive: true });

// 3. The Next.js app as `next start` needs it: the build (without its cache) and the config as JavaScript.
mkdirSync(join(PKG, 'web'));
cpSync(join(WEB, distDir), join(PKG, 'web', distDir), {
  recursive: true,
  // cache: build-time only; types: TypeScript declarations for `tsc`, not read at run time
  filter: (src) => !['cache', 'types'].includes(relative(join(WEB, distDir), src)),
});
// Next records the build machine's folders in this manifest (used only by its standalone mode, not
// by our server); the installed package must not point into the build machine.
for (const f of ['required-server-files.json', 'required-server-files.js']) {
  const file = join(PKG, 'web', distDir, f);
  if (!existsSync(file)) continue;
  const text = readFileSync(file, 'utf8').replaceAll(JSON.stringify(WEB), '"."').replaceAll(JSON.stringify(ROOT), '".."');
  if (text.includes(ROOT)) throw new Error(`${f} still names ${ROOT}`);
  writeFileSync(file, text);
}
if (existsSync(join(WEB, 'public'))) cpSync(join(WEB, 'public'), join(PKG, 'web', 'public'), { recursive: true });
await esbuild.build({
  absWorkingDir: ROOT,
  entryPoints: ['apps/web/next.config.ts'],
  outfile: join(PKG, 'web', 'next.config.mjs'),
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
});
// Next's production server needs these beside next itself.
for (const p of ['next', 'react', 'react-dom']) used.add(p);

// 4. The package.
const root = readJson(join(ROOT, 'package.json'));
const pins = workspacePins();
/** @type {Record<string, string | undefined>} */
const dependencies = {};
for (const name of [...used].sort()) {
  if (!pins.has(name)) throw new Error(`the bundle imports ${name}, which no workspace package declares`);
  dependencies[name] = pins.get(name);
}
writeFileSync(
  join(PKG, 'package.json'),
  `${JSON.stringify(
    {
      name: 'dtx',
      version: root.version,
      description: root.description,
      license: root.license,
      type: 'module',
      bin: { dtx: 'dist/cli.js' },
      engines: { node: root.engines?.node },
      files: ['dist', 'web', 'README.md'],
      dependencies,
    },
    null,
    2,
  )}\n`,
);
writeFileSync(
  join(PKG, 'README.md'),
  `# dtx ${root.version}\n\nA dtm-compatible distributed transaction coordinator. \`npx dtx --help\`; see docs/deploying.md in the source repository.\n`,
);
console.log(`release build: ${relative(ROOT, PKG)} (${Object.keys(dependencies).length} dependencies) in ${((Date.now() - t0) / 1000).toFixed(1)}s`);

// 5. `--pack`: release/dtx-<version>.tgz
if (process.argv.includes('--pack')) {
  rmSync(join(OUT, `dtx-${root.version}.tgz`), { force: true });
  run('npm', ['pack', '--silent', '--pack-destination', OUT], { cwd: PKG });
  console.log(`release: release/dtx-${root.version}.tgz`);
}
