// The egress policy on the address a connection uses (docs/security.md, "Egress policy"): a DNS
// lookup for node:net that drops the addresses BranchCallPolicy refuses, so the check rides on the
// lookup the connection makes anyway (no lookup is added). Used by the HTTP transport's connector
// and by the gRPC client's connections.
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { EgressRefusedError, type EgressPolicy } from '@dtx/config';

/**
 * node:dns lookup with the refused addresses dropped; none left fails the connection with an
 * EgressRefusedError naming `what(hostname)` (the host, or the dial target).
 */
export function policyLookup(policy: EgressPolicy, what: (hostname: string) => string = (h) => h): LookupFunction {
  return ((hostname: string, options: LookupAllOptions, callback: (err: Error | null, a: LookupAddress[] | string, f?: number) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, options.all ? [] : '', 0);
      const allowed = addresses.filter((a) => !policy.refuseAddress(hostname, a.address));
      const first = allowed[0];
      if (!first) {
        const why = addresses[0] ? policy.refuseAddress(hostname, addresses[0].address) : 'no address';
        return callback(new EgressRefusedError(what(hostname), why ?? 'BranchCallPolicy'), options.all ? [] : '', 0);
      }
      if (options.all) callback(null, allowed);
      else callback(null, first.address, first.family);
    });
  }) as unknown as LookupFunction;
}
