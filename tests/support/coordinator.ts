// Starting the real coordinator for black-box tests: in-process (fast; most suites) or as a child
// process (crash recovery and multi-instance suites need a process they can kill).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StoreConfig } from '@dtx/db';
import { defaultConfig, type Config } from '@dtx/config';
import { startCoordinator, type Coordinator } from '@dtx/coordinator';
import { silentLogger } from '@dtx/engine';
import { storeEnv } from './stores.ts';

export const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

/** Test defaults: dtm's minimum RetryInterval, a fast idle scheduler. */
export function testConfig(store: StoreConfig, overrides: Partial<Config> = {}): Config {
  const c = defaultConfig();
  c.HttpPort = 0;
  c.GrpcPort = 0;
  c.ListenHost = '127.0.0.1';
  c.TransCronInterval = 1;
  c.LogLevel = 'error';
  c.Store = { ...c.Store, Driver: store.driver, Host: store.host, Port: store.port, User: store.user, Password: store.password, Db: store.db };
  return { ...c, ...overrides };
}

export async function startInProcess(store: StoreConfig, overrides: Partial<Config> = {}): Promise<Coordinator> {
  return startCoordinator(testConfig(store, overrides), { logger: silentLogger });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface ChildCoordinator {
  port: number;
  base: string;
  proc: ChildProcess;
  output: () => string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Runs `pnpm start:server`'s entry point as a child process with the store in its environment. */
export async function startChild(store: StoreConfig, env: Record<string, string> = {}): Promise<ChildCoordinator> {
  const port = await freePort();
  let out = '';
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'apps/server/src/main.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...storeEnv(store),
      HTTP_PORT: String(port),
      GRPC_PORT: '0',
      LISTEN_HOST: '127.0.0.1',
      TRANS_CRON_INTERVAL: '1',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`coordinator exited with ${proc.exitCode}:\n${out}`);
    try {
      const r = await fetch(`${base}/api/ping`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`coordinator did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    base,
    proc,
    output: () => out,
    kill: (signal = 'SIGKILL') =>
      new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill(signal);
      }),
  };
}

/** A small dtm HTTP client for tests (what every SDK does underneath). */
export class DtmHttp {
  constructor(readonly base: string) {}

  async post(path: string, body: unknown): Promise<{ status: number; body: any; text: string }> {
    const r = await fetch(`${this.base}/api/dtmsvr/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await r.text();
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
    return { status: r.status, body: parsed, text };
  }

  async get(path: string): Promise<{ status: number; body: any; text: string }> {
    const r = await fetch(`${this.base}/api/dtmsvr/${path}`);
    const text = await r.text();
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
    return { status: r.status, body: parsed, text };
  }

  async query(gid: string): Promise<{ transaction: any; branches: any[] }> {
    const r = await this.get(`query?gid=${encodeURIComponent(gid)}`);
    if (r.status !== 200) throw new Error(`query ${gid}: ${r.status} ${r.text}`);
    return r.body;
  }

  async status(gid: string): Promise<string | undefined> {
    return (await this.query(gid)).transaction?.status;
  }

  /** Waits for the transaction to reach `status`. */
  async waitStatus(gid: string, status: string, timeoutMs = 30_000): Promise<{ transaction: any; branches: any[] }> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const q = await this.query(gid);
      last = q.transaction?.status;
      if (last === status) return q;
      if (Date.now() > deadline) throw new Error(`${gid} stayed '${last}', expected '${status}'`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
