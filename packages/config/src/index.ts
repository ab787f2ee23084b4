// Server configuration with dtm's keys (docs/protocol/config.md): built-in defaults, overridden by environment
// variables (named from the YAML path: Store.MaxOpenConns -> STORE_MAX_OPEN_CONNS), overridden by
// the YAML file given with -c. Invalid values stop start-up with a message naming the key. The
// keys, defaults and rules are those of the schema in schema.ts.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { EgressPolicy } from './egress.ts';
import { configKeys, configSchema, defaultConfig, envName, type Config, type StoreDriver } from './schema.ts';

export { configKeys, configSchema, defaultConfig, envName, grpcSchemesOf, MICRO_SERVICE_DRIVERS, STORE_DRIVERS } from './schema.ts';
export type { Config, KeyDoc, KeyInfo, StoreDriver } from './schema.ts';
export { EgressPolicy };
export { DEFAULT_DENY, EgressRefusedError, grpcHostOf, hostOf, parseEntries } from './egress.ts';

export class ConfigError extends Error {
  constructor(message: string) {
    super(`invalid configuration: ${message}`);
    this.name = 'ConfigError';
  }
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
    if (raw === null || raw === undefined) target[key] = '';
    else if (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean' || typeof raw === 'bigint') target[key] = String(raw);
    else throw new ConfigError(`${name} must be a string`);
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
  applyEnv(c, opts.env ?? process.env);
  if (opts.file) {
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(opts.file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`cannot read ${opts.file}: ${(err as Error).message}`);
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`${opts.file} must be a YAML mapping`);
      applyFile(c, parsed as Record<string, unknown>);
    }
  }
  if (opts.debug) c.LogLevel = 'debug';
  const r = configSchema.safeParse(c);
  if (r.success) return r.data;
  // Only the first complaint, in the schema's key order (a group's rule after its keys' own rules).
  const issue = r.error.issues[0];
  if (!issue) throw new ConfigError('invalid configuration');
  const path = issue.path.map(String);
  const sep = issue.message.startsWith(':') ? '' : ' ';
  throw new ConfigError(`${path.join('.')} (${envName(path)})${sep}${issue.message}`);
}

/** The configuration as logged at start-up: the keys marked secret in the schema masked (unlike dtm). */
export function redacted(c: Config): Config {
  const copy = structuredClone(c);
  for (const k of configKeys()) {
    if (!k.doc.secret) continue;
    const parent = k.path.slice(0, -1).reduce<Record<string, unknown>>((o, seg) => o[seg] as Record<string, unknown>, copy);
    const leaf = k.path.at(-1);
    if (leaf !== undefined && parent[leaf]) parent[leaf] = '********';
  }
  return copy;
}

/** Where and how to open the database (the db package takes this; it is defined here, at the
 * bottom of the package graph, so that the configuration does not depend on the db package). */
export interface StoreConfig {
  driver: StoreDriver;
  host: string;
  port: number;
  user: string;
  password: string;
  /** Database name; for sqlite, the database file. */
  db: string;
  /** PostgreSQL schema (search_path). */
  schema: string;
  maxOpenConns: number;
  /** SQLite's `synchronous` setting (Store.SqliteSync); `normal` when absent. */
  sqliteSync?: 'normal' | 'full';
}

/** The storage settings of a configuration, as the db package takes them. */
export function storeConfigOf(c: Config, maxConns = 100): StoreConfig {
  const s = c.Store;
  return {
    driver: s.Driver as StoreDriver,
    host: s.Host,
    port: s.Port,
    user: s.User,
    password: s.Password,
    db: s.Db,
    schema: s.Schema,
    maxOpenConns: Math.min(s.MaxOpenConns, maxConns),
    sqliteSync: s.SqliteSync as 'normal' | 'full',
  };
}

/** The egress policy of a configuration (BranchCallPolicy.*; the loader checked its entries). */
export function egressPolicyOf(c: Config): EgressPolicy {
  return new EgressPolicy(c.BranchCallPolicy.Allow, c.BranchCallPolicy.Deny);
}
