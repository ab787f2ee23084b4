// The one description of the server configuration (dtm's keys, docs/protocol/config.md, plus a few of ours): each
// key's type, default, normalisation, validation rule and documentation. The Config type,
// defaultConfig(), the loader's checks and the keys table of docs/configuration.md all come from
// here, so they cannot drift apart.
import { z } from 'zod';
import { DEFAULT_DENY, entriesComplaint } from './egress.ts';

/** `Store.MaxOpenConns` -> `STORE_MAX_OPEN_CONNS` (dtm's rule). */
export function envName(path: string[]): string {
  return path
    .map((seg) => seg.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z])([A-Z][a-z])/g, '$1_$2'))
    .join('_')
    .toUpperCase();
}

/** What docs/configuration.md says about a key. */
export interface KeyDoc {
  /** Markdown, one line. */
  description: string;
  /** Markdown shown as the default when the built-in value alone would mislead (e.g. '' = off). */
  shownDefault?: string;
  /** Accepted for compatibility with dtm's configuration files and ignored; description says why. */
  ignored?: boolean;
  /** Masked in the configuration logged at start-up. */
  secret?: boolean;
}

export const keyDocs = z.registry<KeyDoc>();

/**
 * A rule returns its complaint about a value, or nothing. The complaint follows the key and its
 * environment variable, which the loader prepends: "should not be less than 10" becomes
 * "RetryInterval (RETRY_INTERVAL) should not be less than 10".
 */
type Rule<T> = (v: T) => string | undefined;
/** A rule on a group of keys: the key it blames and the complaint. */
type GroupRule<T> = (v: T) => [key: string & keyof T, complaint: string] | undefined;

function check<T>(rule: Rule<T>) {
  return (v: T, ctx: z.RefinementCtx<T>) => {
    const complaint = rule(v);
    if (complaint !== undefined) ctx.addIssue({ code: 'custom', message: complaint, input: v });
  };
}

function groupCheck<T>(rule: GroupRule<T>) {
  return (v: T, ctx: z.RefinementCtx<T>) => {
    const r = rule(v);
    if (r) ctx.addIssue({ code: 'custom', path: [r[0]], message: r[1], input: v });
  };
}

interface Leaf<T> extends KeyDoc {
  /** Applied before the rule; the configuration holds the normalised value. */
  normalize?: (v: T) => T;
  rule?: Rule<T>;
}

function int(def: number, doc: Leaf<number>) {
  const s = z.number().int();
  return (doc.rule ? s.superRefine(check(doc.rule)) : s).default(def).register(keyDocs, docOf(doc));
}

function str(def: string, doc: Leaf<string>) {
  let s = z.string();
  if (doc.normalize) s = s.overwrite(doc.normalize);
  if (doc.rule) s = s.superRefine(check(doc.rule));
  return s.default(def).register(keyDocs, docOf(doc));
}

function docOf({ description, shownDefault, ignored, secret }: KeyDoc): KeyDoc {
  return { description, shownDefault, ignored, secret };
}

const ignored = (why: string): KeyDoc => ({ description: why, ignored: true });
const atLeast =
  (min: number, complaint = `must be at least ${min}`): Rule<number> =>
  (v) =>
    v < min ? complaint : undefined;
const portNumber: Rule<number> = (v) => (v < 0 || v > 65535 ? 'must be a port number' : undefined);
const notNegative: Rule<number> = (v) => (v < 0 ? 'must not be negative' : undefined);
const minLength =
  (n: number): Rule<string> =>
  (v) =>
    v && v.length < n ? `must be at least ${n} characters` : undefined;

/** The stores we implement, as the db package names them. */
export const STORE_DRIVERS = ['sqlite', 'mysql', 'postgres'] as const;
export type StoreDriver = (typeof STORE_DRIVERS)[number];

const DRIVER_ALIASES: Record<string, StoreDriver> = {
  sqlite: 'sqlite',
  sqlite3: 'sqlite',
  mysql: 'mysql',
  mariadb: 'mysql',
  postgres: 'postgres',
  postgresql: 'postgres',
};

/** dtm's micro-service drivers we implement (docs/protocol/gozero-driver.md). */
export const MICRO_SERVICE_DRIVERS = ['default', 'dtm-driver-gozero'];

/**
 * Schemes of gRPC branch targets a MicroService driver resolves (the coordinator's gRPC transport
 * dials them; the engine refuses others at submit). The default driver dials `host:port` only.
 */
export function grpcSchemesOf(driver: string): string[] {
  return driver === 'dtm-driver-gozero' ? ['etcd', 'discov', 'direct', 'dns', 'ipv4', 'ipv6', 'unix', 'unix-abstract'] : [];
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'];

const microService = z
  .object({
    Driver: str('default', {
      description:
        '`default` (gRPC branch URLs are `host:port/pkg.Svc/Method`) or `dtm-driver-gozero` (also `etcd://`, `discov://`, `direct:///` URLs, and registration in etcd)',
      rule: (v) => (MICRO_SERVICE_DRIVERS.includes(v) ? undefined : `'${v}' is not supported: use default or dtm-driver-gozero`),
    }),
    Target: str('', {
      description:
        'go-zero driver: where to register this server, `etcd://host:2379[,host2:2379]/dtmservice` (or `discov://`; `?user=&password=` for etcd credentials). Empty: not registered',
    }),
    EndPoint: str('', {
      description: 'go-zero driver: the address published in etcd, i.e. what clients dial',
      shownDefault: 'this host name and `GrpcPort`',
    }),
  })
  .superRefine(
    groupCheck((ms) => {
      if (ms.Driver !== 'dtm-driver-gozero' || !ms.Target) return undefined;
      // dtm fails start-up on an unknown scheme too; consul and nacos registries are not offered.
      const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)\/([^?#]+)/.exec(ms.Target);
      if (!m) return ['Target', `must look like etcd://host:2379/service, got '${ms.Target}'`];
      const [, scheme = '', host = ''] = m;
      if (!['etcd', 'discov'].includes(scheme.toLowerCase())) return ['Target', `: unsupported scheme '${scheme}' (etcd or discov)`];
      if (host === '') return ['Target', 'names no etcd host'];
      return undefined;
    }),
  );

const log = z.object({
  Outputs: str('stderr', { description: 'comma-separated: `stderr`, `stdout` or file paths' }),
  RotationEnable: int(0, ignored('no log rotation')),
  RotationConfigJSON: str('{}', ignored('no log rotation')),
});

/** An http(s) URL; plain http only on a loopback host (a provider or dashboard on this machine, e.g. in tests). */
function webUrl(v: string): string | undefined {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return `must be a URL like https://login.example.com/realms/ops, got '${v}'`;
  }
  if (u.protocol === 'https:') return undefined;
  const loopback = u.hostname === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(u.hostname) || u.hostname === '[::1]';
  if (u.protocol === 'http:' && loopback) return undefined;
  return `must be an https URL (http only on 127.0.0.1 or localhost), got '${v}'`;
}

const claimValues = (role: string) =>
  str('', {
    description: `comma-separated values of \`Dashboard.Oidc.RoleClaim\` that give the ${role} role`,
    normalize: (v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .join(','),
  });

// Single sign-on with OpenID Connect (docs/security.md, "Single sign-on"): off while Issuer is empty.
const oidc = z
  .object({
    Issuer: str('', {
      description:
        'OpenID Connect issuer URL (its `/.well-known/openid-configuration` is read at start-up); set, the login page offers "Sign in with `Dashboard.Oidc.Name`" next to local users',
      shownDefault: '(off)',
      normalize: (v) => v.trim(),
      rule: (v) => (v ? webUrl(v) : undefined),
    }),
    ClientId: str('', { description: "the dashboard's client id at the provider (required with `Dashboard.Oidc.Issuer`)" }),
    ClientSecret: str('', {
      description: 'its client secret; empty for a public client (the authorization code flow always uses PKCE)',
      secret: true,
    }),
    DashboardUrl: str('', {
      description:
        'the address browsers use for the dashboard, e.g. `https://dtx.example.com/dtx` (required with `Dashboard.Oidc.Issuer`); the redirect URL to register at the provider is this plus `/api/auth/oidc/callback`',
      normalize: (v) => v.trim().replace(/\/+$/, ''),
      rule: (v) => (v ? webUrl(v) : undefined),
    }),
    Name: str('SSO', { description: 'the provider\'s name on the login page ("Sign in with ...")' }),
    Scopes: str('openid profile email', {
      description: 'space-separated scopes requested; must include `openid`, plus whatever makes the provider send the role claim (e.g. `groups`)',
      normalize: (v) => v.trim().split(/\s+/).filter(Boolean).join(' '),
      rule: (v) => (v.split(' ').includes('openid') ? undefined : `must include openid, got '${v}'`),
    }),
    RoleClaim: str('groups', {
      description: 'claim of the ID token or userinfo (a string or a list of strings) mapped to a role by the three keys below',
      rule: (v) => (v.trim() ? undefined : 'must name a claim'),
    }),
    AdminValues: claimValues('admin'),
    OperatorValues: claimValues('operator'),
    ViewerValues: claimValues('viewer'),
    UsernameClaim: str('preferred_username', {
      description: "claim used as the dashboard username of a new SSO user (then `email`, then `sub`); users are matched by the provider's subject",
    }),
  })
  .superRefine(
    groupCheck((o) => {
      if (!o.Issuer) return undefined;
      if (!o.ClientId) return ['ClientId', 'is required when Dashboard.Oidc.Issuer is set'];
      if (!o.DashboardUrl) return ['DashboardUrl', 'is required when Dashboard.Oidc.Issuer is set (the redirect URL is derived from it)'];
      if (!o.AdminValues && !o.OperatorValues && !o.ViewerValues) {
        return [
          'AdminValues',
          'or OperatorValues or ViewerValues must name a claim value when Dashboard.Oidc.Issuer is set (else nobody could sign in)',
        ];
      }
      return undefined;
    }),
  );

const dashboard = z.object({
  Port: int(36788, { description: 'port of the dashboard (`pnpm start`, `pnpm start:web`)', rule: portNumber }),
  Host: str('', { description: 'address the dashboard listens on', shownDefault: '(`ListenHost`)' }),
  BasePath: str('', {
    description:
      'path prefix behind a reverse proxy, e.g. `/dtx` (the proxy forwards `/dtx/*` unchanged); a change rebuilds the web app on the next start',
    shownDefault: '(root)',
    // '/dtx/' and 'dtx' both mean '/dtx'
    normalize: (v) => {
      const base = v.trim().replace(/\/+$/, '');
      return base && !base.startsWith('/') ? `/${base}` : base;
    },
    rule: (v) => (v && !/^(\/[A-Za-z0-9._~-]+)+$/.test(v) ? `must be a path like /dtx, got '${v}'` : undefined),
  }),
  SessionSecret: str('', {
    description:
      "key signing the dashboard's short-lived cookies (sign-in state), 32+ characters; sessions themselves are random tokens stored as hashes. By default a random key kept in the `kv` table, shared by every dashboard on the database",
    shownDefault: '(generated)',
    rule: minLength(32),
    secret: true,
  }),
  SessionHours: int(12, { description: 'absolute lifetime of a login, in hours, however active it is', rule: atLeast(1) }),
  SessionIdleMinutes: int(60, { description: 'a login unused for this many minutes ends', rule: atLeast(1) }),
  LoginUserAttempts: int(10, {
    description:
      'login attempts per username (from any address) within `Dashboard.LoginWindowSeconds`; further ones get 429 without a password check until the window ends',
    rule: atLeast(1),
  }),
  LoginAddressAttempts: int(30, {
    description: 'login attempts per remote address within `Dashboard.LoginWindowSeconds` (successful ones are not counted)',
    rule: atLeast(1),
  }),
  LoginWindowSeconds: int(300, { description: 'the window of the login attempt limits, in seconds', rule: atLeast(1) }),
  LoginHashConcurrency: int(2, {
    description: "most password hashes computed at once in one process (they run on Node's 4-thread pool, shared with the coordinator)",
    rule: (v) => (v < 1 || v > 64 ? 'must be between 1 and 64' : undefined),
  }),
  TrustProxy: int(0, {
    description:
      'how many reverse proxies stand in front of the dashboard; their `X-Forwarded-For`, `-Proto` and `-Host` are believed. 0: these headers are ignored',
    rule: (v) => (v < 0 || v > 10 ? 'must be between 0 and 10' : undefined),
  }),
  AdminPassword: str('', {
    description: 'password of the `admin` user created when there are no users (8+ characters); by default random and printed once',
    shownDefault: '(random)',
    rule: minLength(8),
    secret: true,
  }),
  StuckFailingSeconds: int(60, {
    description: 'Stuck view: unfinished and its branch calls have failed continuously for longer than this many seconds',
    rule: notNegative,
  }),
  StuckFailedCalls: int(3, { description: 'Stuck view: unfinished with more failed branch calls in a row than this', rule: notNegative }),
  StuckOngoingSeconds: int(600, { description: 'Stuck view: a branch has answered "ongoing" for longer than this many seconds', rule: notNegative }),
  StuckOverdueSeconds: int(60, {
    description: 'Stuck view: unfinished and due for longer than this many seconds (the scheduler lags)',
    rule: notNegative,
  }),
  StuckAgeSeconds: int(3600, { description: 'Stuck view: unfinished and older than this many seconds', rule: notNegative }),
  RefreshSeconds: int(5, { description: "how often (s) the dashboard's lists and charts refresh themselves", rule: atLeast(1) }),
  Oidc: oidc,
});

/** The redirect URL is Oidc.DashboardUrl + /api/auth/oidc/callback: it must point at this dashboard's base path. */
function oidcUrlMatchesBasePath(d: z.output<typeof dashboard>, ctx: z.RefinementCtx<z.output<typeof dashboard>>): void {
  const url = d.Oidc.DashboardUrl;
  if (!d.Oidc.Issuer || !url || webUrl(url)) return;
  const path = new URL(url).pathname.replace(/\/+$/, '');
  if (path !== d.BasePath) {
    const message = `must end with the dashboard's base path (Dashboard.BasePath '${d.BasePath}'), got '${url}'`;
    ctx.addIssue({ code: 'custom', path: ['Oidc', 'DashboardUrl'], message, input: url });
  }
}

const store = z
  .object({
    Driver: str('sqlite', {
      description: '`sqlite`, `postgres` or `mysql` (MariaDB too); `sqlite3`, `postgresql` and `mariadb` are accepted as aliases',
      normalize: (v) => DRIVER_ALIASES[v.toLowerCase()] ?? v,
      rule: (v) =>
        (STORE_DRIVERS as readonly string[]).includes(v) ? undefined : `'${v}' is not supported: use sqlite (default), mysql or postgres`,
    }),
    Host: str('', { description: 'database host (postgres, mysql; required for them)' }),
    Port: int(0, { description: 'database port', shownDefault: '5432 / 3306' }),
    User: str('', { description: 'database user (postgres, mysql; required for them)' }),
    Password: str('', { description: 'database password', secret: true }),
    Db: str('', { description: 'database name; for sqlite the database file', shownDefault: '`dtm`; sqlite: `data/dtm.sqlite`' }),
    Schema: str('public', { description: 'PostgreSQL schema' }),
    MaxOpenConns: int(500, {
      description: 'connection pool size, capped at 100 per coordinator and 10 for a dashboard started alone',
      rule: atLeast(1),
    }),
    MaxIdleConns: int(500, ignored('pool tuning beyond `MaxOpenConns` is not configurable')),
    ConnMaxLifeTime: int(5, ignored('pool tuning beyond `MaxOpenConns` is not configurable')),
    DataExpire: int(604800, ignored("expiry in dtm's redis and boltdb stores, not offered")),
    FinishedDataExpire: int(86400, {
      description:
        'retention: finished transactions (with their branches and attempt log) older than this many seconds are deleted; 0 keeps them (see `Retention.*`)',
      rule: notNegative,
    }),
    RedisPrefix: str('{a}', ignored("dtm's redis store is not offered")),
    // docs/operations.md, "Durability of the embedded store".
    SqliteSync: str('normal', {
      description:
        "SQLite's `synchronous` in WAL mode: `normal` (a killed process loses nothing; a power loss or OS crash can lose the last commits not yet synced: a checkpoint syncs the WAL every 100 ms while there are new commits, docs/operations.md) or `full` (every commit synced before it is acknowledged: nothing lost, slower) (ours)",
      normalize: (v) => v.toLowerCase(),
      rule: (v) => (v === 'normal' || v === 'full' ? undefined : `'${v}' is not supported: use normal or full`),
    }),
  })
  .overwrite((s) => {
    // The database and port follow the driver when not given.
    if (!s.Db) s.Db = s.Driver === 'sqlite' ? 'data/dtm.sqlite' : 'dtm';
    if (s.Driver !== 'sqlite' && s.Port === 0) s.Port = s.Driver === 'postgres' ? 5432 : 3306;
    return s;
  })
  .superRefine(
    groupCheck((s) => {
      if (s.Driver === 'sqlite') return undefined;
      if (!s.Host) return ['Host', 'is required for mysql and postgres'];
      if (s.Port <= 0 || s.Port > 65535) return ['Port', 'is not a valid port'];
      if (!s.User) return ['User', 'is required for mysql and postgres'];
      if (s.Driver === 'postgres' && !s.Schema) return ['Schema', 'must not be empty'];
      return undefined;
    }),
  );

const retention = z.object({
  Mode: str('auto', {
    description:
      "`on`, `off`, or `auto`: on, except in a database adopted from dtm (whose finished rows are its users' history until they say otherwise)",
    normalize: (v) => v.toLowerCase(),
    rule: (v) => (['auto', 'on', 'off'].includes(v) ? undefined : `must be auto, on or off, got '${v}'`),
  }),
  BatchSize: int(200, {
    description: 'rows deleted per database transaction (small batches keep deletes from stalling submits)',
    rule: (v) => (v < 1 || v > 10000 ? 'must be between 1 and 10000' : undefined),
  }),
  IntervalSeconds: int(60, {
    description: 'seconds between retention runs',
    rule: (v) => (v < 1 || v > 86400 ? 'must be between 1 and 86400' : undefined),
  }),
  KeepAttempts: int(100, {
    description: 'attempt-log rows kept per unfinished transaction: its first and the newest; 0 never trims',
    rule: (v) => (v !== 0 && (v < 2 || v > 1_000_000) ? 'must be 0 or between 2 and 1000000' : undefined),
  }),
});

// Egress policy of the coordinator's outgoing calls (docs/security.md, "Egress policy").
const branchCallPolicy = z.object({
  Allow: str('', {
    description:
      'comma-separated hosts (`*.svc.local` for subdomains), IPs, CIDRs and `http(s)://` URL prefixes branch calls, query_prepared, workflow resume, topic subscribers and the alert webhook may reach; empty allows all but `Deny`',
    shownDefault: '(all)',
    rule: entriesComplaint,
  }),
  Deny: str(DEFAULT_DENY, {
    description:
      'comma-separated hosts, IPs, CIDRs and URL prefixes never called (wins over `Allow`); checked on every resolved address and redirect hop. Default: link-local and cloud metadata',
    rule: entriesComplaint,
  }),
  MaxRedirects: int(3, {
    description: 'redirects an HTTP branch call follows, each hop checked again (dtm follows 10); 0 follows none',
    rule: (v) => (v < 0 || v > 20 ? 'must be between 0 and 20' : undefined),
  }),
});

const tokenRule: Rule<string> = (v) => (v && v.length < 32 ? 'must be at least 32 characters' : undefined);

// Optional bearer tokens of the coordinator's API (docs/security.md, "API tokens").
const apiAuth = z
  .object({
    Token: str('', {
      description:
        'when set, every dtm API call (HTTP, JSON-RPC, gRPC) needs `Authorization: Bearer <token>`; `/api/ping` and `/api/health/ready` stay open. 32+ characters',
      shownDefault: '(off)',
      rule: tokenRule,
      secret: true,
    }),
    OperatorToken: str('', {
      description:
        'when set, forceStop, resetCronTime, resetNextCronTime and topic subscribe/unsubscribe/delete need this token (`Token` cannot call them; they are written to the audit log either way). 32+ characters',
      shownDefault: '(off)',
      rule: tokenRule,
      secret: true,
    }),
  })
  .superRefine(groupCheck((a) => (a.Token && a.Token === a.OperatorToken ? ['OperatorToken', 'must differ from ApiAuth.Token'] : undefined)));

export const configSchema = z
  .object({
    TransCronInterval: int(3, { description: 'how often (s) an idle scheduler looks for due transactions', rule: atLeast(1, 'must be positive') }),
    TimeoutToFail: int(35, { description: 'default timeout (s) of tcc, xa and prepared msg; at least `RetryInterval`' }),
    RetryInterval: int(10, {
      description: 'base retry interval (s), and the length of a transaction lease; at least 10',
      rule: atLeast(10, 'should not be less than 10'),
    }),
    RequestTimeout: int(3, {
      description: "timeout (s) of each branch call (a transaction's `request_timeout` overrides it)",
      rule: atLeast(1, 'must be positive'),
    }),
    HttpPort: int(36789, { description: 'HTTP API port (JSON-RPC too, at `/api/json-rpc`); 0 picks a free port', rule: portNumber }),
    GrpcPort: int(36790, { description: 'gRPC API port (`dtmgimp.Dtm` and server reflection); 0 picks a free port', rule: portNumber }),
    JsonRpcPort: int(36791, ignored('JSON-RPC is served on `HttpPort`, at `/api/json-rpc`')),
    ListenHost: str('0.0.0.0', { description: 'address the HTTP and gRPC servers listen on (ours)' }),
    MicroService: microService,
    UpdateBranchSync: int(1, ignored("branch results are always written in batches, with the transaction's next write")),
    UpdateBranchAsyncGoroutineNum: int(1, ignored('see `UpdateBranchSync`')),
    LogLevel: str('info', {
      description: '`debug`, `info`, `warn`, `error` (`-d` on the command line means `debug`)',
      normalize: (v) => v.toLowerCase(),
      rule: (v) => (LOG_LEVELS.includes(v) ? undefined : `must be debug, info, warn or error, got '${v}'`),
    }),
    Log: log,
    TimeZoneOffset: str('', {
      description: 'hours (e.g. `+8`, `0`) used when rendering times in API replies',
      shownDefault: '(process zone)',
      rule: (v) => (v !== '' && !/^[+-]?\d{1,2}$/.test(v.trim()) ? `must be hours like +8 or -5, got '${v}'` : undefined),
    }),
    ConfigUpdateInterval: int(3, {
      description: 'how often (s) each coordinator reloads the topics (`topic://` subscribers) from the database; below 1 means 1',
    }),
    AlertRetryLimit: int(3, { description: 'retry count from which the alert webhook fires' }),
    AlertWebHook: str('', {
      description: 'URL receiving `{"gid","status","branch","error","retry_count"}` POSTs when a branch keeps failing',
      shownDefault: '(off)',
      rule: (v) => (v && !/^https?:\/\//.test(v) ? 'must be an http(s) URL' : undefined),
    }),
    AdminBasePath: str('', ignored("path of dtm's admin UI; the dashboard uses `Dashboard.BasePath`")),
    GrpcServiceConfig: str('{"loadBalancingConfig": [{"round_robin":{}}]}', ignored('gRPC calls always round-robin')),
    MaxBodyBytes: int(4 * 1024 * 1024, {
      description: 'largest request body accepted, larger ones get 413; also the largest gRPC message (ours)',
      rule: atLeast(1024),
    }),
    CronConcurrency: int(64, { description: 'most transactions one instance processes at once from its scheduler (ours)', rule: atLeast(1) }),
    // Admission control (docs/operations.md, "Overload"): beyond these bounds requests are refused
    // at once with a retryable answer instead of queueing without bound. No "unlimited" value:
    // an unbounded queue is the failure these keys exist to prevent.
    MaxInflightSubmits: int(64, {
      description:
        'most requests of the transaction API (prepare, submit, abort, registerBranch, prepareWorkflow; HTTP, JSON-RPC and gRPC) one instance processes at once; more get HTTP 503 / gRPC `UNAVAILABLE` (ours)',
      rule: atLeast(1),
    }),
    MaxInflightPasses: int(256, {
      description:
        "most transaction passes (API-triggered and the scheduler's) one instance runs at once; beyond it prepare, submit, abort and prepareWorkflow get HTTP 503 / gRPC `UNAVAILABLE` (ours)",
      rule: atLeast(1),
    }),
    // docs/operations.md, "Workers".
    Workers: int(1, {
      description:
        'coordinator processes sharing the HTTP and gRPC ports (`dtx server`), each a full instance under the lease rules; 0: one per available core on PostgreSQL and MySQL. SQLite has one writer: more than 1 is refused there (ours)',
      rule: atLeast(0),
    }),
    BranchCallPolicy: branchCallPolicy,
    ApiAuth: apiAuth,
    MaxEventLoopLag: int(0, {
      description:
        "how late (ms, averaged over the last few timer turns) the instance's event loop may run before new prepare, submit, abort and prepareWorkflow requests get HTTP 503 / gRPC `UNAVAILABLE` (reason `event_loop_lag`), checked once 8 requests are in progress; 0: not checked. For a machine whose cores the coordinator does not share (ours)",
      shownDefault: '0 (off)',
      rule: atLeast(0),
    }),
    // docs/operations.md, "Database outages": how long a request waits for an unreachable
    // database before it gets the admission refusal.
    MaxStoreWait: int(8, {
      description:
        'longest a request of the transaction API waits (s) for an unreachable database before it is refused like an overload (HTTP 503 / gRPC `UNAVAILABLE`, reason `store_unavailable`; nothing stored); never longer than the client waits (its `request_timeout`, its gRPC deadline) (ours)',
      rule: atLeast(1),
    }),
    Dashboard: dashboard.superRefine(oidcUrlMatchesBasePath),
    Store: store,
    Retention: retention,
  })
  .superRefine(groupCheck((c) => (c.TimeoutToFail < c.RetryInterval ? ['TimeoutToFail', 'should not be less than RetryInterval'] : undefined)))
  .superRefine(groupCheck((c) => (c.Workers > 1 && c.Store.Driver === 'sqlite' ? ['Workers', 'must be 0 or 1 on SQLite (one writer)'] : undefined)));

export type Config = z.output<typeof configSchema>;

/** One key of the configuration, as the loader and the documentation see it. */
export interface KeyInfo {
  path: string[];
  env: string;
  defaultValue: string | number;
  doc: KeyDoc;
}

/** Every key, in the order of the schema. */
export function configKeys(schema: z.ZodObject = configSchema, path: string[] = []): KeyInfo[] {
  return Object.entries(schema.shape).flatMap(([key, s]): KeyInfo[] => {
    const p = [...path, key];
    if (s instanceof z.ZodObject) return configKeys(s, p);
    const doc = keyDocs.get(s);
    if (!(s instanceof z.ZodDefault) || !doc) throw new Error(`configuration key ${p.join('.')} has no default or no documentation`);
    return [{ path: p, env: envName(p), defaultValue: s.def.defaultValue as string | number, doc }];
  });
}

/** The built-in values of every key (before normalisation: Store.Db is '' here). */
export function defaultConfig(): Config {
  const c: Record<string, unknown> = {};
  for (const k of configKeys()) {
    let node = c;
    for (const seg of k.path.slice(0, -1)) node = (node[seg] ??= {}) as Record<string, unknown>;
    const leaf = k.path.at(-1);
    if (leaf !== undefined) node[leaf] = k.defaultValue;
  }
  return c as Config;
}
