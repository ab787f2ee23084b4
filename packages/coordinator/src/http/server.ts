// dtm's HTTP API (docs/protocol/http-api.md) over the engine. Handlers only decode, call the engine and render;
// errors become dtm's status codes in one place (sendError).
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { badRequest, DtmError, StoreUnavailableError, type Engine, type Logger, type StoreWait, type Topics } from '@dtx/engine';
import type { KvRow, Store } from '@dtx/db';
import { clientWaits, isRefusal, type Admission, type AdmittedOp, type Refusal, type Slot } from '../admission.ts';
import type { Access, ApiAuth, OperatorAudit } from '../auth.ts';
import type { Metrics } from '../metrics.ts';
import { decodeRegistration, decodeTransRequest, parseJsonBody } from './decode.ts';
import { addReadinessRoute, READY_PATH } from './health.ts';
import { handleJsonRpc, overloadedJsonRpc } from './jsonrpc.ts';
import { renderBranch, renderGlobal, renderKv, renderProgresses, TimeFormat } from './render.ts';

export interface HttpOptions {
  engine: Engine;
  topics: Topics;
  store: Store;
  metrics?: Metrics;
  /** Admission control of the transaction API (absent: no bound). */
  admission?: Admission;
  logger: Logger;
  version: string;
  maxBodyBytes: number;
  timeFormat: TimeFormat;
  /** Conf.TimeoutToFail: resetCronTime's default look-ahead is three times this. */
  timeoutToFail: number;
  /** ApiAuth.* (absent or not enabled: the API is open, as dtm's). */
  auth?: ApiAuth;
  /** Where operator routes are recorded (absent: not recorded). */
  audit?: OperatorAudit;
}

/** Routes that stay open whatever ApiAuth says: liveness, readiness, metrics (docs/security.md). */
const OPEN_PATHS = new Set(['/api/ping', READY_PATH, '/api/metrics']);
const BASE = '/api/dtmsvr';
/** Operator routes: ApiAuth.OperatorToken when set, and an audit row. */
const OPERATOR_PATHS = new Set(
  ['forceStop', 'resetCronTime', 'resetNextCronTime', 'subscribe', 'unsubscribe', 'topic/:topicName'].map((p) => `${BASE}/${p}`),
);

const SUCCESS = { dtm_result: 'SUCCESS' };

/** dtm's result adapter (docs/protocol/http-api.md §2): one table from error kind to status and body. */
export function errorReply(err: unknown): { status: number; body: Record<string, string> } {
  if (err instanceof DtmError) {
    switch (err.kind) {
      case 'failure':
        return { status: 409, body: { dtm_result: 'FAILURE', message: err.message } };
      case 'ongoing':
        return { status: 425, body: { dtm_result: 'ONGOING', message: err.message } };
      case 'bad-request':
        return { status: 400, body: { message: err.message } };
      case 'too-large':
        return { status: 413, body: { message: err.message } };
      case 'unavailable':
        // Nothing stored: the admission refusal's shape (docs/operations.md, "Database outages").
        return {
          status: 503,
          body: { message: err.message, reason: err instanceof StoreUnavailableError && err.stored ? 'store_interrupted' : 'store_unavailable' },
        };
      default:
        return { status: 500, body: { message: err.message } };
    }
  }
  return { status: 500, body: { message: err instanceof Error ? err.message : String(err) } };
}

function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  const { status, body } = errorReply(err);
  if (status === 503) void reply.header('retry-after', '1');
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}

/** A query parameter as text (the first of repeated ones); fastify's parser gives strings. */
function queryString(req: FastifyRequest, key: string): string {
  const raw = (req.query as Record<string, unknown>)[key];
  const v: unknown = Array.isArray(raw) ? raw[0] : raw;
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
}

/** An optional integer query parameter; dtm panics on junk here, we answer 400. */
function queryInt(req: FastifyRequest, key: string, fallback: number | undefined): number | undefined {
  const v = queryString(req, key);
  if (v === '') return fallback;
  if (!/^-?\d+$/.test(v)) throw badRequest(`query parameter ${key} must be an integer, got '${v}'`);
  return Number(v);
}

export async function buildHttpServer(opts: HttpOptions): Promise<FastifyInstance> {
  const { engine, timeFormat: tf } = opts;
  const app = Fastify({
    bodyLimit: opts.maxBodyBytes,
    logger: false,
    // gin compares paths exactly; a trailing slash is redirected by the not-found handler below.
    routerOptions: { ignoreTrailingSlash: false, caseSensitive: true },
    return503OnClosing: true,
    forceCloseConnections: true,
  });

  // dtm parses every body as JSON whatever its Content-Type; so do we (handlers decode).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err instanceof DtmError) return sendError(reply, err);
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return sendError(reply, new DtmError(`request body is larger than ${opts.maxBodyBytes} bytes`, 'too-large'));
    }
    if (err.statusCode && err.statusCode < 500) {
      return sendError(reply, badRequest(err.message));
    }
    opts.logger.error({ err: err.message }, 'request failed');
    return sendError(reply, err);
  });

  // Bearer tokens (auth.ts), before admission and before the body is read.
  const auth = opts.auth;
  if (auth?.enabled) {
    app.addHook('onRequest', async (req, reply) => {
      const route = req.routeOptions.url ?? '';
      if (OPEN_PATHS.has(route)) return;
      const access: Access = OPERATOR_PATHS.has(route) ? 'operator' : 'service';
      const v = auth.check(req.headers.authorization, access);
      if (v.ok) return;
      void reply.code(v.status).header('www-authenticate', 'Bearer').type('application/json; charset=utf-8');
      if (route === '/api/json-rpc') return reply.send({ jsonrpc: '2.0', id: null, error: { code: -32001, message: v.message }, result: null });
      return reply.send({ message: v.message });
    });
  }
  /** An operator route's work, recorded in the audit log with the caller's address. */
  const audited = <T>(req: FastifyRequest, action: string, target: string, gid: boolean, fn: () => Promise<T>, details?: Record<string, unknown>) =>
    opts.audit ? opts.audit.run({ action, target, gid, remote: req.ip, via: 'http', details }, fn) : fn();

  // Request metrics: dtm labels each request with the last path segment, lower-cased.
  if (opts.metrics) {
    const metrics = opts.metrics;
    app.addHook('onResponse', async (req, reply) => {
      const path = req.url.split('?', 1)[0] ?? req.url;
      const api = path.slice(path.lastIndexOf('/') + 1).toLowerCase();
      metrics.request('http', api, reply.statusCode < 400, reply.elapsedTime / 1000);
    });
  }

  // Admission (admission.ts): decided in onRequest, before the body is read or parsed, so that a
  // refusal costs next to nothing. The slot is held until the handler is done (the client going
  // away does not end the work it started); if the handler never starts (body too large, client
  // gone while sending it), the slot goes back when the response closes.
  const slots = new WeakMap<FastifyRequest, { slot: Slot; started: boolean }>();
  const admit = (op: AdmittedOp, refuse: (reply: FastifyReply, r: Refusal) => FastifyReply) => async (req: FastifyRequest, reply: FastifyReply) => {
    if (!opts.admission) return;
    const r = opts.admission.enter(op);
    if (isRefusal(r)) return refuse(reply.header('retry-after', '1'), r);
    const held = { slot: r, started: false };
    slots.set(req, held);
    reply.raw.once('close', () => {
      if (!held.started) r.release();
    });
  };
  /** Runs `fn` holding the request's admission slot, if it has one. */
  const holding = async <T>(req: FastifyRequest, fn: (wait?: StoreWait) => Promise<T>): Promise<T> => {
    const held = slots.get(req);
    if (held) held.started = true;
    try {
      return await (held ? held.slot.run(fn) : fn());
    } finally {
      held?.slot.release();
    }
  };
  // Not 409 or a body with FAILURE/ONGOING: dtm's SDKs would read those as the transaction's
  // outcome (docs/compatibility.md, "Overload").
  const refuseHttp = (reply: FastifyReply, r: Refusal) =>
    reply.code(503).type('application/json; charset=utf-8').send({ message: r.message, reason: r.reason });

  const routes = new Set<string>();
  const route = (
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    handler: (req: FastifyRequest, wait?: StoreWait) => Promise<unknown>,
    admitted?: AdmittedOp,
  ) => {
    routes.add(path);
    app.route({
      method,
      url: path,
      onRequest: admitted ? admit(admitted, refuseHttp) : undefined,
      handler: async (req, reply) => {
        const out = await holding(req, (wait) => handler(req, wait));
        return reply.type('application/json; charset=utf-8').send(out === undefined ? SUCCESS : out);
      },
    });
  };
  const body = (req: FastifyRequest) => parseJsonBody(req.body as Buffer | undefined);
  /** The request's transaction; `wait`: its StoreWait, limited to what its client waits. */
  const trans = (req: FastifyRequest, wait?: StoreWait) => {
    const t = decodeTransRequest(body(req), {
      escape: true,
      header: (name) => {
        const v = req.headers[name.toLowerCase()];
        return Array.isArray(v) ? v[0] : v;
      },
    });
    clientWaits(wait, t.options.requestTimeout);
    return t;
  };

  app.all('/api/ping', async (_req, reply) => reply.type('application/json; charset=utf-8').send({ msg: 'pong' }));
  routes.add('/api/ping');
  addReadinessRoute(app, { ping: () => opts.store.ping(), scheduler: () => engine.health() });
  routes.add(READY_PATH);

  const base = BASE;
  route('GET', `${base}/version`, () => Promise.resolve({ version: opts.version }));
  route('GET', `${base}/newGid`, () => Promise.resolve({ gid: engine.newGid(), dtm_result: 'SUCCESS' }));
  route('POST', `${base}/prepare`, async (req, wait) => engine.prepare(trans(req, wait), wait), 'prepare');
  route('POST', `${base}/submit`, async (req, wait) => engine.submit(trans(req, wait), wait), 'submit');
  route('POST', `${base}/abort`, async (req, wait) => engine.abort(trans(req, wait), wait), 'abort');
  route('POST', `${base}/forceStop`, async (req) => {
    const gid = trans(req).gid;
    return audited(req, 'force-stop', gid, true, () => engine.forceStop(gid));
  });
  for (const path of ['registerBranch', 'registerXaBranch', 'registerTccBranch']) {
    route('POST', `${base}/${path}`, async (req, wait) => engine.registerBranch(decodeRegistration(body(req)), wait), 'registerBranch');
  }
  route(
    'POST',
    `${base}/prepareWorkflow`,
    async (req, wait) => {
      const r = await engine.prepareWorkflow(trans(req, wait), wait);
      return renderProgresses(r.global, r.branches, tf);
    },
    'prepareWorkflow',
  );
  route('GET', `${base}/query`, async (req) => {
    const gid = queryString(req, 'gid');
    if (!gid) throw new DtmError('no gid specified', 'error', true);
    const r = await engine.query(gid);
    return {
      transaction: r.global ? renderGlobal(r.global, tf) : null,
      branches: r.branches.map((b) => renderBranch(b, tf)),
    };
  });
  route('GET', `${base}/all`, async (req) => {
    const position = queryString(req, 'position');
    const gid = queryString(req, 'gid');
    if (gid) {
      const g = (await engine.query(gid)).global;
      return { transactions: g ? [renderGlobal(g, tf)] : null, next_position: position };
    }
    const limit = queryInt(req, 'limit', 100) as number;
    if (limit < 1) throw badRequest('query parameter limit must be positive');
    const start = queryInt(req, 'createTimeStart', undefined);
    const end = queryInt(req, 'createTimeEnd', undefined);
    const rows = await engine.scan({
      position: queryInt(req, 'position', undefined),
      limit,
      status: queryString(req, 'status') || undefined,
      transType: queryString(req, 'transType') || undefined,
      // dtm truncates these millisecond bounds to whole seconds
      createTimeStart: start === undefined ? undefined : new Date(Math.floor(start / 1000) * 1000),
      createTimeEnd: end === undefined ? undefined : new Date(Math.floor(end / 1000) * 1000),
    });
    return {
      transactions: rows.map((g) => renderGlobal(g, tf)),
      next_position: rows.length === limit ? String(rows.at(-1)?.id ?? '') : '',
    };
  });
  route('GET', `${base}/resetCronTime`, async (req) => {
    const timeout = queryInt(req, 'timeout', 3 * opts.timeoutToFail) as number;
    const limit = queryInt(req, 'limit', 100) as number;
    if (limit < 1) throw badRequest('query parameter limit must be positive');
    const r = await audited(req, 'reset-cron-time', '', false, () => engine.resetCronTime(timeout, limit), { timeout, limit });
    return { has_remaining: r.hasRemaining, succeed_count: r.succeedCount };
  });
  route('POST', `${base}/resetNextCronTime`, async (req) => {
    const gid = trans(req).gid;
    return audited(req, 'reset-next-cron-time', gid, true, () => engine.resetNextCronTime(gid));
  });

  // Topics and KV
  const { topics, store } = opts;
  route('GET', `${base}/subscribe`, async (req) => {
    const [topic, url, remark] = [queryString(req, 'topic'), queryString(req, 'url'), queryString(req, 'remark')];
    return audited(req, 'topic-subscribe', topic, false, () => topics.subscribe(topic, url, remark), { url, remark });
  });
  route('GET', `${base}/unsubscribe`, async (req) => {
    const [topic, url] = [queryString(req, 'topic'), queryString(req, 'url')];
    return audited(req, 'topic-unsubscribe', topic, false, () => topics.unsubscribe(topic, url), { url });
  });
  route('DELETE', `${base}/topic/:topicName`, async (req) => {
    const topic = (req.params as { topicName: string }).topicName;
    return audited(req, 'topic-delete', topic, false, () => topics.deleteTopic(topic));
  });
  routes.add(`${base}/topic`);
  const kvList = (rows: KvRow[]) => rows.map((r) => renderKv(r, tf));
  route('GET', `${base}/scanKV`, async (req) => {
    const limit = queryInt(req, 'limit', 100) as number;
    if (limit < 1) throw badRequest('query parameter limit must be positive');
    const rows = await store.kvScan(queryString(req, 'cat'), queryInt(req, 'position', undefined), limit);
    return { kv: kvList(rows), next_position: rows.length === limit ? String(rows.at(-1)?.id ?? '') : '' };
  });
  route('GET', `${base}/queryKV`, async (req) => ({ kv: kvList(await store.kvFind(queryString(req, 'cat'), queryString(req, 'key'))) }));

  // JSON-RPC 2.0 on the same port
  app.post(
    '/api/json-rpc',
    {
      onRequest: admit('jsonrpc', (reply, r) => {
        const out = overloadedJsonRpc(r.message);
        return reply.code(out.status).type('application/json; charset=utf-8').send(out.body);
      }),
    },
    async (req, reply) => {
      const r = await holding(req, (wait) => handleJsonRpc(engine, req.body as Buffer | undefined, wait));
      return reply.code(r.status).type('application/json; charset=utf-8').send(r.body);
    },
  );
  routes.add('/api/json-rpc');

  if (opts.metrics) {
    const metrics = opts.metrics;
    app.get('/api/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.collect()));
    routes.add('/api/metrics');
  }

  // gin answers unknown paths and wrong methods with a plain-text 404, and redirects a path with
  // a trailing slash to the path without it.
  app.setNotFoundHandler((req, reply) => {
    const [path = '', qs] = req.url.split('?', 2);
    if (path.length > 1 && path.endsWith('/') && routes.has(path.replace(/\/+$/, ''))) {
      const target = path.replace(/\/+$/, '') + (qs ? `?${qs}` : '');
      return reply.redirect(target, req.method === 'GET' ? 301 : 307);
    }
    return reply.code(404).type('text/plain').send('404 page not found');
  });

  return app;
}
