// Ports and child processes for the black-box suites and the dashboard's end-to-end setup: a free
// local port, and a repository script run with tsx as a child process that counts as started once
// a readiness check passes. No workspace imports here, so the Playwright setup can load it cheaply.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

/** A TCP port on 127.0.0.1 that nothing listens on at the moment of asking. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface ScriptProcess {
  proc: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Sends `signal` and resolves once it has exited; with `forceAfterMs`, SIGKILL after that long. */
  stop(signal?: NodeJS.Signals, forceAfterMs?: number): Promise<void>;
}

export interface ScriptOptions {
  /** Path of the script, relative to the repository root. */
  script: string;
  args?: string[];
  /** Added to this process's environment. */
  env: Record<string, string>;
  /** Polled until it holds; an exception counts as not yet. */
  ready: (output: string) => boolean | Promise<boolean>;
  /** For error messages: "<name> exited with …", "<name> did not start". */
  name: string;
  timeoutMs: number;
  everyMs: number;
}

/** Runs `node --import tsx <script>` from the repository root; resolves once `ready` holds. */
export async function startScript(o: ScriptOptions): Promise<ScriptProcess> {
  let out = '';
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, o.script), ...(o.args ?? [])], {
    cwd: ROOT,
    env: { ...process.env, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${o.name} exited with ${proc.exitCode}:\n${out}`);
    let ready = false;
    try {
      ready = await o.ready(out);
    } catch {
      // not yet
    }
    if (ready) break;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`${o.name} did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, o.everyMs));
  }
  return {
    proc,
    output: () => out,
    stop: (signal = 'SIGTERM', forceAfterMs) =>
      new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill(signal);
        if (forceAfterMs !== undefined) setTimeout(() => proc.kill('SIGKILL'), forceAfterMs).unref();
      }),
  };
}
