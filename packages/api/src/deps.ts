// What the router needs at run time: the database (Prisma for reads and the dashboard's own
// tables, the store for raw SQL), the engine's Admin for every transaction state change, and the
// dashboard settings. Created once per dashboard process by createDashboard().
import { randomBytes } from 'node:crypto';
import { openDatabase, type Database, type PrismaClient } from '@dtx/db';
import { Admin, systemClock, Topics, type Clock, type Logger } from '@dtx/engine';
import { storeConfigOf, type Config } from '@dtx/config';
import { startOidc, type OidcLogin } from './auth/oidc.ts';
import { hashPassword, randomPassword } from './auth/password.ts';

export interface DashboardSettings {
  basePath: string;
  sessionHours: number;
  refreshSeconds: number;
  stuck: StuckThresholds;
  /** Coordinators that missed heartbeats for this long are shown as lost. */
  nodeTimeoutMs: number;
}

export interface StuckThresholds {
  /** unfinished and due for longer than this (s) */
  overdueSeconds: number;
  /** unfinished with more failed branch calls than this */
  retryCount: number;
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

export function settingsOf(config: Config): DashboardSettings {
  const d = config.Dashboard;
  return {
    basePath: d.BasePath,
    sessionHours: d.SessionHours,
    refreshSeconds: d.RefreshSeconds,
    stuck: { overdueSeconds: d.StuckOverdueSeconds, retryCount: d.StuckRetryCount, ageSeconds: d.StuckAgeSeconds },
    nodeTimeoutMs: 15_000,
  };
}

export interface DashboardOptions {
  logger: Logger;
  /** Reuse an open database (the coordinator's, when both run in one process). */
  db?: Database;
  clock?: Clock;
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
  const sessionSecret = config.Dashboard.SessionSecret || (await sharedSecret(prisma));
  const createdAdminPassword = await ensureAdminUser(prisma, config.Dashboard.AdminPassword, opts.logger);
  const clock = opts.clock ?? systemClock;
  const oidc = await startOidc(config, opts.logger, sessionSecret);
  return {
    db,
    prisma,
    admin: new Admin(db.store, clock),
    topics: new Topics(db.store, opts.logger),
    clock,
    settings: settingsOf(config),
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
