// The dashboard's configuration keys: defaults, environment names, normalisation, refusals.
import { describe, expect, it } from 'vitest';
import { loadConfig, redacted } from '@dtx/config';

describe('dashboard configuration', () => {
  it('has secure defaults and reads DASHBOARD_* variables', () => {
    expect(loadConfig({ env: {} }).Dashboard).toMatchObject({
      Port: 36788,
      BasePath: '',
      SessionSecret: '',
      AdminPassword: '',
      StuckFailedCalls: 3,
      StuckFailingSeconds: 60,
      StuckOngoingSeconds: 600,
    });
    const c = loadConfig({ env: { DASHBOARD_PORT: '8080', DASHBOARD_BASE_PATH: 'dtx/', DASHBOARD_STUCK_AGE_SECONDS: '600' } });
    expect(c.Dashboard).toMatchObject({ Port: 8080, BasePath: '/dtx', StuckAgeSeconds: 600 });
  });

  it.each([
    [{ DASHBOARD_BASE_PATH: '/a b' }, /Dashboard.BasePath \(DASHBOARD_BASE_PATH\) must be a path like \/dtx/],
    [{ DASHBOARD_SESSION_SECRET: 'short' }, /Dashboard.SessionSecret \(DASHBOARD_SESSION_SECRET\) must be at least 32 characters/],
    [{ DASHBOARD_ADMIN_PASSWORD: 'short' }, /Dashboard.AdminPassword \(DASHBOARD_ADMIN_PASSWORD\) must be at least 8 characters/],
    [{ DASHBOARD_STUCK_FAILED_CALLS: '-1' }, /Dashboard.StuckFailedCalls \(DASHBOARD_STUCK_FAILED_CALLS\) must not be negative/],
    [{ DASHBOARD_PORT: 'x' }, /Dashboard.Port \(env DASHBOARD_PORT\) must be an integer/],
  ])('refuses %j', (env, message) => {
    expect(() => loadConfig({ env })).toThrow(message);
  });

  const sso = {
    DASHBOARD_OIDC_ISSUER: 'https://login.example.test/realm',
    DASHBOARD_OIDC_CLIENT_ID: 'dtx',
    DASHBOARD_OIDC_DASHBOARD_URL: 'https://dtx.example.test',
    DASHBOARD_OIDC_ADMIN_VALUES: 'ops',
  };

  it('reads the single sign-on keys; SSO is off while the issuer is empty', () => {
    expect(loadConfig({ env: {} }).Dashboard.Oidc).toMatchObject({ Issuer: '', Scopes: 'openid profile email', RoleClaim: 'groups' });
    const c = loadConfig({ env: { ...sso, DASHBOARD_OIDC_VIEWER_VALUES: ' staff , all ,', DASHBOARD_OIDC_SCOPES: ' openid  groups ' } });
    expect(c.Dashboard.Oidc).toMatchObject({ Issuer: sso.DASHBOARD_OIDC_ISSUER, ViewerValues: 'staff,all', Scopes: 'openid groups' });
    // plain http only for a provider on this machine
    expect(loadConfig({ env: { ...sso, DASHBOARD_OIDC_ISSUER: 'http://127.0.0.1:8080' } }).Dashboard.Oidc.Issuer).toBe('http://127.0.0.1:8080');
  });

  it.each([
    [{ DASHBOARD_OIDC_CLIENT_ID: '' }, /Dashboard.Oidc.ClientId \(DASHBOARD_OIDC_CLIENT_ID\) is required when Dashboard.Oidc.Issuer is set/],
    [{ DASHBOARD_OIDC_ISSUER: 'login.example.test' }, /Dashboard.Oidc.Issuer \(DASHBOARD_OIDC_ISSUER\) must be a URL/],
    [{ DASHBOARD_OIDC_ISSUER: 'http://login.example.test' }, /Dashboard.Oidc.Issuer \(DASHBOARD_OIDC_ISSUER\) must be an https URL/],
    [{ DASHBOARD_OIDC_DASHBOARD_URL: '' }, /Dashboard.Oidc.DashboardUrl \(DASHBOARD_OIDC_DASHBOARD_URL\) is required/],
    [{ DASHBOARD_BASE_PATH: '/dtx' }, /Dashboard.Oidc.DashboardUrl \(DASHBOARD_OIDC_DASHBOARD_URL\) must end with the dashboard's base path/],
    [
      { DASHBOARD_OIDC_ADMIN_VALUES: '' },
      /Dashboard.Oidc.AdminValues \(DASHBOARD_OIDC_ADMIN_VALUES\) or OperatorValues or ViewerValues must name a claim value/,
    ],
    [{ DASHBOARD_OIDC_SCOPES: 'profile groups' }, /Dashboard.Oidc.Scopes \(DASHBOARD_OIDC_SCOPES\) must include openid/],
  ])('refuses the single sign-on settings %j', (env, message) => {
    expect(() => loadConfig({ env: { ...sso, ...env } })).toThrow(message);
  });

  it('masks the session secret and the admin password in the logged configuration', () => {
    const c = loadConfig({
      env: { DASHBOARD_SESSION_SECRET: 'x'.repeat(40), DASHBOARD_ADMIN_PASSWORD: 'very-secret', ...sso, DASHBOARD_OIDC_CLIENT_SECRET: 's' },
    });
    expect(redacted(c).Dashboard).toMatchObject({ SessionSecret: '********', AdminPassword: '********', Oidc: { ClientSecret: '********' } });
  });
});
