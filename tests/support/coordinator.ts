// Starting the real coordinator for black-box tests: in-process (fast; most suites) or as a child
// process (crash recovery and multi-instance suites need a process they can kill).
import type { ChildProcess } from 'node:child_process';
import type { StoreConfig } from '@dtx/db';
import { defaultConfig, type Config } from '@dtx/config';
import { startCoordinator, type Coordinator } from '@dtx/coordinator';
import { silentLogger } from '@dtx/engine';
import { freePort, startScript } from './processes.ts';
import { json, type DtmFound, type DtmQuery, type JsonReply } from './replies.ts';
import { storeEnv } from './stores.ts';

// apps/server/test imports ROOT from here; its home is processes.ts.
export { ROOT } from './processes.ts';

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
  const base = `http://127.0.0.1:${port}`;
  const child = await startScript({
    script: 'apps/server/src/main.ts',
    env: {
      ...storeEnv(store),
      HTTP_PORT: String(port),
      GRPC_PORT: '0',
      LISTEN_HOST: '127.0.0.1',
      TRANS_CRON_INTERVAL: '1',
      LOG_LEVEL: 'info',
      ...env,
    },
    ready: async () => (await fetch(`${base}/api/ping`)).ok,
    name: 'coordinator',
    timeoutMs: 30_000,
    everyMs: 100,
  });
  return { port, base, proc: child.proc, output: () => child.output(), kill: (signal = 'SIGKILL') => child.stop(signal) };
}

/** A reply of the dtm HTTP API (tests/support/replies.ts has the shapes of its bodies). */
export type DtmReply = JsonReply;

/** A small dtm HTTP client for tests (what every SDK does underneath). */
export class DtmHttp {
  constructor(readonly base: string) {}

  post(path: string, body: unknown): Promise<DtmReply> {
    return this.send(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  get(path: string): Promise<DtmReply> {
    return this.send(path, {});
  }

  /** The reply's status, its text, and the text parsed as JSON (null when it is not JSON). */
  private async send(path: string, init: RequestInit): Promise<DtmReply> {
    const r = await fetch(`${this.base}/api/dtmsvr/${path}`, init);
    const text = await r.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
    return { status: r.status, body: parsed, text };
  }

  async query(gid: string): Promise<DtmQuery> {
    const r = await this.get(`query?gid=${encodeURIComponent(gid)}`);
    if (r.status !== 200) throw new Error(`query ${gid}: ${r.status} ${r.text}`);
    return json<DtmQuery>(r);
  }

  async status(gid: string): Promise<string | undefined> {
    return (await this.query(gid)).transaction?.status;
  }

  /** Waits for the transaction to reach `status`. */
  async waitStatus(gid: string, status: string, timeoutMs = 30_000): Promise<DtmFound> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { transaction, branches } = await this.query(gid);
      if (transaction?.status === status) return { transaction, branches };
      if (Date.now() > deadline) throw new Error(`${gid} stayed '${transaction?.status}', expected '${status}'`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
