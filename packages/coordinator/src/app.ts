// Wires one coordinator instance: storage, engine, transports. Used by main.ts and by tests that
// run the coordinator in-process.
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { Server as GrpcServer } from '@grpc/grpc-js';
import { adoptedFromDtm, openDatabase, type Database } from '@dtx/db';
import { Engine, Retention, StoreUnavailableError, systemClock, Topics, type Logger } from '@dtx/engine';
import { VERSION } from '@dtx/runtime';
import { HttpTransport } from './calls/http.ts';
import { CallRouter } from './calls/router.ts';
import type { FastifyInstance } from 'fastify';
import { egressPolicyOf, storeConfigOf, type Config } from '@dtx/config';
import { Admission, LoopLag } from './admission.ts';
import { ApiAuth, OperatorAudit } from './auth.ts';
import { EtcdRegistrar, EtcdResolver } from './discovery/etcd.ts';
import { buildGrpcServer, closeGrpc, listenGrpc } from './grpc/server.ts';
import { parseSchemeTarget, type Driver } from './grpc/target.ts';
import { GrpcTransport, resolvedSchemes } from './grpc/transport.ts';
import { buildHttpServer } from './http/server.ts';
import { startStandby, type Standby } from './http/standby.ts';
import { TimeFormat } from './http/render.ts';
import { Metrics } from './metrics.ts';

/** How often an instance refreshes its row in coordinator_node. */
export const HEARTBEAT_MS = 5000;

export interface Coordinator {
  config: Config;
  engine: Engine;
  /** The retention task, or null when retention is off (Retention.Mode, adopted databases). */
  retention: Retention | null;
  topics: Topics;
  metrics: Metrics;
  db: Database;
  http: FastifyInstance;
  httpPort: number;
  grpc: GrpcServer;
  grpcPort: number;
  /** The etcd key this instance is published under ('' when not registered). */
  registeredKey(): string;
  /** Stops accepting requests, lets running passes finish (up to graceMs), closes storage. */
  close(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  logger: Logger;
  /** Start the scheduler (default true). */
  scheduler?: boolean;
  instanceId?: string;
  /** This instance's place in a process group (docs/operations.md, "Workers"), shown on the Nodes page. */
  worker?: { index: number; of: number };
  /** Publish this instance in etcd when the go-zero driver is configured (default true; one worker of a group does). */
  register?: boolean;
}

export async function startCoordinator(config: Config, opts: StartOptions): Promise<Coordinator> {
  const log = opts.logger;
  const s = config.Store;
  const refusedHook = config.AlertWebHook ? egressPolicyOf(config).refuseUrl(config.AlertWebHook) : undefined;
  if (refusedHook) throw new Error(`invalid configuration: AlertWebHook (ALERT_WEB_HOOK) '${config.AlertWebHook}' is refused by ${refusedHook}`);
  const db = await openWithRetry(storeConfigOf(config), log, { port: config.HttpPort, host: config.ListenHost });
  if (db.migration?.adopted) log.warn({ db: s.Db }, "adopted dtm's schema in this database: dtx manages it from now on");
  if (db.migration?.applied.length) log.info({ applied: db.migration.applied }, 'schema migrations applied');
  const driver = config.MicroService.Driver as Driver;
  // Outgoing calls obey BranchCallPolicy (docs/security.md, "Egress policy"): request-time checks
  // refuse what is decidable without DNS, the transports check every connection and redirect hop.
  const policy = egressPolicyOf(config);
  const targets = { grpcSchemes: resolvedSchemes(driver), egress: policy };
  const topics = new Topics(db.store, log, targets);
  await topics.start(config.ConfigUpdateInterval);
  const retention = await startRetention(config, db, log);
  const metrics = new Metrics(VERSION);
  const dockerHostRewrite = !!process.env.IS_DOCKER;
  const httpTransport = new HttpTransport({
    dockerHostRewrite,
    userAgent: `dtx/${VERSION}`,
    policy,
    maxRedirects: config.BranchCallPolicy.MaxRedirects,
  });
  const router = new CallRouter(httpTransport);
  const etcd = driver === 'dtm-driver-gozero' ? new EtcdResolver(log) : undefined;
  const grpcTransport = new GrpcTransport({
    driver,
    logger: log,
    etcd,
    dockerHostRewrite,
    maxMessageBytes: config.MaxBodyBytes,
    policy,
    userAgent: `dtx/${VERSION}`,
  });
  router.setGrpc({
    call: (c) => grpcTransport.call(c),
    close: async () => {
      await grpcTransport.close();
      await etcd?.close();
    },
  });
  const engine = new Engine({
    store: db.store,
    caller: router,
    logger: log,
    instanceId: opts.instanceId,
    topics,
    metrics,
    egress: policy,
    postAlert: (url, json, timeoutMs) => httpTransport.post(url, json, timeoutMs),
    config: {
      retryInterval: config.RetryInterval,
      timeoutToFail: config.TimeoutToFail,
      requestTimeout: config.RequestTimeout,
      transCronInterval: config.TransCronInterval,
      alertRetryLimit: config.AlertRetryLimit,
      alertWebHook: config.AlertWebHook,
      cronConcurrency: config.CronConcurrency,
      grpcSchemes: targets.grpcSchemes,
    },
  });
  const loopLag = new LoopLag();
  const admission = new Admission({
    maxInflightSubmits: config.MaxInflightSubmits,
    maxInflightPasses: config.MaxInflightPasses,
    maxStoreWaitMs: config.MaxStoreWait * 1000,
    maxLoopLagMs: config.MaxEventLoopLag > 0 ? config.MaxEventLoopLag : undefined,
    loopLagMs: () => loopLag.ms,
    passes: () => engine.inFlight(),
    metrics,
  });
  const auth = new ApiAuth(config.ApiAuth);
  const audit = new OperatorAudit(db.driver, log);
  if (!auth.enabled) log.info({}, 'the coordinator API is open (ApiAuth.Token is not set): keep its ports on the service network (docs/security.md)');
  const http = await buildHttpServer({
    auth,
    audit,
    engine,
    topics,
    store: db.store,
    metrics,
    admission,
    logger: log,
    version: VERSION,
    maxBodyBytes: config.MaxBodyBytes,
    timeFormat: TimeFormat.fromConfig(config.TimeZoneOffset),
    timeoutToFail: config.TimeoutToFail,
  });
  const grpc = buildGrpcServer({ engine, topics, metrics, admission, logger: log, maxBodyBytes: config.MaxBodyBytes, auth, audit });
  let grpcPort: number;
  try {
    await http.listen({ port: config.HttpPort, host: config.ListenHost });
    grpcPort = await listenGrpc(grpc, config.ListenHost, config.GrpcPort);
  } catch (err) {
    loopLag.stop();
    await http.close();
    grpc.forceShutdown();
    await router.close();
    await db.close();
    throw err;
  }
  const httpPort = (http.server.address() as AddressInfo).port;
  const registrar = opts.register === false ? null : await register(config, grpcPort, log);
  if (opts.scheduler !== false) engine.start();
  log.info({ httpPort, grpcPort, store: s.Driver, instance: engine.instanceId, version: VERSION }, 'coordinator started');

  // Heartbeat: the dashboard lists the instances alive now from these rows.
  const host = config.ListenHost === '0.0.0.0' || config.ListenHost === '::' ? hostname() : config.ListenHost;
  const startedAt = new Date();
  const beat = () =>
    db.store
      .heartbeat({
        instanceId: engine.instanceId,
        address: `http://${host}:${httpPort}`,
        version: VERSION,
        hostname: hostname(),
        pid: process.pid,
        store: s.Driver,
        startedAt,
        heartbeatAt: new Date(),
        inFlight: engine.inFlight(),
        worker: opts.worker?.index ?? null,
        workers: opts.worker?.of ?? 1,
      })
      .catch((err: Error) => log.warn({ err: err.message }, 'heartbeat failed'));
  await beat();
  const heartbeat = setInterval(() => void beat(), HEARTBEAT_MS);
  heartbeat.unref();

  let closing: Promise<void> | null = null;
  return {
    config,
    engine,
    retention,
    topics,
    metrics,
    db,
    http,
    httpPort,
    grpc,
    grpcPort,
    registeredKey: () => registrar?.registeredKey ?? '',
    close: (graceMs = 10_000) =>
      (closing ??= (async () => {
        clearInterval(heartbeat);
        loopLag.stop();
        topics.stop();
        await retention?.stop();
        // Leave the registry first, so that clients stop picking this instance.
        await registrar?.close();
        await Promise.all([http.close(), closeGrpc(grpc, Math.min(graceMs, 5000))]);
        await engine.stop(graceMs);
        await db.store.removeNode(engine.instanceId).catch(() => undefined);
        await router.close();
        await db.close();
        log.info({}, 'coordinator stopped');
      })()),
  };
}

/**
 * Retention of finished transactions (Store.FinishedDataExpire, Retention.*): on by default, off
 * by default in a database adopted from dtm.
 */
async function startRetention(config: Config, db: Database, log: Logger): Promise<Retention | null> {
  const r = config.Retention;
  const on = r.Mode === 'on' || (r.Mode === 'auto' && !(await adoptedFromDtm(db.driver)));
  if (!on) {
    log.info({ mode: r.Mode }, 'retention is off: finished transactions are kept');
    return null;
  }
  const retention = new Retention({
    store: db.store,
    clock: systemClock,
    log,
    finishedAgeSeconds: config.Store.FinishedDataExpire,
    batchSize: r.BatchSize,
    intervalSeconds: r.IntervalSeconds,
    keepAttempts: r.KeepAttempts,
  });
  retention.start();
  return retention;
}

/**
 * The go-zero driver publishes this instance in etcd (docs/protocol/gozero-driver.md §2). Without an EndPoint
 * we publish the gRPC address we listen on (dtm would publish an empty value).
 */
async function register(config: Config, grpcPort: number, log: Logger): Promise<EtcdRegistrar | null> {
  const ms = config.MicroService;
  if (ms.Driver !== 'dtm-driver-gozero' || !ms.Target) return null;
  const t = parseSchemeTarget(ms.Target);
  if (!t) return null;
  const host = config.ListenHost === '0.0.0.0' || config.ListenHost === '::' ? hostname() : config.ListenHost;
  const endpoint = ms.EndPoint || `${host}:${grpcPort}`;
  const registrar = new EtcdRegistrar({ hosts: t.hosts, user: t.user, password: t.password }, t.key, endpoint, log);
  await registrar.start();
  return registrar;
}

/**
 * dtm waits for its store at start-up, retrying every 3 s; so do we, for as long as it takes (an
 * orchestrator restarting us would only add a crash loop). Meanwhile the HTTP port answers ping and
 * readiness (503 with the reason) from a stand-by server (http/standby.ts).
 */
async function openWithRetry(c: Parameters<typeof openDatabase>[0], log: Logger, listen: { port: number; host: string }): Promise<Database> {
  let standby: Standby | null = null;
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        return await openDatabase(c);
      } catch (err) {
        // The driver reports an unreachable server as StoreUnavailableError (its cause has the code).
        const cause = err instanceof StoreUnavailableError ? err.cause : err;
        const code = (cause as { code?: string } | undefined)?.code ?? '';
        const transient =
          err instanceof StoreUnavailableError ||
          ['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ER_CON_COUNT_ERROR', '57P03'].includes(code);
        if (!transient) throw err;
        const reason = `${c.driver} at ${c.host}:${c.port} not reachable (${(err as Error).message})`;
        log.warn(
          { err: (err as Error).message, code, attempt, store: `${c.driver}://${c.host}:${c.port}/${c.db}` },
          'store not reachable; retrying in 3s (readiness answers 503 until it is)',
        );
        if (attempt === 1) standby = await startStandby(listen.port, listen.host, reason);
        standby?.setReason(reason);
        await new Promise((r) => setTimeout(r, 3000));
      }
    }
  } finally {
    await standby?.close();
  }
}
