// Splits a gRPC branch URL into a dial target and a full method name, as dtm's micro-service
// drivers do (docs/protocol/grpc-api.md §6.1, docs/protocol/gozero-driver.md §3.1). Pure functions.

export type Driver = 'default' | 'dtm-driver-gozero';

export interface BranchTarget {
  /** What to dial: `host:port`, `etcd://h1,h2/key`, `direct:///a,b`, `dns:///h:p`, ... */
  target: string;
  /** `/package.Service/Method` */
  method: string;
}

export class TargetError extends Error {}

export function splitBranchUrl(url: string, driver: Driver): BranchTarget {
  if (driver === 'default' || !url.includes('//')) {
    if (url.includes('://')) throw new TargetError(`call dtmdriver.Use() before you use custom scheme for '${url}'`);
    const slash = url.indexOf('/');
    if (slash < 0) throw new TargetError(`bad url: '${url}'. no '/' found`);
    return { target: url.slice(0, slash), method: url.slice(slash) };
  }
  let u = url;
  // dtm-driver-gozero drops consul/nacos query text (`?wait=14s`) up to the next '/'.
  if ((u.includes('consul') || u.includes('nacos')) && u.includes('?')) {
    u = u.replace(/\?[^/]*/, '');
  }
  // Go's url.Parse: scheme://authority/path. The authority may hold comma-separated hosts,
  // which WHATWG URL parsing rejects, so this is matched by hand.
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(\/[^?#]*)?$/.exec(u);
  if (!m) throw new TargetError(`bad url: '${url}'`);
  const [, scheme, authority, path = ''] = m;
  if (path === '' || path === '/') throw new TargetError(`bad url: '${url}': no service and method in the path`);
  const second = path.indexOf('/', 1);
  if (second < 0) return { target: `${scheme}://${authority}`, method: path };
  return { target: `${scheme}://${authority}${path.slice(0, second)}`, method: path.slice(second) };
}

export interface ParsedTarget {
  scheme: string;
  /** etcd endpoints (etcd/discov) or addresses (direct). */
  hosts: string[];
  /** etcd key prefix (etcd/discov). */
  key: string;
  /** etcd credentials from ?user=&password= (registration targets). */
  user?: string;
  password?: string;
}

/** A dial target with a scheme: `etcd://h1:2379,h2:2379/key`, `discov://...`, `direct:///a,b`. */
export function parseSchemeTarget(target: string): ParsedTarget | null {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/.exec(target);
  if (!m) return null;
  const [, scheme = '', authority = '', path = '', query = ''] = m;
  const params = new URLSearchParams(query);
  const s = scheme.toLowerCase();
  if (s === 'direct') {
    return { scheme: s, hosts: path.split(',').filter(Boolean), key: '' };
  }
  return {
    scheme: s,
    hosts: authority.split(',').filter(Boolean),
    key: path,
    user: params.get('user') ?? undefined,
    password: params.get('password') ?? undefined,
  };
}
