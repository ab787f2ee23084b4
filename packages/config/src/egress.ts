// The egress policy of the coordinator's outgoing calls (BranchCallPolicy.*, docs/security.md
// "Egress policy"): which hosts, addresses and URLs branch calls, query_prepared, workflow resume,
// topic subscribers and the alert webhook may reach. Pure: the transports apply it where they
// connect (the resolved address of every connection) and per request (every redirect hop); the
// engine and the topics apply the part decidable without DNS when a request arrives.
import { BlockList, isIP } from 'node:net';

/** Link-local and cloud metadata addresses: no legitimate branch lives there. */
export const DEFAULT_DENY = '169.254.0.0/16,fe80::/10,fd00:ec2::254';

type Entry =
  | { kind: 'prefix'; text: string }
  | { kind: 'host'; text: string; host: string; wildcard: boolean }
  | { kind: 'address'; text: string; block: BlockList };

const HOST_NAME = /^(\*\.)?([a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/;

/** One entry of a list: a URL prefix (`http(s)://...`), an IP or CIDR, or a host name (`*.` for subdomains). */
export function parseEntry(raw: string): Entry {
  const text = raw.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    if (!/^https?:\/\//i.test(text)) throw new Error(`'${text}': URL prefixes must be http:// or https:// URLs`);
    try {
      // normalised as the URLs it is compared with: `http://a.b` becomes `http://a.b/`, which
      // `http://a.b.evil.example/` does not start with
      return { kind: 'prefix', text: new URL(text).href };
    } catch {
      throw new Error(`'${text}' is not a valid URL prefix`);
    }
  }
  const slash = text.indexOf('/');
  const ip = slash < 0 ? text : text.slice(0, slash);
  const family = isIP(ip);
  if (family) {
    const block = new BlockList();
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (slash < 0) {
      block.addAddress(ip, type);
    } else {
      const bits = text.slice(slash + 1);
      const prefix = Number(bits);
      if (!/^\d{1,3}$/.test(bits) || prefix > (family === 4 ? 32 : 128)) throw new Error(`'${text}' is not a valid CIDR (bad prefix length)`);
      block.addSubnet(ip, prefix, type);
    }
    return { kind: 'address', text, block };
  }
  const host = text.toLowerCase();
  if (slash >= 0 || !HOST_NAME.test(host)) throw new Error(`'${text}' is not a host name, an IP address, a CIDR or an http(s):// URL prefix`);
  const wildcard = host.startsWith('*.');
  return { kind: 'host', text, host: (wildcard ? host.slice(1) : host).replace(/\.$/, ''), wildcard };
}

/** A comma-separated list; the complaint names the entry (the config loader prepends the key). */
export function parseEntries(list: string): Entry[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(parseEntry);
}

/** The list's complaint about a value, or nothing (the configuration schema's rule). */
export function entriesComplaint(list: string): string | undefined {
  try {
    parseEntries(list);
    return undefined;
  } catch (err) {
    return `: ${(err as Error).message}`;
  }
}

class Rules {
  readonly prefixes: string[] = [];
  readonly exact = new Map<string, string>();
  readonly wildcards: { suffix: string; text: string }[] = [];
  readonly addresses: { block: BlockList; text: string }[] = [];
  /** Hosts named by URL prefixes: such a host is reached only under one of its prefixes. */
  readonly prefixHosts = new Set<string>();

  constructor(readonly entries: Entry[]) {
    for (const e of entries) {
      if (e.kind === 'prefix') {
        this.prefixes.push(e.text);
        this.prefixHosts.add(hostOf(e.text));
      } else if (e.kind === 'host') {
        if (e.wildcard) this.wildcards.push({ suffix: e.host, text: e.text });
        else this.exact.set(e.host, e.text);
      } else {
        this.addresses.push({ block: e.block, text: e.text });
      }
    }
  }

  get empty(): boolean {
    return this.entries.length === 0;
  }

  prefix(url: string): string | undefined {
    return this.prefixes.find((p) => url.startsWith(p));
  }

  host(host: string): string | undefined {
    return this.exact.get(host) ?? this.wildcards.find((w) => host.endsWith(w.suffix))?.text;
  }

  address(ip: string): string | undefined {
    const family = isIP(ip);
    if (!family) return undefined;
    const type = family === 4 ? 'ipv4' : 'ipv6';
    return this.addresses.find((a) => a.block.check(ip, type))?.text;
  }
}

/** Lowercase host of a URL, without IPv6 brackets; '' when it has none. */
export function hostOf(url: string): string {
  try {
    return new URL(url).hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  } catch {
    return '';
  }
}

/** Host of a gRPC branch target `host:port/pkg.Svc/Method` ('' for `scheme://` targets). */
export function grpcHostOf(target: string): string {
  if (target.includes('://')) return '';
  const authority = target.split('/', 1)[0] ?? '';
  const v6 = /^\[([^\]]+)\]/.exec(authority);
  if (v6) return (v6[1] ?? '').toLowerCase();
  const colon = authority.lastIndexOf(':');
  // a bare IPv6 address without port: several colons
  if (authority.indexOf(':') !== colon) return authority.toLowerCase();
  return (colon < 0 ? authority : authority.slice(0, colon)).toLowerCase();
}

const CACHE_LIMIT = 10_000;

/**
 * Deny wins; an empty Allow allows everything else. A URL or host name entry is matched per
 * request (every redirect hop), an IP or CIDR entry against the address each connection uses
 * (and against literal IPs at once). An allowed host name or URL prefix trusts the name: its
 * resolved addresses are not compared with Allow's addresses (Deny's still apply).
 */
export class EgressPolicy {
  private readonly allow: Rules;
  private readonly deny: Rules;
  /** Whether any list has URL prefixes (else a URL's host decides alone). */
  private readonly prefixes: boolean;
  private readonly hostCache = new Map<string, string | null>();
  private readonly originHosts = new Map<string, string>();
  private readonly addressCache = new Map<string, string | null>();

  constructor(allow: string, deny: string) {
    this.allow = new Rules(parseEntries(allow));
    this.deny = new Rules(parseEntries(deny));
    this.prefixes = this.allow.prefixes.length + this.deny.prefixes.length > 0;
  }

  /** Everything allowed: no list has entries. */
  get open(): boolean {
    return this.allow.empty && this.deny.empty;
  }

  /**
   * Request level (no DNS): the reason an http(s) URL or gRPC target is refused, or undefined.
   * A host name only an address entry of Allow could allow passes here: its connection decides.
   */
  refuseUrl(url: string | URL): string | undefined {
    if (this.open) return undefined;
    if (typeof url === 'string' && !/^https?:\/\//i.test(url)) return this.verdict(grpcHostOf(url), undefined);
    let u: URL;
    try {
      u = typeof url === 'string' ? new URL(url) : url;
    } catch {
      return undefined; // not a URL: the request checks refuse it
    }
    return this.verdict(u.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1'), this.prefixes ? u.href : undefined);
  }

  /**
   * refuseUrl for a request of the HTTP client: `origin` as the client normalised it
   * (`http://host:port`), `path` with its query. Parses each origin once.
   */
  refuseRequest(origin: string, path: string): string | undefined {
    if (this.open) return undefined;
    let host = this.originHosts.get(origin);
    if (host === undefined) {
      host = hostOf(origin);
      if (this.originHosts.size >= CACHE_LIMIT) this.originHosts.clear();
      this.originHosts.set(origin, host);
    }
    return this.verdict(host, this.prefixes ? origin + path : undefined);
  }

  private verdict(host: string, href: string | undefined): string | undefined {
    let allowedByPrefix = false;
    if (href !== undefined) {
      const denied = this.deny.prefix(href);
      if (denied) return `BranchCallPolicy.Deny entry '${denied}'`;
      allowedByPrefix = this.allow.prefix(href) !== undefined;
    }
    // a resolver's target (etcd://, direct:///): decided on the addresses it resolves to
    if (!host) return undefined;
    const why = this.refuseHost(host);
    // an allowed URL prefix lifts Allow's refusal, never Deny's
    return allowedByPrefix && why?.startsWith('BranchCallPolicy.Allow') ? undefined : why;
  }

  /** What a URL's host alone decides (cached): Deny's host names, literal addresses, Allow. */
  private refuseHost(host: string): string | undefined {
    const cached = this.hostCache.get(host);
    if (cached !== undefined) return cached ?? undefined;
    const why = this.decideHost(host);
    if (this.hostCache.size >= CACHE_LIMIT) this.hostCache.clear();
    this.hostCache.set(host, why ?? null);
    return why;
  }

  private decideHost(host: string): string | undefined {
    const denied = this.deny.host(host);
    if (denied) return `BranchCallPolicy.Deny entry '${denied}'`;
    const literal = isIP(host) !== 0;
    if (literal) {
      const why = this.decideAddress(host, host);
      if (why) return why;
    }
    if (this.allow.empty || this.allow.host(host)) return undefined;
    if (this.allow.prefixHosts.has(host)) return `BranchCallPolicy.Allow: no URL prefix of '${host}' matches`;
    // a literal address passed above; a name is decided by the addresses it resolves to
    if (literal || this.allow.addresses.length > 0) return undefined;
    return `BranchCallPolicy.Allow: no entry matches '${host}'`;
  }

  /** Connect level: the reason connecting to `ip` (resolved from `host`) is refused, or undefined. Cached. */
  refuseAddress(host: string, ip: string): string | undefined {
    if (this.open) return undefined;
    const key = `${host} ${ip}`;
    const cached = this.addressCache.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const why = this.decideAddress(host.toLowerCase(), ip);
    if (this.addressCache.size >= CACHE_LIMIT) this.addressCache.clear();
    this.addressCache.set(key, why ?? null);
    return why;
  }

  private decideAddress(host: string, ip: string): string | undefined {
    const denied = this.deny.address(ip);
    if (denied) return `BranchCallPolicy.Deny entry '${denied}' (address ${ip})`;
    if (this.allow.empty) return undefined;
    if (this.allow.host(host) || this.allow.prefixHosts.has(host)) return undefined;
    if (this.allow.address(ip)) return undefined;
    return `BranchCallPolicy.Allow: no entry matches ${host === ip ? `address ${ip}` : `'${host}' (address ${ip})`}`;
  }
}

/** The error a refused call fails with (its message is recorded in the attempt log). */
export class EgressRefusedError extends Error {
  readonly code = 'DTX_EGRESS_REFUSED';
  constructor(what: string, reason: string) {
    super(`call to ${what} refused by ${reason}`);
    this.name = 'EgressRefusedError';
  }
}
