// Our coordinator as a child process (`node --import tsx apps/server/src/main.ts`, like
// tests/support/coordinator.ts's startChild), on a port it keeps across restarts so that the
// submitter's target URL stays valid after a kill.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { StoreEnv } from './databases.ts';
import { exited, freePort, repoRoot, waitHttp } from './procs.ts';

export class Coordinator {
  private proc: ChildProcess | null = null;
  private port = 0;
  private readonly log: WriteStream;
  starts = 0;
  kills = 0;

  constructor(
    readonly name: string,
    private readonly store: StoreEnv,
    private readonly env: Record<string, string>,
    logDir: string,
  ) {
    this.log = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get running(): boolean {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async start(timeoutMs = 60_000): Promise<void> {
    if (!this.port) this.port = await freePort();
    this.log.write(`\n=== start ${++this.starts} at ${new Date().toISOString()}\n`);
    const proc = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'apps/server/src/main.ts')], {
      cwd: repoRoot,
      env: {
        ...process.env,
        ...this.store,
        HTTP_PORT: String(this.port),
        GRPC_PORT: '0',
        LISTEN_HOST: '127.0.0.1',
        TRANS_CRON_INTERVAL: '1',
        LOG_LEVEL: 'warn',
        STORE_MAX_OPEN_CONNS: '20',
        ...this.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout.pipe(this.log, { end: false });
    proc.stderr.pipe(this.log, { end: false });
    proc.once('exit', (code, sig) => this.log.write(`=== exit code=${code} signal=${sig} at ${new Date().toISOString()}\n`));
    this.proc = proc;
    await waitHttp(`${this.base}/api/ping`, timeoutMs, () => proc.exitCode === null);
  }

  /** SIGKILL: no shutdown hook runs, leases stay held until they expire. */
  async kill(): Promise<void> {
    const p = this.proc;
    if (!p || !this.running) return;
    this.kills++;
    p.kill('SIGKILL');
    await exited(p);
  }

  async close(): Promise<void> {
    const p = this.proc;
    if (p && this.running) {
      p.kill('SIGKILL');
      await exited(p);
    }
    this.log.end();
  }
}
