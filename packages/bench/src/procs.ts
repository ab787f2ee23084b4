// Child processes of the harness: the branch service and our coordinator.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
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
}

/** Starts our coordinator (`node --import tsx apps/server/src/main.ts`) from the repository root. */
export function startServer(o: ServerOptions): Child {
  const args = ['--import', 'tsx'];
  if (o.cpuProfDir) args.push('--cpu-prof', '--cpu-prof-dir', o.cpuProfDir);
  args.push('apps/server/src/main.ts');
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
