// Workers (docs/operations.md, "Workers"): with Workers > 1 the process started by `dtx server`
// is a primary that only forks, watches and stops N coordinator processes. Each worker is a full
// instance (its own instance id, leases, coordinator_node row) and listens on the same HTTP and
// gRPC ports: node:cluster hands incoming connections to the workers in turn. The primary does no
// request work; it answers the workers' requests for the whole group's metrics (prom-client's
// AggregatorRegistry).
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Config } from '@dtx/config';
import type { ShutdownLogger } from '@dtx/runtime';

/** The environment variable that carries a worker's index (0 .. N-1; a replacement keeps it). */
export const WORKER_INDEX_ENV = 'DTX_WORKER_INDEX';

const METRICS_REQ = 'dtx:metrics-req';
const METRICS_RES = 'dtx:metrics-res';

/** Processes to run: Workers, or one per core on PostgreSQL/MySQL when it is 0 (SQLite: always 1). */
export function workerCount(config: Config): number {
  if (config.Store.Driver === 'sqlite') return 1;
  return config.Workers > 0 ? config.Workers : availableParallelism();
}

/** This process's worker index, or null when it is not a worker of a group. */
export function workerIndex(): number | null {
  if (!cluster.isWorker) return null;
  const n = Number(process.env[WORKER_INDEX_ENV]);
  return Number.isInteger(n) && n >= 0 ? n : null;
}

/**
 * The primary: forks `n` workers, replaces one that dies (after a back-off that grows while
 * replacements keep dying within a minute), and on SIGTERM/SIGINT stops them all and exits 0 once
 * every worker has exited (1 when one did not stop cleanly).
 */
export function runPrimary(n: number, log: ShutdownLogger): void {
  const aggregator = new AggregatorRegistry();
  let stopping = false;
  let failed = false;
  const byIndex = new Map<number, Worker>();
  const backoff = new Map<number, { ms: number; at: number }>();

  const fork = (index: number) => {
    const w = cluster.fork({ [WORKER_INDEX_ENV]: String(index) });
    byIndex.set(index, w);
    w.on('message', (m: { type?: string; id?: number }) => {
      if (m?.type !== METRICS_REQ) return;
      aggregator.clusterMetrics().then(
        (text) => w.send({ type: METRICS_RES, id: m.id, text }),
        (err: Error) => w.send({ type: METRICS_RES, id: m.id, error: err.message }),
      );
    });
    w.on('exit', (code, signal) => {
      if (byIndex.get(index) === w) byIndex.delete(index);
      if (stopping) {
        // Killed by our SIGTERM before it handled signals (still loading): it had nothing running.
        if (code !== 0 && signal !== 'SIGTERM') {
          failed = true;
          log.error({ worker: index, code, signal }, 'worker did not stop cleanly');
        }
        if (byIndex.size === 0) process.exit(failed ? 1 : 0);
        return;
      }
      const now = Date.now();
      const prev = backoff.get(index);
      const ms = prev && now - prev.at < 60_000 ? Math.min(prev.ms * 2, 30_000) : 500;
      backoff.set(index, { ms, at: now });
      log.error({ worker: index, pid: w.process.pid, code, signal, restartInMs: ms }, 'worker exited; starting a replacement');
      setTimeout(() => {
        if (!stopping) fork(index);
      }, ms);
    });
  };

  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, workers: byIndex.size }, 'shutting down the workers');
    if (byIndex.size === 0) process.exit(0);
    for (const w of byIndex.values()) w.process.kill('SIGTERM');
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  log.info({ workers: n, pid: process.pid }, 'starting workers');
  for (let i = 0; i < n; i++) fork(i);
}

/**
 * In a worker: the text of GET /api/metrics for the whole group, asked of the primary (which
 * collects every worker's registry, this one's included).
 */
export function groupMetrics(registry: Registry): () => Promise<string> {
  // prom-client answers the primary's collection from the registries set here; constructing an
  // AggregatorRegistry is what installs that listener in a worker.
  AggregatorRegistry.setRegistries([registry]);
  new AggregatorRegistry();
  let next = 0;
  const waiting = new Map<number, { resolve: (t: string) => void; reject: (e: Error) => void }>();
  process.on('message', (m: { type?: string; id?: number; text?: string; error?: string }) => {
    if (m?.type !== METRICS_RES || m.id === undefined) return;
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.error !== undefined) w.reject(new Error(m.error));
    else w.resolve(m.text ?? '');
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = ++next;
      waiting.set(id, { resolve, reject });
      process.send?.({ type: METRICS_REQ, id });
    });
}
