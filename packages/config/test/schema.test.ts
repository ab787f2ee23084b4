// The schema-driven configuration: dtm's defaults and key names, normalisation, one refusal per
// rule with the message naming the key and its environment variable, precedence and masking.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, configKeys, defaultConfig, envName, loadConfig, redacted, storeConfigOf } from '../src/index.ts';

function yaml(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'dtx-conf-')), 'conf.yml');
  writeFileSync(file, text);
  return file;
}

const pg = { STORE_DRIVER: 'postgres', STORE_HOST: 'db', STORE_USER: 'u' };
const gozero = { MICRO_SERVICE_DRIVER: 'dtm-driver-gozero' };

describe('configuration schema', () => {
  it('has the keys and built-in values it had before the schema', () => {
    expect(defaultConfig()).toEqual({
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
      MaxBodyBytes: 4194304,
      CronConcurrency: 64,
      MaxEventLoopLag: 0,
      Workers: 1,
      MaxInflightSubmits: 64,
      MaxStoreWait: 8,
      MaxInflightPasses: 256,
      Dashboard: {
        Port: 36788,
        Host: '',
        BasePath: '',
        SessionSecret: '',
        SessionHours: 12,
        SessionIdleMinutes: 60,
        LoginUserAttempts: 10,
        LoginAddressAttempts: 30,
        LoginWindowSeconds: 300,
        LoginHashConcurrency: 2,
        TrustProxy: 0,
        AdminPassword: '',
        StuckOverdueSeconds: 60,
        StuckFailingSeconds: 60,
        StuckFailedCalls: 3,
        StuckOngoingSeconds: 600,
        StuckAgeSeconds: 3600,
        RefreshSeconds: 5,
        Oidc: {
          Issuer: '',
          ClientId: '',
          ClientSecret: '',
          DashboardUrl: '',
          Name: 'SSO',
          Scopes: 'openid profile email',
          RoleClaim: 'groups',
          AdminValues: '',
          OperatorValues: '',
          ViewerValues: '',
          UsernameClaim: 'preferred_username',
        },
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
        SqliteSync: 'normal',
      },
      Retention: { Mode: 'auto', BatchSize: 200, IntervalSeconds: 60, KeepAttempts: 100 },
      BranchCallPolicy: { Allow: '', Deny: '169.254.0.0/16,fe80::/10,fd00:ec2::254', MaxRedirects: 3 },
      ApiAuth: { Token: '', OperatorToken: '' },
    });
    expect(defaultConfig()).not.toBe(defaultConfig());
  });

  it("names every key by its path and every variable by dtm's rule", () => {
    const keys = configKeys();
    expect(keys.map((k) => k.path.join('.'))).toContain('Store.MaxOpenConns');
    for (const k of keys) expect(k.env).toBe(envName(k.path));
    expect(keys.find((k) => k.path.join('.') === 'MicroService.EndPoint')?.env).toBe('MICRO_SERVICE_END_POINT');
    expect(keys.find((k) => k.path.join('.') === 'UpdateBranchAsyncGoroutineNum')?.env).toBe('UPDATE_BRANCH_ASYNC_GOROUTINE_NUM');
  });

  it('reads every key from its environment variable', () => {
    // Values the rules accept and normalisation keeps; the others are the default changed.
    const valid: Record<string, string> = {
      LOG_LEVEL: 'warn',
      STORE_DRIVER: 'mysql',
      MICRO_SERVICE_DRIVER: 'dtm-driver-gozero',
      MICRO_SERVICE_TARGET: 'etcd://h:2379/x',
      DASHBOARD_BASE_PATH: '/x',
      DASHBOARD_SESSION_SECRET: 's'.repeat(32),
      DASHBOARD_ADMIN_PASSWORD: 'password',
      TIME_ZONE_OFFSET: '+8',
      ALERT_WEB_HOOK: 'http://h/',
      RETENTION_MODE: 'off',
      STORE_SQLITE_SYNC: 'full',
      BRANCH_CALL_POLICY_ALLOW: '10.0.0.0/8,*.svc.local,http://h:8080/api/',
      BRANCH_CALL_POLICY_DENY: '169.254.0.0/16',
      API_AUTH_TOKEN: 't'.repeat(32),
      API_AUTH_OPERATOR_TOKEN: 'o'.repeat(32),
      DASHBOARD_OIDC_ISSUER: 'https://idp.test/other',
      DASHBOARD_OIDC_DASHBOARD_URL: 'https://other.test',
    };
    // single sign-on keys are read with the others that Dashboard.Oidc.Issuer requires
    const sso = {
      DASHBOARD_OIDC_ISSUER: 'https://idp.test',
      DASHBOARD_OIDC_CLIENT_ID: 'dtx',
      DASHBOARD_OIDC_DASHBOARD_URL: 'https://dtx.test',
      DASHBOARD_OIDC_VIEWER_VALUES: 'staff',
    };
    for (const k of configKeys()) {
      const value = valid[k.env] ?? (typeof k.defaultValue === 'number' ? String(k.defaultValue + 1) : `${k.defaultValue}x`);
      const c = loadConfig({ env: { ...pg, ...(k.env.startsWith('DASHBOARD_OIDC_') ? sso : {}), [k.env]: value } });
      const got = k.path.reduce<unknown>((o, seg) => (o as Record<string, unknown>)[seg], c);
      expect(got, k.env).toBe(typeof k.defaultValue === 'number' ? Number(value) : value);
    }
  });

  it('normalises the store driver, log level and base path, and fills the database and port from the driver', () => {
    expect(loadConfig({ env: { STORE_DRIVER: 'SQLite3' } }).Store).toMatchObject({ Driver: 'sqlite', Db: 'data/dtm.sqlite', Port: 0 });
    expect(loadConfig({ env: { ...pg, STORE_DRIVER: 'PostgreSQL' } }).Store).toMatchObject({ Driver: 'postgres', Db: 'dtm', Port: 5432 });
    expect(loadConfig({ env: { ...pg, STORE_DRIVER: 'mariadb', STORE_PORT: '3307', STORE_DB: 'x' } }).Store).toMatchObject({
      Driver: 'mysql',
      Db: 'x',
      Port: 3307,
    });
    expect(loadConfig({ env: { LOG_LEVEL: 'WARN' } }).LogLevel).toBe('warn');
    expect(loadConfig({ env: { LOG_LEVEL: 'WARN' }, debug: true }).LogLevel).toBe('debug');
    expect(loadConfig({ env: { DASHBOARD_BASE_PATH: ' /a/b// ' } }).Dashboard.BasePath).toBe('/a/b');
  });

  it.each([
    [{ RETRY_INTERVAL: '9' }, 'RetryInterval (RETRY_INTERVAL) should not be less than 10'],
    [
      { BRANCH_CALL_POLICY_DENY: '10.0.0.0/33' },
      "BranchCallPolicy.Deny (BRANCH_CALL_POLICY_DENY): '10.0.0.0/33' is not a valid CIDR (bad prefix length)",
    ],
    [
      { BRANCH_CALL_POLICY_ALLOW: 'ftp://h/' },
      "BranchCallPolicy.Allow (BRANCH_CALL_POLICY_ALLOW): 'ftp://h/': URL prefixes must be http:// or https:// URLs",
    ],
    [
      { BRANCH_CALL_POLICY_ALLOW: 'good.host, bad host' },
      "BranchCallPolicy.Allow (BRANCH_CALL_POLICY_ALLOW): 'bad host' is not a host name, an IP address, a CIDR or an http(s):// URL prefix",
    ],
    [{ BRANCH_CALL_POLICY_MAX_REDIRECTS: '-1' }, 'BranchCallPolicy.MaxRedirects (BRANCH_CALL_POLICY_MAX_REDIRECTS) must be between 0 and 20'],
    [{ API_AUTH_TOKEN: 'x'.repeat(31) }, 'ApiAuth.Token (API_AUTH_TOKEN) must be at least 32 characters'],
    [{ RETRY_INTERVAL: '20', TIMEOUT_TO_FAIL: '19' }, 'TimeoutToFail (TIMEOUT_TO_FAIL) should not be less than RetryInterval'],
    [{ REQUEST_TIMEOUT: '0' }, 'RequestTimeout (REQUEST_TIMEOUT) must be positive'],
    [{ TRANS_CRON_INTERVAL: '-1' }, 'TransCronInterval (TRANS_CRON_INTERVAL) must be positive'],
    [{ HTTP_PORT: '65536' }, 'HttpPort (HTTP_PORT) must be a port number'],
    [{ GRPC_PORT: '-1' }, 'GrpcPort (GRPC_PORT) must be a port number'],
    [{ MAX_BODY_BYTES: '1023' }, 'MaxBodyBytes (MAX_BODY_BYTES) must be at least 1024'],
    [{ CRON_CONCURRENCY: '0' }, 'CronConcurrency (CRON_CONCURRENCY) must be at least 1'],
    [{ MAX_INFLIGHT_SUBMITS: '0' }, 'MaxInflightSubmits (MAX_INFLIGHT_SUBMITS) must be at least 1'],
    [{ MAX_INFLIGHT_PASSES: '0' }, 'MaxInflightPasses (MAX_INFLIGHT_PASSES) must be at least 1'],
    [{ MAX_STORE_WAIT: '0' }, 'MaxStoreWait (MAX_STORE_WAIT) must be at least 1'],
    [{ LOG_LEVEL: 'Loud' }, "LogLevel (LOG_LEVEL) must be debug, info, warn or error, got 'loud'"],
    [{ DASHBOARD_PORT: '70000' }, 'Dashboard.Port (DASHBOARD_PORT) must be a port number'],
    [{ STORE_FINISHED_DATA_EXPIRE: '-1' }, 'Store.FinishedDataExpire (STORE_FINISHED_DATA_EXPIRE) must not be negative'],
    [{ RETENTION_MODE: 'sometimes' }, "Retention.Mode (RETENTION_MODE) must be auto, on or off, got 'sometimes'"],
    [{ RETENTION_BATCH_SIZE: '0' }, 'Retention.BatchSize (RETENTION_BATCH_SIZE) must be between 1 and 10000'],
    [{ RETENTION_INTERVAL_SECONDS: '0' }, 'Retention.IntervalSeconds (RETENTION_INTERVAL_SECONDS) must be between 1 and 86400'],
    [{ RETENTION_KEEP_ATTEMPTS: '1' }, 'Retention.KeepAttempts (RETENTION_KEEP_ATTEMPTS) must be 0 or between 2 and 1000000'],
    [{ DASHBOARD_BASE_PATH: 'a b/' }, "Dashboard.BasePath (DASHBOARD_BASE_PATH) must be a path like /dtx, got '/a b'"],
    [{ DASHBOARD_SESSION_SECRET: 'x'.repeat(31) }, 'Dashboard.SessionSecret (DASHBOARD_SESSION_SECRET) must be at least 32 characters'],
    [{ DASHBOARD_SESSION_HOURS: '0' }, 'Dashboard.SessionHours (DASHBOARD_SESSION_HOURS) must be at least 1'],
    [{ DASHBOARD_SESSION_IDLE_MINUTES: '0' }, 'Dashboard.SessionIdleMinutes (DASHBOARD_SESSION_IDLE_MINUTES) must be at least 1'],
    [{ DASHBOARD_LOGIN_USER_ATTEMPTS: '0' }, 'Dashboard.LoginUserAttempts (DASHBOARD_LOGIN_USER_ATTEMPTS) must be at least 1'],
    [{ DASHBOARD_LOGIN_HASH_CONCURRENCY: '0' }, 'Dashboard.LoginHashConcurrency (DASHBOARD_LOGIN_HASH_CONCURRENCY) must be between 1 and 64'],
    [{ DASHBOARD_TRUST_PROXY: '-1' }, 'Dashboard.TrustProxy (DASHBOARD_TRUST_PROXY) must be between 0 and 10'],
    [{ DASHBOARD_ADMIN_PASSWORD: '1234567' }, 'Dashboard.AdminPassword (DASHBOARD_ADMIN_PASSWORD) must be at least 8 characters'],
    [{ DASHBOARD_STUCK_OVERDUE_SECONDS: '-1' }, 'Dashboard.StuckOverdueSeconds (DASHBOARD_STUCK_OVERDUE_SECONDS) must not be negative'],
    [{ DASHBOARD_STUCK_AGE_SECONDS: '-1' }, 'Dashboard.StuckAgeSeconds (DASHBOARD_STUCK_AGE_SECONDS) must not be negative'],
    [{ DASHBOARD_REFRESH_SECONDS: '0' }, 'Dashboard.RefreshSeconds (DASHBOARD_REFRESH_SECONDS) must be at least 1'],
    [{ STORE_DRIVER: 'Redis' }, "Store.Driver (STORE_DRIVER) 'Redis' is not supported: use sqlite (default), mysql or postgres"],
    [{ ...pg, STORE_HOST: '' }, 'Store.Host (STORE_HOST) is required for mysql and postgres'],
    [{ ...pg, STORE_PORT: '-5' }, 'Store.Port (STORE_PORT) is not a valid port'],
    [{ ...pg, STORE_USER: '' }, 'Store.User (STORE_USER) is required for mysql and postgres'],
    [{ STORE_MAX_OPEN_CONNS: '0' }, 'Store.MaxOpenConns (STORE_MAX_OPEN_CONNS) must be at least 1'],
    [{ TIME_ZONE_OFFSET: '+8h' }, "TimeZoneOffset (TIME_ZONE_OFFSET) must be hours like +8 or -5, got '+8h'"],
    [{ MICRO_SERVICE_DRIVER: 'x' }, "MicroService.Driver (MICRO_SERVICE_DRIVER) 'x' is not supported: use default or dtm-driver-gozero"],
    [
      { ...gozero, MICRO_SERVICE_TARGET: 'etcd:/h' },
      "MicroService.Target (MICRO_SERVICE_TARGET) must look like etcd://host:2379/service, got 'etcd:/h'",
    ],
    [{ ...gozero, MICRO_SERVICE_TARGET: 'nacos://h/x' }, "MicroService.Target (MICRO_SERVICE_TARGET): unsupported scheme 'nacos' (etcd or discov)"],
    [{ ...gozero, MICRO_SERVICE_TARGET: 'etcd:///dtm' }, 'MicroService.Target (MICRO_SERVICE_TARGET) names no etcd host'],
    [{ ALERT_WEB_HOOK: 'ftp://h/' }, 'AlertWebHook (ALERT_WEB_HOOK) must be an http(s) URL'],
  ])('refuses %j', (env, message) => {
    let err: unknown;
    try {
      loadConfig({ env });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).name).toBe('ConfigError');
    expect((err as ConfigError).message).toBe(`invalid configuration: ${message}`);
  });

  it('refuses an empty PostgreSQL schema from the file, and accepts the boundary values', () => {
    expect(() => loadConfig({ env: pg, file: yaml("Store:\n  Schema: ''\n") })).toThrow(
      'invalid configuration: Store.Schema (STORE_SCHEMA) must not be empty',
    );
    expect(loadConfig({ env: { ...pg, STORE_DRIVER: 'mysql' }, file: yaml("Store:\n  Schema: ''\n") }).Store.Schema).toBe('');
    const c = loadConfig({
      env: {
        RETRY_INTERVAL: '10',
        TIMEOUT_TO_FAIL: '10',
        HTTP_PORT: '65535',
        GRPC_PORT: '0',
        MAX_BODY_BYTES: '1024',
        TIME_ZONE_OFFSET: '-5',
        ALERT_WEB_HOOK: 'https://h/a',
      },
    });
    expect(c).toMatchObject({ RetryInterval: 10, TimeoutToFail: 10, HttpPort: 65535, GrpcPort: 0, MaxBodyBytes: 1024 });
  });

  it("reports the key's own rule before a rule comparing it with another key", () => {
    expect(() => loadConfig({ env: { RETRY_INTERVAL: '5', TIMEOUT_TO_FAIL: '3' } })).toThrow(
      /^invalid configuration: RetryInterval \(RETRY_INTERVAL\) should not be less than 10$/,
    );
  });

  it('takes the file over the environment over the default, matching file keys case-insensitively', () => {
    const c = loadConfig({
      env: { HTTP_PORT: '1000', GRPC_PORT: '1001', STORE_SCHEMA: 'fromenv' },
      file: yaml('httpport: 2000\nstore:\n  schema: fromfile\n  MAXOPENCONNS: 7\nlog:\n'),
    });
    expect(c).toMatchObject({ HttpPort: 2000, GrpcPort: 1001, JsonRpcPort: 36791 });
    expect(c.Store).toMatchObject({ Schema: 'fromfile', MaxOpenConns: 7, Driver: 'sqlite' });
    expect(c.Log.Outputs).toBe('stderr');
    expect(() => loadConfig({ env: {}, file: yaml('HttpPort: [1]\n') })).toThrow(
      "invalid configuration: HttpPort (config file) must be an integer, got '1'",
    );
    expect(() => loadConfig({ env: {}, file: yaml('ListenHost: {a: 1}\n') })).toThrow(
      'invalid configuration: ListenHost (config file) must be a string',
    );
  });

  it('masks the secrets in the logged configuration without changing the configuration', () => {
    const c = loadConfig({ env: { STORE_PASSWORD: 'pw', DASHBOARD_SESSION_SECRET: 's'.repeat(32) } });
    const r = redacted(c);
    expect(r.Store).toMatchObject({ Password: '********', Driver: 'sqlite' });
    expect(r.Dashboard).toMatchObject({ SessionSecret: '********', AdminPassword: '', Port: 36788 });
    expect(c.Store.Password).toBe('pw');
    expect({ ...r, Store: c.Store, Dashboard: c.Dashboard }).toEqual(c);
  });

  it('gives the db package its store settings, the pool capped', () => {
    const c = loadConfig({ env: { ...pg, STORE_PASSWORD: 'pw', STORE_SCHEMA: 's' } });
    expect(storeConfigOf(c)).toEqual({
      driver: 'postgres',
      host: 'db',
      port: 5432,
      user: 'u',
      password: 'pw',
      db: 'dtm',
      schema: 's',
      maxOpenConns: 100,
      sqliteSync: 'normal',
    });
    expect(storeConfigOf(c, 10).maxOpenConns).toBe(10);
  });
});
