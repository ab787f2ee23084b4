// A real HTTP branch service for tests: handlers per path, and a log of every call the
// coordinator made (path, op, gid, branch id, body), so tests assert what a service saw.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BranchRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  gid: string;
  op: string;
  branchId: string;
  transType: string;
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}

export interface BranchReply {
  status?: number;
  body?: unknown;
  /** Answer after this many milliseconds. */
  delayMs?: number;
  /** A Location header (redirects). */
  location?: string;
}

export type Handler = (req: BranchRequest) => BranchReply | Promise<BranchReply>;

export class BranchServer {
  readonly calls: BranchRequest[] = [];
  private readonly handlers = new Map<string, Handler>();
  private server: Server | null = null;
  private inflight = new Map<string, number>();
  /** Highest number of concurrent calls seen for one (path, gid, branch, op). */
  maxConcurrentSame = 0;
  port = 0;
  /** The loopback address it listens on (127.0.0.x). */
  host = '127.0.0.1';

  /** Handles `path` (exact, without query string); unknown paths answer 200 SUCCESS. */
  on(path: string, handler: Handler | BranchReply): this {
    this.handlers.set(path, typeof handler === 'function' ? handler : () => handler);
    return this;
  }

  url(path: string): string {
    return `http://${this.host}:${this.port}${path}`;
  }

  async start(port = 0, host = '127.0.0.1'): Promise<this> {
    this.host = host;
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const u = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(u.searchParams.entries());
    const call: BranchRequest = {
      method: req.method ?? '',
      path: u.pathname,
      query,
      gid: query.gid ?? '',
      op: query.op ?? '',
      branchId: query.branch_id ?? '',
      transType: query.trans_type ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
      at: Date.now(),
    };
    this.calls.push(call);
    const key = `${call.path}|${call.gid}|${call.branchId}|${call.op}`;
    const n = (this.inflight.get(key) ?? 0) + 1;
    this.inflight.set(key, n);
    this.maxConcurrentSame = Math.max(this.maxConcurrentSame, n);
    try {
      const handler = this.handlers.get(call.path);
      const reply: BranchReply = handler ? await handler(call) : {};
      if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
      const body = reply.body === undefined ? { dtm_result: 'SUCCESS' } : reply.body;
      res.writeHead(reply.status ?? 200, {
        'content-type': typeof body === 'string' ? 'text/plain' : 'application/json',
        ...(reply.location ? { location: reply.location } : {}),
      });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    } finally {
      this.inflight.set(key, (this.inflight.get(key) ?? 1) - 1);
    }
  }

  /** Calls for one transaction, as `path:op` strings in arrival order. */
  trail(gid: string): string[] {
    return this.calls.filter((c) => c.gid === gid).map((c) => `${c.path}:${c.op}`);
  }

  callsTo(path: string, gid?: string): BranchRequest[] {
    return this.calls.filter((c) => c.path === path && (gid === undefined || c.gid === gid));
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}

/** Polls `fn` until it returns a truthy value or the time is up. */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 20_000, everyMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`condition not met within ${timeoutMs}ms (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
