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

  it('masks the session secret and the admin password in the logged configuration', () => {
    const c = loadConfig({ env: { DASHBOARD_SESSION_SECRET: 'x'.repeat(40), DASHBOARD_ADMIN_PASSWORD: 'very-secret' } });
    expect(redacted(c).Dashboard).toMatchObject({ SessionSecret: '********', AdminPassword: '********' });
  });
});
