// The dashboard's web server: one Node HTTP server that serves the tRPC router (/api/trpc), the
// HTTP API for scripts (/api/v1) and the Next.js pages (everything else), all under the configured
// base path. The API runs here, in plain Node, rather than inside Next's bundle: database drivers
// and the generated Prisma clients stay ordinary modules, and the coordinator can share the process.
//
// Security (docs/security.md, "Dashboard"): pages need a session (else a redirect to the login
// page); mutations need the custom CSRF header and, when the browser sends an Origin, the same
// origin; cookies are HTTP-only and SameSite=Strict, Secure over HTTPS; every response carries a
// strict Content-Security-Policy (a fresh nonce per page for Next's inline scripts) with
// `frame-ancestors 'none'`, and everything but Next's static files is sent `Cache-Control:
// no-store`. X-Forwarded-For/-Proto/-Host are believed only from `Dashboard.TrustProxy` proxies.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { nodeHTTPRequestHandler } from '@trpc/server/adapters/node-http';
import { appRouter, createContext, CSRF_HEADER, handleOidc, handleRest, userFromCookie, type ApiDeps, type ClientInfo } from '@dtx/api';
import { checkReadiness, READY_PATH } from '@dtx/coordinator';

export interface WebServerOptions {
  deps: ApiDeps;
  /** Next's request handler (pages and static assets). */
  next: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  port: number;
  host: string;
  /** The in-process coordinator's scheduler health (dtx start), part of readiness. */
  scheduler?: () => { ok: boolean; reason?: string };
  /** Next.js development mode: its hot reload needs eval and a WebSocket in the CSP. */
  dev?: boolean;
}

export interface WebServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** The first value of a header that proxies may send as a list. */
const firstOf = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)?.split(',')[0]?.trim() || undefined;

export interface RequestOrigin extends ClientInfo {
  /** The host the browser asked for (Host, or X-Forwarded-Host behind a trusted proxy). */
  host: string;
}

/**
 * Who is asking, and for which host. With `trustProxy` = n > 0, the client's address is the n-th
 * entry from the right of X-Forwarded-For (the one the outermost trusted proxy saw), and the
 * protocol and host are the first values of X-Forwarded-Proto and X-Forwarded-Host; with 0 those
 * headers are ignored, whatever a client sends.
 */
export function requestOrigin(req: IncomingMessage, trustProxy: number): RequestOrigin {
  const encrypted = !!(req.socket as { encrypted?: boolean }).encrypted;
  const origin: RequestOrigin = {
    remoteAddress: req.socket.remoteAddress ?? '',
    userAgent: String(req.headers['user-agent'] ?? ''),
    https: encrypted,
    host: req.headers.host ?? '',
  };
  if (trustProxy <= 0) return origin;
  const chain = String(req.headers['x-forwarded-for'] ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  if (chain.length > 0) origin.remoteAddress = chain[Math.max(0, chain.length - trustProxy)]!;
  const proto = firstOf(req.headers['x-forwarded-proto']);
  if (proto) origin.https = proto.toLowerCase() === 'https';
  origin.host = firstOf(req.headers['x-forwarded-host']) ?? origin.host;
  return origin;
}

function sameOrigin(req: IncomingMessage, o: RequestOrigin): boolean {
  const origin = req.headers.origin;
  if (!origin) return true; // same-origin fetches may omit it; SameSite=Strict and the header still hold
  try {
    return new URL(origin).host === o.host;
  } catch {
    return false;
  }
}

/** The policy of every response; pages get a nonce that Next puts on its inline scripts. */
export function contentSecurityPolicy(nonce: string, dev = false): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ''}`,
    `style-src 'self' 'nonce-${nonce}'`,
    "img-src 'self' data:",
    "font-src 'self' data:",
    `connect-src 'self'${dev ? ' ws: wss:' : ''}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** No cache may keep this response: Next's own Cache-Control (s-maxage for static pages) is replaced. */
function noStore(res: ServerResponse): void {
  const set = res.setHeader.bind(res);
  res.setHeader = (name: string, value: number | string | readonly string[]) =>
    set(name, name.toLowerCase() === 'cache-control' ? 'no-store' : value);
  set('cache-control', 'no-store');
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage, limit = 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw Object.assign(new Error('request body too large'), { status: 413 });
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startWebServer(o: WebServerOptions): Promise<WebServer> {
  const base = o.deps.settings.basePath;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const from = requestOrigin(req, o.deps.settings.trustProxy);
    const nonce = randomBytes(16).toString('base64');
    const csp = contentSecurityPolicy(nonce, o.dev);
    res.setHeader('content-security-policy', csp);
    res.setHeader('x-frame-options', 'DENY');
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'same-origin');
    if (base && url.pathname !== base && !url.pathname.startsWith(`${base}/`)) {
      if (url.pathname === '/') {
        res.writeHead(302, { location: `${base}/` });
        return void res.end();
      }
      res.writeHead(404, { 'content-type': 'text/plain' });
      return void res.end('not found');
    }
    const path = url.pathname.slice(base.length) || '/';
    if (!path.startsWith('/_next/static/')) noStore(res);

    if (path.startsWith('/api/trpc/')) {
      if (req.method !== 'GET' && (req.headers[CSRF_HEADER] !== '1' || !sameOrigin(req, from))) {
        return json(res, 403, { error: { message: `cross-site request refused (send the ${CSRF_HEADER} header from the dashboard's origin)` } });
      }
      return nodeHTTPRequestHandler({
        router: appRouter,
        req,
        res,
        path: decodeURIComponent(path.slice('/api/trpc/'.length)),
        createContext: () =>
          createContext(o.deps, {
            cookie: req.headers.cookie,
            https: from.https,
            remoteAddress: from.remoteAddress,
            userAgent: from.userAgent,
            setCookie: (h) => res.appendHeader('set-cookie', h),
          }),
        onError: ({ error, path: p }) => {
          if (error.code === 'INTERNAL_SERVER_ERROR') o.deps.logger.error({ err: error.cause ?? error, path: p }, 'dashboard API error');
        },
      });
    }

    if (path.startsWith('/api/v1/')) {
      const body = req.method === 'POST' ? await readBody(req) : '';
      const r = await handleRest(o.deps, {
        method: req.method ?? 'GET',
        path: path.slice('/api/v1'.length),
        query: url.searchParams,
        headers: { authorization: req.headers.authorization, 'content-type': req.headers['content-type'] },
        body,
        client: from,
      });
      return json(res, r.status, r.body, r.headers);
    }

    // Single sign-on (packages/api/src/auth/oidc-routes.ts), when configured.
    if (path.startsWith('/api/auth/oidc/') && (await handleOidc(o.deps, req, res, { path, query: url.searchParams, client: from }))) return;

    if (path === '/api/health') return json(res, 200, { ok: true });
    // The coordinator's readiness rule (packages/coordinator/src/http/health.ts) for this process.
    if (path === READY_PATH) {
      const r = await checkReadiness({ ping: () => o.deps.db.store.ping(), scheduler: o.scheduler });
      return json(res, r.status, r.body);
    }

    // Pages need a session; Next's assets and the login page do not.
    const open = path.startsWith('/_next/') || path === '/login' || path === '/favicon.ico' || path.startsWith('/api/');
    if (!open && req.method === 'GET' && !(await userFromCookie(o.deps, req.headers.cookie))) {
      const next = path === '/' ? '' : `?next=${encodeURIComponent(path + url.search)}`;
      res.writeHead(302, { location: `${base}/login${next}`, 'cache-control': 'no-store' });
      return void res.end();
    }
    // Next reads the nonce for its inline scripts from the request's policy header (the pages
    // are rendered per request: src/app/layout.tsx), so browsers run only the scripts it wrote.
    req.headers['content-security-policy'] = csp;
    return o.next(req, res);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error & { status?: number }) => {
      o.deps.logger.error({ err: err.message, url: req.url }, 'dashboard request failed');
      if (!res.headersSent) json(res, err.status ?? 500, { error: 'INTERNAL', message: err.status ? err.message : 'internal error' });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
