// etcd as go-zero uses it (docs/protocol/gozero-driver.md §2, §3.2): a service instance is the key
// `<service>/<lease id in decimal>` whose value is its address, held by a 10-second lease that
// is kept alive; clients read every key under `<service>/` and watch the prefix.
import { createRequire } from 'node:module';
import type { Etcd3, Lease, Watcher } from 'etcd3';
import type { Logger } from '@dtx/engine';

// etcd3 (and the gRPC stack under it) takes about a second to load, as much as the rest of the
// coordinator; only the go-zero driver needs it, so it is loaded on first use (start-up target
// of docs/benchmarks.md, "Start-up").
const load = createRequire(import.meta.url);

/** go-zero's default TimeToLive. */
export const LEASE_TTL_SECONDS = 10;

export interface EtcdEndpoint {
  hosts: string[];
  user?: string;
  password?: string;
}

export function newEtcdClient(e: EtcdEndpoint): Etcd3 {
  const { Etcd3: Client } = load('etcd3') as typeof import('etcd3');
  return new Client({
    hosts: e.hosts.map((h) => (/^https?:\/\//.test(h) ? h : `http://${h}`)),
    auth: e.user ? { username: e.user, password: e.password ?? '' } : undefined,
    dialTimeout: 5000,
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what}: no answer from etcd within ${ms}ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Publishes this coordinator under `key` like go-zero's publisher: grant a lease, put
 * `key/<leaseID>` = endpoint on it, keep it alive; when the lease is lost (etcd restarted, the
 * process was paused past the TTL), register again with a new lease, retrying every second.
 * close() revokes the lease so resolvers drop the endpoint at once.
 */
export class EtcdRegistrar {
  private readonly client: Etcd3;
  private lease: Lease | null = null;
  private closed = false;
  private loop: Promise<void> | null = null;
  /** The key currently published ('' while unregistered). */
  registeredKey = '';

  constructor(
    endpoint: EtcdEndpoint,
    private readonly key: string,
    private readonly value: string,
    private readonly log: Logger,
  ) {
    this.client = newEtcdClient(endpoint);
  }

  /**
   * Registers, waiting up to `waitMs` for the first success; if etcd does not answer by then,
   * start-up goes on and registration keeps being retried in the background.
   */
  async start(waitMs = 5000): Promise<void> {
    this.loop = this.registerLoop();
    await Promise.race([this.loop, sleep(waitMs)]);
    if (!this.registeredKey) this.log.warn({ key: this.key }, 'etcd registration not done yet; retrying in the background');
  }

  private async registerLoop(): Promise<void> {
    for (let attempt = 1; !this.closed; attempt++) {
      const lease = this.client.lease(LEASE_TTL_SECONDS, { autoKeepAlive: true });
      // 'lost' also fires for a failed grant; an unattached listener would crash the process.
      lease.on('lost', (err: Error) => this.onLost(lease, err));
      try {
        const id = await withTimeout(lease.grant(), 5000, 'lease grant');
        const key = `${this.key}/${id}`;
        await withTimeout(lease.put(key).value(this.value).exec(), 5000, 'put');
        if (this.closed) {
          await lease.revoke().catch(() => undefined);
          return;
        }
        this.lease = lease;
        this.registeredKey = key;
        this.log.info({ key, value: this.value }, 'registered in etcd');
        return;
      } catch (err) {
        lease.release();
        if (attempt === 1 || attempt % 30 === 0) {
          this.log.warn({ key: this.key, err: (err as Error).message, attempt }, 'etcd registration failed; retrying');
        }
        await sleep(1000);
      }
    }
  }

  private onLost(lease: Lease, err: Error): void {
    if (this.closed || lease !== this.lease) return;
    this.log.warn({ key: this.registeredKey, err: err.message }, 'etcd lease lost; registering again');
    this.lease = null;
    this.registeredKey = '';
    this.loop = this.registerLoop();
  }

  /** Revokes the lease (the key disappears at once) and closes the etcd client. */
  async close(): Promise<void> {
    this.closed = true;
    const lease = this.lease;
    this.lease = null;
    if (lease) {
      try {
        await withTimeout(lease.revoke(), 2000, 'lease revoke');
        this.log.info({ key: this.registeredKey }, 'deregistered from etcd');
      } catch (err) {
        // The key then disappears when the lease expires.
        this.log.warn({ err: (err as Error).message }, 'could not revoke the etcd lease');
      }
    }
    this.registeredKey = '';
    this.client.close();
  }
}

/**
 * The live addresses of one service: all values under `key/`, kept current by a watch that
 * starts right after the snapshot's revision, so no change is missed between the two.
 */
export class ServiceWatcher {
  private readonly byKey = new Map<string, string>();
  private watcher: Watcher | null = null;
  private closed = false;
  readonly ready: Promise<void>;

  constructor(
    private readonly client: Etcd3,
    private readonly key: string,
    private readonly log: Logger,
    timeoutMs = 5000,
  ) {
    this.ready = withTimeout(this.init(), timeoutMs, `resolving ${key}`);
    this.ready.catch(() => undefined);
  }

  private get prefix(): string {
    return `${this.key}/`;
  }

  private async init(): Promise<void> {
    const res = await this.client.getAll().prefix(this.prefix).exec();
    for (const kv of res.kvs) this.byKey.set(kv.key.toString(), kv.value.toString());
    if (this.closed) return;
    const watcher = await this.client
      .watch()
      .prefix(this.prefix)
      .startRevision(String(BigInt(res.header.revision) + 1n))
      .create();
    watcher.on('put', (kv) => this.byKey.set(kv.key.toString(), kv.value.toString()));
    watcher.on('delete', (kv) => this.byKey.delete(kv.key.toString()));
    watcher.on('error', (err: Error) => this.log.warn({ key: this.key, err: err.message }, 'etcd watch error'));
    this.watcher = watcher;
    if (this.closed) await watcher.cancel();
  }

  /** Distinct addresses, in key order (stable for round-robin). */
  addresses(): string[] {
    const keys = [...this.byKey.keys()].sort();
    return [...new Set(keys.map((k) => this.byKey.get(k) as string).filter(Boolean))];
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.watcher?.cancel().catch(() => undefined);
  }
}

/** Watchers shared per (etcd endpoints, service key), each etcd client shared per endpoints. */
export class EtcdResolver {
  private readonly clients = new Map<string, Etcd3>();
  private readonly watchers = new Map<string, ServiceWatcher>();

  constructor(private readonly log: Logger) {}

  /** The service's live addresses; throws when etcd cannot be read the first time. */
  async resolve(endpoint: EtcdEndpoint, key: string): Promise<string[]> {
    const hostsKey = endpoint.hosts.join(',');
    const id = `${hostsKey}|${key}`;
    let w = this.watchers.get(id);
    if (!w) {
      let client = this.clients.get(hostsKey);
      if (!client) {
        client = newEtcdClient(endpoint);
        this.clients.set(hostsKey, client);
      }
      w = new ServiceWatcher(client, key, this.log);
      this.watchers.set(id, w);
    }
    try {
      await w.ready;
    } catch (err) {
      // Not cached: the next call tries again (etcd may be back by then).
      this.watchers.delete(id);
      void w.close();
      throw err;
    }
    return w.addresses();
  }

  async close(): Promise<void> {
    await Promise.all([...this.watchers.values()].map((w) => w.close()));
    this.watchers.clear();
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
