// The egress policy on gRPC branch calls (docs/security.md, "Egress policy"): a channel to
// `host:port` is opened as `dtx-egress://<policy>/host:port`, whose resolver (grpc-js's maintained
// resolver hook) runs grpc-js's own resolver for the real target and drops the addresses the
// policy refuses before grpc-js connects to them. No DNS lookup is added: it is the channel's own.
import * as grpc from '@grpc/grpc-js';
import type { EgressPolicy } from '@dtx/config';

const SCHEME = 'dtx-egress';
const NATIVE = new Set(['dns', 'ipv4', 'ipv6', 'unix', 'unix-abstract']);
const policies = new Map<string, EgressPolicy>();
let nextId = 0;
let registered = false;

type Uri = grpc.experimental.GrpcUri;

/** The real target inside ours: `dns:` unless it names one of grpc-js's schemes. */
function innerOf(target: Uri): Uri {
  const m = /^([A-Za-z0-9+.-]+):(?:\/\/([^/]*)\/)?(.+)$/.exec(target.path);
  if (m && NATIVE.has((m[1] ?? '').toLowerCase())) return { scheme: (m[1] ?? '').toLowerCase(), authority: m[2], path: m[3] ?? '' };
  return { scheme: 'dns', path: target.path };
}

class EgressResolver implements grpc.experimental.Resolver {
  private readonly inner: grpc.experimental.Resolver;

  constructor(target: Uri, listener: grpc.experimental.ResolverListener, options: grpc.ChannelOptions) {
    const policy = policies.get(target.authority ?? '');
    const inner = innerOf(target);
    const host = grpc.experimental.splitHostPort(inner.path)?.host ?? inner.path;
    this.inner = grpc.experimental.createResolver(
      inner,
      (endpoints, attributes, serviceConfig, note) => {
        if (!policy || !endpoints.ok) return listener(endpoints, attributes, serviceConfig, note);
        let why = '';
        const kept = endpoints.value
          .map((e) => ({
            addresses: e.addresses.filter((a) => {
              if (!('host' in a)) return true; // unix sockets: not network egress
              const r = policy.refuseAddress(host, a.host);
              if (r) why = r;
              return !r;
            }),
          }))
          .filter((e) => e.addresses.length > 0);
        if (kept.length === 0 && why) {
          const details = `call to ${inner.path} refused by ${why}`;
          return listener(grpc.experimental.statusOrFromError({ code: grpc.status.UNAVAILABLE, details }), attributes, serviceConfig, note);
        }
        return listener(grpc.experimental.statusOrFromValue(kept), attributes, serviceConfig, note);
      },
      options,
    );
  }

  updateResolution(): void {
    this.inner.updateResolution();
  }

  destroy(): void {
    this.inner.destroy();
  }

  static getDefaultAuthority(target: Uri): string {
    return innerOf(target).path;
  }
}

/** Registers a policy; `wrap` turns a dial target into one whose addresses it checks. */
export function egressTargets(policy: EgressPolicy): { wrap(target: string): string; release(): void } {
  if (!registered) {
    grpc.experimental.registerResolver(SCHEME, EgressResolver);
    registered = true;
  }
  const id = `p${nextId++}`;
  policies.set(id, policy);
  return {
    wrap: (target) => `${SCHEME}://${id}/${target}`,
    release: () => void policies.delete(id),
  };
}
