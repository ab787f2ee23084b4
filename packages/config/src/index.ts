// Server configuration with dtm's keys (config.md): built-in defaults, overridden by environment
// variables (named from the YAML path: Store.MaxOpenConns -> STORE_MAX_OPEN_CONNS), overridden by
// the YAML file given with -c. Invalid values stop start-up with a message naming the key.
import { readFileSync } from 'node:fs';
import type { StoreConfig } from '@dtx/db';
import { parse as parseYaml } from 'yaml';

export interface Config {
  TransCronInterval: number;
  TimeoutToFail: number;
  RetryInterval: number;
  RequestTimeout: number;
  HttpPort: number;
  GrpcPort: number;
  JsonRpcPort: number;
  /** Address the HTTP and gRPC servers listen on (ours). */
  ListenHost: string;
  MicroService: { Driver: string; Target: string; EndPoint: string };
  UpdateBranchSync: number;
  UpdateBranchAsyncGoroutineNum: number;
  LogLevel: string;
  Log: { Outputs: string; RotationEnable: number; RotationConfigJSON: string };
  TimeZoneOffset: string;
  ConfigUpdateInterval: number;
  AlertRetryLimit: number;
  AlertWebHook: string;
  AdminBasePath: string;
  GrpcServiceConfig: string;
  /** Largest accepted request body in bytes (ours; dtm has no limit). */
  MaxBodyBytes: number;
  /** Most transactions the scheduler processes at once (ours). */
  CronConcurrency: number;
  /** The operator dashboard (ours; dtm's AdminBasePath is ignored). */
  Dashboard: {
    /** Port of the dashboard's web server (`pnpm start`, `pnpm start:web`). */
    Port: number;
    /** Address it listens on ('' = ListenHost). */
    Host: string;
    /** Path prefix when served behind a reverse proxy, e.g. /dtx ('' = at the root). */
    BasePath: string;
    /** Key that signs session cookies; '' = a random key kept in the kv table (shared by instances). */
    SessionSecret: string;
    /** Lifetime of a login session, in hours. */
    SessionHours: number;
    /** Password of the `admin` user created on first start; '' = random, printed once in the log. */
    AdminPassword: string;
    /** Stuck view: unfinished and due for longer than this many seconds. */
    StuckOverdueSeconds: number;
    /** Stuck view: unfinished with more failed branch calls than this. */
    StuckRetryCount: number;
    /** Stuck view: unfinished and older than this many seconds. */
    StuckAgeSeconds: number;
    /** How often lists and charts refresh themselves, in seconds. */
    RefreshSeconds: number;
  };
  Store: {
    Driver: string;
    Host: string;
    Port: number;
    User: string;
    Password: string;
    Db: string;
    Schema: string;
    MaxOpenConns: number;
    MaxIdleConns: number;
    ConnMaxLifeTime: number;
    DataExpire: number;
    FinishedDataExpire: number;
    RedisPrefix: string;
  };
}

export function defaultConfig(): Config {
  return {
    TransCronInterval: 3,
    TimeoutToFail: 35,
    RetryInterval: 10,
    RequestTimeout: 3,
    HttpPort: 36789,
    GrpcPort: 36790,
    JsonRpcPort: 36791,
    ListenHost: '0.0.0.0',
    MicroService: { Driver: 'default', Target: '', EndPoint: '' },
    UpdateBranchSync: 1,
    UpdateBranchAsyncGoroutineNum: 1,
    LogLevel: 'info',
    Log: { Outputs: 'stderr', RotationEnable: 0, RotationConfigJSON: '{}' },
    TimeZoneOffset: '',
    ConfigUpdateInterval: 3,
    AlertRetryLimit: 3,
    AlertWebHook: '',
    AdminBasePath: '',
    GrpcServiceConfig: '{"loadBalancingConfig": [{"round_robin":{}}]}',
    MaxBodyBytes: 4 * 1024 * 1024,
    CronConcurrency: 64,
    Dashboard: {
      Port: 36788,
      Host: '',
      BasePath: '',
      SessionSecret: '',
      SessionHours: 12,
      AdminPassword: '',
      StuckOverdueSeconds: 60,
      StuckRetryCount: 5,
      StuckAgeSeconds: 3600,
      RefreshSeconds: 5,
    },
    Store: {
      Driver: 'sqlite',
      Host: '',
      Port: 0,
      User: '',
      Password: '',
      Db: '',
      Schema: 'public',
      MaxOpenConns: 500,
      MaxIdleConns: 500,
      ConnMaxLifeTime: 5,
      DataExpire: 604800,
      FinishedDataExpire: 86400,
      RedisPrefix: '{a}',
    },
  };
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(`invalid configuration: ${message}`);
    this.name = 'ConfigError';
  }
}

/** `Store.MaxOpenConns` -> `STORE_MAX_OPEN_CONNS` (dtm's rule). */
export function envName(path: string[]): string {
  return path
    .map((seg) => seg.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z])([A-Z][a-z])/g, '$1_$2'))
    .join('_')
    .toUpperCase();
}

type Leaf = string | number;

function setLeaf(target: Record<string, unknown>, key: string, raw: unknown, where: string, path: string[]): void {
  const current = target[key] as Leaf;
  const name = `${path.join('.')} (${where})`;
  if (typeof current === 'number') {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
    if (!Number.isInteger(n)) throw new ConfigError(`${name} must be an integer, got '${String(raw)}'`);
    target[key] = n;
  } else {
    if (raw !== null && typeof raw === 'object') throw new ConfigError(`${name} must be a string`);
    target[key] = raw === null || raw === undefined ? '' : String(raw);
  }
}

function applyEnv(obj: Record<string, unknown>, env: NodeJS.ProcessEnv, path: string[] = []): void {
  for (const key of Object.keys(obj)) {
    const p = [...path, key];
    const v = obj[key];
    if (v !== null && typeof v === 'object') {
      applyEnv(v as Record<string, unknown>, env, p);
      continue;
    }
    const name = envName(p);
    const raw = env[name];
    if (raw !== undefined && raw !== '') setLeaf(obj, key, raw, `env ${name}`, p);
  }
}

function applyFile(obj: Record<string, unknown>, file: Record<string, unknown>, path: string[] = []): void {
  for (const [key, value] of Object.entries(file)) {
    const p = [...path, key];
    // YAML keys are matched case-insensitively, as Go's YAML decoding of dtm's config does.
    const match = Object.keys(obj).find((k) => k.toLowerCase() === key.toLowerCase());
    if (!match) throw new ConfigError(`unknown key ${p.join('.')} in the configuration file`);
    const current = obj[match];
    if (current !== null && typeof current === 'object') {
      if (value === null || value === undefined) continue;
      if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`${p.join('.')} must be a mapping`);
      applyFile(current as Record<string, unknown>, value as Record<string, unknown>, [...path, match]);
    } else {
      setLeaf(obj, match, value, 'config file', [...path, match]);
    }
  }
}

export interface LoadOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  debug?: boolean;
}

export function loadConfig(opts: LoadOptions = {}): Config {
  const c = defaultConfig();
  applyEnv(c as unknown as Record<string, unknown>, opts.env ?? process.env);
  if (opts.file) {
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(opts.file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`cannot read ${opts.file}: ${(err as Error).message}`);
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`${opts.file} must be a YAML mapping`);
      applyFile(c as unknown as Record<string, unknown>, parsed as Record<string, unknown>);
    }
  }
  if (opts.debug) c.LogLevel = 'debug';
  normalize(c);
  validate(c);
  return c;
}

/** dtm's micro-service drivers we implement (gozero-driver.md). */
export const MICRO_SERVICE_DRIVERS = ['default', 'dtm-driver-gozero'];

const DRIVER_ALIASES: Record<string, string> = { sqlite: 'sqlite', sqlite3: 'sqlite', mysql: 'mysql', mariadb: 'mysql', postgres: 'postgres', postgresql: 'postgres' };

function normalize(c: Config): void {
  const driver = DRIVER_ALIASES[c.Store.Driver.toLowerCase()];
  if (driver) c.Store.Driver = driver;
  if (!c.Store.Db) c.Store.Db = c.Store.Driver === 'sqlite' ? 'data/dtm.sqlite' : 'dtm';
  if (c.Store.Driver !== 'sqlite' && c.Store.Port === 0) c.Store.Port = c.Store.Driver === 'postgres' ? 5432 : 3306;
  c.LogLevel = c.LogLevel.toLowerCase();
  // '/dtx/' and 'dtx' both mean '/dtx'
  const base = c.Dashboard.BasePath.trim().replace(/\/+$/, '');
  c.Dashboard.BasePath = base && !base.startsWith('/') ? `/${base}` : base;
}

function validate(c: Config): void {
  if (c.RetryInterval < 10) throw new ConfigError('RetryInterval (RETRY_INTERVAL) should not be less than 10');
  if (c.TimeoutToFail < c.RetryInterval) {
    throw new ConfigError('TimeoutToFail (TIMEOUT_TO_FAIL) should not be less than RetryInterval');
  }
  if (c.RequestTimeout <= 0) throw new ConfigError('RequestTimeout (REQUEST_TIMEOUT) must be positive');
  if (c.TransCronInterval <= 0) throw new ConfigError('TransCronInterval (TRANS_CRON_INTERVAL) must be positive');
  for (const k of ['HttpPort', 'GrpcPort'] as const) {
    if (c[k] < 0 || c[k] > 65535) throw new ConfigError(`${k} (${envName([k])}) must be a port number`);
  }
  if (c.MaxBodyBytes < 1024) throw new ConfigError('MaxBodyBytes (MAX_BODY_BYTES) must be at least 1024');
  if (c.CronConcurrency < 1) throw new ConfigError('CronConcurrency (CRON_CONCURRENCY) must be at least 1');
  if (!['debug', 'info', 'warn', 'error'].includes(c.LogLevel)) {
    throw new ConfigError(`LogLevel (LOG_LEVEL) must be debug, info, warn or error, got '${c.LogLevel}'`);
  }
  const d = c.Dashboard;
  if (d.Port < 0 || d.Port > 65535) throw new ConfigError('Dashboard.Port (DASHBOARD_PORT) must be a port number');
  if (d.BasePath && !/^(\/[A-Za-z0-9._~-]+)+$/.test(d.BasePath)) {
    throw new ConfigError(`Dashboard.BasePath (DASHBOARD_BASE_PATH) must be a path like /dtx, got '${d.BasePath}'`);
  }
  if (d.SessionSecret && d.SessionSecret.length < 32) {
    throw new ConfigError('Dashboard.SessionSecret (DASHBOARD_SESSION_SECRET) must be at least 32 characters');
  }
  if (d.SessionHours < 1) throw new ConfigError('Dashboard.SessionHours (DASHBOARD_SESSION_HOURS) must be at least 1');
  if (d.AdminPassword && d.AdminPassword.length < 8) {
    throw new ConfigError('Dashboard.AdminPassword (DASHBOARD_ADMIN_PASSWORD) must be at least 8 characters');
  }
  for (const k of ['StuckOverdueSeconds', 'StuckRetryCount', 'StuckAgeSeconds'] as const) {
    if (d[k] < 0) throw new ConfigError(`Dashboard.${k} (${envName(['Dashboard', k])}) must not be negative`);
  }
  if (d.RefreshSeconds < 1) throw new ConfigError('Dashboard.RefreshSeconds (DASHBOARD_REFRESH_SECONDS) must be at least 1');
  const s = c.Store;
  if (!['sqlite', 'mysql', 'postgres'].includes(s.Driver)) {
    throw new ConfigError(
      `Store.Driver (STORE_DRIVER) '${s.Driver}' is not supported: use sqlite (default), mysql or postgres`,
    );
  }
  if (s.Driver !== 'sqlite') {
    if (!s.Host) throw new ConfigError('Store.Host (STORE_HOST) is required for mysql and postgres');
    if (s.Port <= 0 || s.Port > 65535) throw new ConfigError('Store.Port (STORE_PORT) is not a valid port');
    if (!s.User) throw new ConfigError('Store.User (STORE_USER) is required for mysql and postgres');
    if (s.Driver === 'postgres' && !s.Schema) throw new ConfigError('Store.Schema (STORE_SCHEMA) must not be empty');
  }
  if (s.MaxOpenConns < 1) throw new ConfigError('Store.MaxOpenConns (STORE_MAX_OPEN_CONNS) must be at least 1');
  if (c.TimeZoneOffset !== '' && !/^[+-]?\d{1,2}$/.test(c.TimeZoneOffset.trim())) {
    throw new ConfigError(`TimeZoneOffset (TIME_ZONE_OFFSET) must be hours like +8 or -5, got '${c.TimeZoneOffset}'`);
  }
  const ms = c.MicroService;
  if (!MICRO_SERVICE_DRIVERS.includes(ms.Driver)) {
    throw new ConfigError(
      `MicroService.Driver (MICRO_SERVICE_DRIVER) '${ms.Driver}' is not supported: use default or dtm-driver-gozero`,
    );
  }
  if (ms.Driver === 'dtm-driver-gozero' && ms.Target) {
    // dtm fails start-up on an unknown scheme too; consul and nacos registries are not offered.
    const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)\/([^?#]+)/.exec(ms.Target);
    if (!m) {
      throw new ConfigError(`MicroService.Target (MICRO_SERVICE_TARGET) must look like etcd://host:2379/service, got '${ms.Target}'`);
    }
    if (!['etcd', 'discov'].includes(m[1].toLowerCase())) {
      throw new ConfigError(`MicroService.Target (MICRO_SERVICE_TARGET): unsupported scheme '${m[1]}' (etcd or discov)`);
    }
    if (m[2] === '') throw new ConfigError('MicroService.Target (MICRO_SERVICE_TARGET) names no etcd host');
  }
  if (c.AlertWebHook && !/^https?:\/\//.test(c.AlertWebHook)) {
    throw new ConfigError('AlertWebHook (ALERT_WEB_HOOK) must be an http(s) URL');
  }
}

/** The configuration as logged at start-up (the password masked, unlike dtm). */
export function redacted(c: Config): Config {
  return {
    ...c,
    Store: { ...c.Store, Password: c.Store.Password ? '********' : '' },
    Dashboard: {
      ...c.Dashboard,
      SessionSecret: c.Dashboard.SessionSecret ? '********' : '',
      AdminPassword: c.Dashboard.AdminPassword ? '********' : '',
    },
  };
}

/** The storage settings of a configuration, as the db package takes them. */
export function storeConfigOf(c: Config, maxConns = 100): StoreConfig {
  const s = c.Store;
  return {
    driver: s.Driver as StoreConfig['driver'],
    host: s.Host,
    port: s.Port,
    user: s.User,
    password: s.Password,
    db: s.Db,
    schema: s.Schema,
    maxOpenConns: Math.min(s.MaxOpenConns, maxConns),
  };
}
