// Child processes of the harness: the branch service and our coordinator.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sleep } from './load.ts';

export const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = join(benchDir, '..', '..');

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface Child {
  proc: ChildProcess;
  pid: number;
  exited: Promise<number | null>;
  stop(timeoutMs?: number): Promise<void>;
}

function wrap(proc: ChildProcess): Child {
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    proc,
    pid: proc.pid as number,
    exited,
    async stop(timeoutMs = 15_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Starts the branch service in its own process; resolves once it listens. */
export async function startBranchService(host: string, port: number): Promise<Child & { port: number; grpcPort: number }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(benchDir, 'src', 'branch-server.ts'), '--host', host, '--port', String(port)], {
    cwd: benchDir,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const child = wrap(proc);
  const rl = createInterface({ input: proc.stdout });
  const first = await Promise.race([
    new Promise<string>((resolve) => rl.once('line', resolve)),
    child.exited.then((code) => {
      throw new Error(`branch service exited with ${code}`);
    }),
  ]);
  rl.close();
  const info = JSON.parse(first) as { port: number; grpcPort: number };
  return { ...child, port: info.port, grpcPort: info.grpcPort };
}

export interface ServerOptions {
  env: Record<string, string>;
  logFile: string;
  /** Directory for `node --cpu-prof` output, or undefined. */
  cpuProfDir?: string;
  /** The bundled server (bundleServer), else the TypeScript sources through tsx. */
  bundle?: string;
}

/**
 * Bundles the coordinator as the release does (packages/release/build.mjs: our workspace code in
 * one esbuild bundle, third-party packages imported from node_modules, the SQL migrations and the
 * proto beside it) from the checkout `root` into `dir`, and returns the entry point: what the benchmark should measure is
 * what users run, not the sources transpiled on the fly by tsx (whose helpers wrap every closure).
 */
export async function bundleServer(dir: string, root = repoRoot): Promise<string> {
  const esbuild = await import('esbuild');
  const dist = join(dir, 'dist');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: { server: 'apps/server/src/main.ts' },
    outdir: dist,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    plugins: [
      {
        // Workspace packages are bundled (they are TypeScript); every other package stays an
        // import, of its absolute path in this checkout (the bundle lives outside the workspace).
        name: 'externals',
        setup(build) {
          build.onResolve({ filter: /^[^./]/ }, async (r) => {
            if (r.path.startsWith('@dtx/') || r.pluginData === 'resolving') return undefined;
            if (r.path.startsWith('node:') || builtinModules.includes(r.path)) return { path: r.path, external: true };
            const found = await build.resolve(r.path, { kind: r.kind, resolveDir: r.resolveDir, importer: r.importer, pluginData: 'resolving' });
            if (found.errors.length) return { errors: found.errors };
            return { path: found.path, external: true };
          });
        },
      },
    ],
    logLevel: 'warning',
  });
  cpSync(join(root, 'prisma', 'migrations'), join(dist, 'migrations'), { recursive: true });
  cpSync(join(root, 'packages', 'coordinator', 'proto'), join(dist, 'proto'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'dtx-bench-server', version: '0.0.0-bench', type: 'module' }));
  return join(dist, 'server.js');
}

/** Starts our coordinator from the repository root: the bundle, or `node --import tsx apps/server/src/main.ts`. */
export function startServer(o: ServerOptions): Child {
  const args = o.bundle ? [] : ['--import', 'tsx'];
  if (o.cpuProfDir) args.push('--cpu-prof', '--cpu-prof-dir', o.cpuProfDir);
  args.push(o.bundle ?? 'apps/server/src/main.ts');
  const log = createWriteStream(o.logFile);
  const proc = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout?.pipe(log);
  proc.stderr?.pipe(log);
  return wrap(proc);
}

/** Waits until GET /api/ping answers 200 (or the child dies, or time runs out). */
export async function waitReady(origin: string, child: Child | null, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let dead = false;
  void child?.exited.then(() => (dead = true));
  while (Date.now() < deadline) {
    if (dead) throw new Error('the coordinator exited during start-up');
    try {
      const res = await fetch(`${origin}/api/ping`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not yet
    }
    await sleep(200);
  }
  throw new Error(`${origin} did not answer /api/ping within ${timeoutMs / 1000}s`);
}
