// The egress policy's decisions (packages/config/src/egress.ts; docs/security.md, "Egress policy").
// Pure: no call is made here; tests/egress.test.ts proves them on real calls.
import { describe, expect, it } from 'vitest';
import { DEFAULT_DENY, EgressPolicy } from '../src/index.ts';

describe('EgressPolicy', () => {
  const byDefault = new EgressPolicy('', DEFAULT_DENY);

  it('by default refuses link-local and metadata addresses, in every spelling the URL parser normalises', () => {
    for (const url of [
      'http://169.254.169.254/latest',
      'http://2852039166/',
      'http://0xa9.254.169.254/',
      'https://[fe80::1]:8443/',
      'http://[::ffff:169.254.169.254]/',
    ]) {
      expect(byDefault.refuseUrl(url), url).toMatch(/^BranchCallPolicy\.Deny entry '(169\.254\.0\.0\/16|fe80::\/10)'/);
    }
    expect(byDefault.refuseUrl('http://[fd00:ec2::254]/latest')).toContain("'fd00:ec2::254'");
    expect(byDefault.refuseUrl('169.254.169.254:50051/pkg.Svc/Method')).toContain("'169.254.0.0/16'");
    expect(byDefault.refuseUrl('[fe80::2]:50051/pkg.Svc/Method')).toContain("'fe80::/10'");
    expect(byDefault.refuseAddress('metadata.internal', '169.254.169.254')).toContain('169.254.0.0/16');
    expect(byDefault.refuseUrl('http://127.0.0.1:8080/x')).toBeUndefined();
    expect(byDefault.refuseUrl('http://svc.local/x')).toBeUndefined();
  });

  it('matches host names exactly or as subdomains of a *. entry, case-insensitively', () => {
    const p = new EgressPolicy('', 'Secret.Example,*.internal.example');
    expect(p.refuseUrl('http://secret.example/')).toContain("'Secret.Example'");
    expect(p.refuseUrl('http://a.b.internal.example:81/')).toContain("'*.internal.example'");
    expect(p.refuseUrl('http://internal.example/')).toBeUndefined();
    expect(p.refuseUrl('http://notsecret.example/')).toBeUndefined();
  });

  it('compares URL prefixes with the normalised URL: an origin prefix does not match a longer host name', () => {
    const p = new EgressPolicy('', 'http://a.example');
    expect(p.refuseUrl('http://a.example/x')).toContain("'http://a.example/'");
    expect(p.refuseUrl('HTTP://A.EXAMPLE:80/x')).toContain("'http://a.example/'");
    expect(p.refuseUrl('http://a.example.evil/x')).toBeUndefined();
  });

  it('an allow list: what it names passes, the rest is refused; a host name waits for its address', () => {
    const p = new EgressPolicy('10.1.0.0/16,api.example,http://h.example/hooks/', DEFAULT_DENY);
    expect(p.refuseUrl('http://10.1.2.3/x')).toBeUndefined();
    expect(p.refuseUrl('http://10.2.0.1/x')).toBe('BranchCallPolicy.Allow: no entry matches address 10.2.0.1');
    expect(p.refuseUrl('http://api.example/x')).toBeUndefined();
    expect(p.refuseUrl('http://h.example/hooks/a')).toBeUndefined();
    expect(p.refuseUrl('http://h.example/other')).toBe("BranchCallPolicy.Allow: no URL prefix of 'h.example' matches");
    // decided by the address it resolves to
    expect(p.refuseUrl('http://other.example/x')).toBeUndefined();
    expect(p.refuseAddress('other.example', '10.1.9.9')).toBeUndefined();
    expect(p.refuseAddress('other.example', '10.3.0.1')).toBe("BranchCallPolicy.Allow: no entry matches 'other.example' (address 10.3.0.1)");
    // a named host is trusted whatever it resolves to, except what Deny refuses
    expect(p.refuseAddress('api.example', '192.0.2.1')).toBeUndefined();
    expect(p.refuseAddress('api.example', '169.254.169.254')).toContain('BranchCallPolicy.Deny');
    // a resolver's target is decided on the addresses it resolves to
    expect(p.refuseUrl('etcd://127.0.0.1:2379/svc/pkg.Svc/Method')).toBeUndefined();
    // without address entries, an unnamed host is refused at once
    expect(new EgressPolicy('api.example', '').refuseUrl('http://other.example/')).toBe("BranchCallPolicy.Allow: no entry matches 'other.example'");
  });

  it('deny wins over allow', () => {
    const p = new EgressPolicy('127.0.0.0/8', '127.0.0.2');
    expect(p.refuseUrl('http://127.0.0.2/')).toContain("BranchCallPolicy.Deny entry '127.0.0.2'");
    expect(p.refuseUrl('http://127.0.0.3/')).toBeUndefined();
  });

  it('refuses malformed entries naming them', () => {
    expect(() => new EgressPolicy('10.0.0.0/40', '')).toThrow("'10.0.0.0/40' is not a valid CIDR");
    expect(() => new EgressPolicy('', 'fe80::/129')).toThrow("'fe80::/129' is not a valid CIDR");
    expect(() => new EgressPolicy('', 'a/b')).toThrow("'a/b' is not a host name");
    expect(() => new EgressPolicy('', 'gopher://x/')).toThrow('URL prefixes must be http:// or https:// URLs');
  });
});
