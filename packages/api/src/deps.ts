// What the router needs at run time: the database (Prisma for reads and the dashboard's own
// tables, the store for raw SQL), the engine's Admin for every transaction state change, and the
// dashboard settings. Created once per dashboard process by createDashboard().
import { randomBytes } from 'node:crypto';
import { openDatabase, type Database, type PrismaClient } from '@dtx/db';
import { Admin, systemClock, Topics, type Clock, type Logger } from '@dtx/engine';
import { egressPolicyOf, grpcSchemesOf, storeConfigOf, type Config } from '@dtx/config';
import { startOidc, type OidcLogin } from './auth/oidc.ts';
import { hashPassword, randomPassword, setHashConcurrency } from './auth/password.ts';
import type { LoginLimits } from './auth/limiter.ts';

export interface DashboardSettings {
  basePath: string;
  /** absolute lifetime of a session */
  sessionHours: number;
  /** a session unused this long ends */
  sessionIdleMinutes: number;
  login: LoginLimits;
  /** password hashes computed at once in this process */
  hashConcurrency: number;
  /** reverse proxies in front whose X-Forwarded-* headers are believed (0: none) */
  trustProxy: number;
  refreshSeconds: number;
  stuck: StuckThresholds;
  /** Coordinators that missed heartbeats for this long are shown as lost. */
  nodeTimeoutMs: number;
  /** What the first-transaction hint tells a new user (the browser adds its own host name). */
  coordinator: {
    /** HTTP port of the coordinator (the one in this process, else HttpPort); null: unknown */
    httpPort: number | null;
    /** ApiAuth.Token is set: API calls need the bearer token */
    token: boolean;
  };
}

/** When a transaction counts as stuck (filters.ts stuckWhere; Dashboard.Stuck* settings). */
export interface StuckThresholds {
  /** its branch calls have failed continuously for longer than this (s) */
  failingSeconds: number;
  /** or more than this many times in a row */
  failedCalls: number;
  /** a branch has answered "ongoing" for longer than this (s) */
  ongoingSeconds: number;
  /** due for longer than this (s): the scheduler lags */
  overdueSeconds: number;
  /** unfinished and older than this (s) */
  ageSeconds: number;
}

export interface ApiDeps {
  db: Database;
  prisma: PrismaClient;
  admin: Admin;
  /** Topic subscriptions (the coordinator's own kv-backed implementation). */
  topics: Topics;
  clock: Clock;
  settings: DashboardSettings;
  sessionSecret: string;
  logger: Logger;
  /** Single sign-on, when Dashboard.Oidc.Issuer is set (auth/oidc.ts). */
  oidc?: OidcLogin | null;
}

export function settingsOf(config: Config, coordinatorHttpPort?: number): DashboardSettings {
  const d = config.Dashboard;
  return {
    basePath: d.BasePath,
    sessionHours: d.SessionHours,
    sessionIdleMinutes: d.SessionIdleMinutes,
    login: { userAttempts: d.LoginUserAttempts, addressAttempts: d.LoginAddressAttempts, windowSeconds: d.LoginWindowSeconds },
    hashConcurrency: d.LoginHashConcurrency,
    trustProxy: d.TrustProxy,
    refreshSeconds: d.RefreshSeconds,
    stuck: {
      failingSeconds: d.StuckFailingSeconds,
      failedCalls: d.StuckFailedCalls,
      ongoingSeconds: d.StuckOngoingSeconds,
      overdueSeconds: d.StuckOverdueSeconds,
      ageSeconds: d.StuckAgeSeconds,
    },
    nodeTimeoutMs: 15_000,
    coordinator: { httpPort: coordinatorHttpPort ?? (config.HttpPort || null), token: config.ApiAuth.Token !== '' },
  };
}

export interface DashboardOptions {
  logger: Logger;
  /** Reuse an open database (the coordinator's, when both run in one process). */
  db?: Database;
  clock?: Clock;
  /** The HTTP port of the coordinator running in this process (HttpPort may be 0: a free port). */
  coordinatorHttpPort?: number;
}

/**
 * Opens the database (unless given), makes sure a session key and at least one user exist, and
 * returns the router's dependencies. With no users at all, creates `admin` with the configured or
 * a random password, printed once in the log.
 */
export interface Dashboard extends ApiDeps {
  /** The random password of the `admin` user created by this start (print it once), else null. */
  createdAdminPassword: string | null;
  close(): Promise<void>;
}

export async function createDashboard(config: Config, opts: DashboardOptions): Promise<Dashboard> {
  const db = opts.db ?? (await openDatabase(storeConfigOf(config, 10)));
  const prisma = await db.prisma();
  setHashConcurrency(config.Dashboard.LoginHashConcurrency);
  const sessionSecret = config.Dashboard.SessionSecret || (await sharedSecret(prisma));
  const createdAdminPassword = await ensureAdminUser(prisma, config.Dashboard.AdminPassword, opts.logger);
  const clock = opts.clock ?? systemClock;
  const oidc = await startOidc(config, opts.logger, sessionSecret);
  return {
    db,
    prisma,
    admin: new Admin(db.store, clock),
    // subscriber URLs are checked as the coordinator checks them (docs/security.md, "Egress policy")
    topics: new Topics(db.store, opts.logger, { grpcSchemes: grpcSchemesOf(config.MicroService.Driver), egress: egressPolicyOf(config) }),
    clock,
    settings: settingsOf(config, opts.coordinatorHttpPort),
    sessionSecret,
    logger: opts.logger,
    oidc,
    createdAdminPassword,
    close: async () => {
      if (!opts.db) await db.close();
    },
  };
}

/** A random signing key kept in the kv table, so every dashboard instance and restart shares it. */
async function sharedSecret(prisma: PrismaClient): Promise<string> {
  const where = { cat_k: { cat: 'dashboard', k: 'session-secret' } };
  const found = await prisma.kv.findUnique({ where });
  if (found?.v) return found.v;
  const now = new Date();
  try {
    await prisma.kv.create({
      data: { cat: 'dashboard', k: 'session-secret', v: randomBytes(32).toString('base64url'), createTime: now, updateTime: now },
    });
  } catch {
    // another instance created it first
  }
  const row = await prisma.kv.findUnique({ where });
  if (!row?.v) throw new Error('could not create the dashboard session key in the kv table');
  return row.v;
}

/**
 * Creates `admin` when there are no users. Returns the random password it chose (the caller
 * prints it once: only its hash is stored), or null when nothing was created or the password was
 * configured.
 */
export async function ensureAdminUser(prisma: PrismaClient, configured: string, log: Logger): Promise<string | null> {
  if ((await prisma.dashboardUser.count()) > 0) return null;
  const password = configured || randomPassword();
  const now = new Date();
  try {
    await prisma.dashboardUser.create({
      data: { username: 'admin', passwordHash: await hashPassword(password), role: 'admin', createdAt: now, updatedAt: now },
    });
  } catch {
    return null; // another dashboard instance created it at the same moment
  }
  log.info({ username: 'admin', passwordFrom: configured ? 'Dashboard.AdminPassword' : 'random' }, 'dashboard: created the first user');
  return configured ? null : password;
}
