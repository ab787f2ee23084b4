// The HTTP API for scripts: REST routes mapped onto the same tRPC procedures the dashboard uses
// (so roles, validation and the audit trail are identical), authenticated with HTTP Basic
// (a dashboard user's name and password). Transport-agnostic: the web server passes the request
// in and writes the response out.
//
//   GET  /api/v1/transactions?status=submitted,aborting&type=saga&gid=order-&gidMode=prefix
//        &stuck=1&createdFrom=<ms>&createdTo=<ms>&cursor=<id>&limit=50 (and every key of filters.ts:
//        stuckFailingSeconds, failingAt, errorText, retryMin, updatedFrom, finishedTo, branchUrl, ...)
//        &sort=created|updated|nextRetry|retries&dir=asc|desc
//   GET  /api/v1/transactions/<gid>
//   GET  /api/v1/counts?<same filters>
//   POST /api/v1/transactions/<gid>/retry        {"reason": "..."}
//   POST /api/v1/transactions/<gid>/abort        {"reason": "..."}
//   POST /api/v1/transactions/<gid>/force-stop   {"reason": "...", "confirmGid": "<gid>"}
//   POST /api/v1/bulk   {"action": "retry"|"abort", "reason": "...", "gids": [...]}  or  "filter": {...}
//   GET  /api/v1/audit?cursor=<id>&limit=50
//   GET  /api/v1/nodes
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { z } from 'zod';
import type { ApiDeps } from './deps.ts';
import { filterSchema, storableText, type Filter, type SortKey } from './filters.ts';
import { createCaller } from './router.ts';
import { authenticate, ThrottledError } from './routers/auth.ts';
import type { ClientInfo } from './auth/session.ts';
import { describeZodError } from './errors.ts';
import { runBulk, targetSchema } from './routers/actions.ts';
import type { Context } from './trpc.ts';

export interface RestRequest {
  method: string;
  /** path below /api/v1, e.g. /transactions/abc/retry */
  path: string;
  query: URLSearchParams;
  headers: { authorization?: string; 'content-type'?: string };
  body: string;
  /** Where the request came from (login limits and audit rows); the web server fills it in. */
  client?: ClientInfo;
}

export interface RestResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

const NUMERIC_FILTERS = [
  'stuckFailingSeconds',
  'stuckFailedCalls',
  'stuckOngoingSeconds',
  'stuckOverdueSeconds',
  'stuckAgeSeconds',
  'retryMin',
  'retryMax',
  'updatedFrom',
  'updatedTo',
  'finishedFrom',
  'finishedTo',
] as const satisfies readonly (keyof Filter)[];

/** Query parameters as a filter; the procedure's input schema validates it. */
function filterFromQuery(q: URLSearchParams): Filter {
  const list = (k: string) =>
    q.get(k)
      ? q
          .get(k)!
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : undefined;
  const num = (k: string) => (q.get(k) ? Number(q.get(k)) : undefined);
  const bool = (k: string) => (q.get(k) ? ['1', 'true', 'yes'].includes(q.get(k)!.toLowerCase()) : undefined);
  return {
    gid: q.get('gid') ?? undefined,
    gidMode: (q.get('gidMode') ?? undefined) as 'exact' | 'prefix' | undefined,
    status: list('status'),
    transType: list('type'),
    createdFrom: num('createdFrom'),
    createdTo: num('createdTo'),
    stuck: bool('stuck'),
    ...Object.fromEntries(NUMERIC_FILTERS.map((k) => [k, num(k)])),
    failingAt: q.get('failingAt') ?? undefined,
    errorText: q.get('errorText') ?? undefined,
    branchUrl: q.get('branchUrl') ?? undefined,
  } as Filter;
}

function basicAuth(header: string | undefined): { user: string; pass: string } | null {
  const m = /^Basic\s+(.+)$/i.exec(header ?? '');
  if (!m) return null;
  const [, encoded = ''] = m;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : { user: decoded.slice(0, colon), pass: decoded.slice(colon + 1) };
}

const bulkBody = z.object({
  action: z.enum(['retry', 'abort']),
  reason: storableText().max(1000).default(''),
  gids: z.array(storableText().min(1).max(128)).min(1).max(10_000).optional(),
  filter: filterSchema.optional(),
});

const actionBody = z.object({ reason: storableText().max(1000).default(''), confirmGid: storableText().optional() });

export async function handleRest(deps: ApiDeps, req: RestRequest): Promise<RestResponse> {
  const creds = basicAuth(req.headers.authorization);
  // No WWW-Authenticate challenge: a browser never prompts for (and then caches) these credentials.
  if (!creds) return { status: 401, body: { error: 'UNAUTHORIZED', message: 'HTTP Basic authentication with a dashboard user is required' } };
  let u: Awaited<ReturnType<typeof authenticate>>;
  try {
    const client = req.client ?? { remoteAddress: 'unknown', userAgent: '', https: false };
    u = await authenticate(deps, creds.user, creds.pass, { client, via: 'api' });
  } catch (err) {
    if (!(err instanceof ThrottledError)) throw err;
    return { status: 429, body: { error: err.code, message: err.message }, headers: { 'retry-after': String(err.retryAfterSeconds) } };
  }
  if (!u) return { status: 401, body: { error: 'UNAUTHORIZED', message: 'wrong username or password' } };
  const ctx: Context = {
    deps,
    user: { id: u.id, username: u.username, role: u.role },
    setCookie: () => undefined,
    secure: false,
    client: req.client,
  };
  const caller = createCaller(ctx);
  const parts = req.path.split('/').filter(Boolean).map(decodeURIComponent);
  try {
    let body: unknown = {};
    if (req.method === 'POST') {
      // JSON only: a cross-site HTML form cannot send it without a CORS preflight we never grant.
      if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
        return { status: 415, body: { error: 'UNSUPPORTED_MEDIA_TYPE', message: 'send Content-Type: application/json' } };
      }
      try {
        body = req.body ? JSON.parse(req.body) : {};
      } catch {
        return { status: 400, body: { error: 'BAD_REQUEST', message: 'the body is not JSON' } };
      }
    }
    const route = `${req.method} /${parts[0] ?? ''}${parts.length > 1 ? '/:gid' : ''}${parts.length > 2 ? `/${parts[2]}` : ''}`;
    // Routes with :gid have a second segment; '' (refused by the procedures' input check) never reaches them.
    const gid = parts[1] ?? '';
    switch (route) {
      case 'GET /transactions': {
        const input = {
          ...filterFromQuery(req.query),
          sort: (req.query.get('sort') ?? undefined) as SortKey | undefined,
          dir: (req.query.get('dir') ?? undefined) as 'asc' | 'desc' | undefined,
          cursor: req.query.get('cursor') ?? undefined,
          limit: Number(req.query.get('limit') ?? 50),
        };
        return { status: 200, body: await caller.transactions.list(input) };
      }
      case 'GET /transactions/:gid':
        return { status: 200, body: await caller.transactions.get({ gid }) };
      case 'GET /counts':
        return { status: 200, body: await caller.transactions.counts(filterFromQuery(req.query)) };
      case 'POST /transactions/:gid/retry':
      case 'POST /transactions/:gid/abort':
      case 'POST /transactions/:gid/force-stop': {
        const b = actionBody.parse(body);
        const action = parts[2] as 'retry' | 'abort' | 'force-stop';
        const r = await caller.actions.run({ action, gid, reason: b.reason, confirmGid: b.confirmGid });
        return { status: r.ok ? 200 : 409, body: r };
      }
      case 'POST /bulk': {
        const b = bulkBody.parse(body);
        if (!!b.gids === !!b.filter) return { status: 400, body: { error: 'BAD_REQUEST', message: 'give either gids or filter' } };
        // the role check of the tRPC procedure, then the whole loop server-side
        await caller.actions.preview({ target: b.gids ? { gids: b.gids } : { filter: b.filter! } });
        const target = targetSchema.parse(b.gids ? { gids: b.gids } : { filter: b.filter });
        return { status: 200, body: await runBulk(deps, ctx.user!, { action: b.action, reason: b.reason, target }) };
      }
      case 'GET /audit':
        return {
          status: 200,
          body: await caller.audit.list({ cursor: req.query.get('cursor') ?? undefined, limit: Number(req.query.get('limit') ?? 50) }),
        };
      case 'GET /nodes':
        return { status: 200, body: await caller.nodes.list() };
      default:
        return { status: 404, body: { error: 'NOT_FOUND', message: `no route ${req.method} /api/v1${req.path}` } };
    }
  } catch (err) {
    if (err instanceof z.ZodError) return { status: 400, body: { error: 'BAD_REQUEST', message: describeZodError(err) } };
    if (err instanceof TRPCError && err.code !== 'INTERNAL_SERVER_ERROR') {
      const cause = err.cause instanceof z.ZodError ? describeZodError(err.cause) : err.message;
      return { status: getHTTPStatusCodeFromError(err), body: { error: err.code, message: cause } };
    }
    // the web server logs it and answers 500 "internal error", without the message or a stack
    throw err;
  }
}
