// Single sign-on in a real browser against a real OpenID Connect provider (oidc-provider, started
// by global-setup.ts): accounts whose `groups` claims map to admin and to viewer get those roles,
// an account with no mapped group is refused with a reason, local login works next to SSO, and a
// dashboard whose provider cannot be reached says so and keeps its local login.
import { expect, test } from '@playwright/test';
import { SSO_ADMIN_PASSWORD } from './global-setup.ts';
import { ssoLogin } from './support.ts';

const SSO = () => process.env.DTX_E2E_SSO!;
const DOWN = () => process.env.DTX_E2E_SSO_DOWN!;

test('an account in the admin group signs in with the provider as admin, and the audit log shows it', async ({ page }) => {
  await ssoLogin(page, SSO(), 'alice', 'alice-password', '/audit');
  await expect(page.getByTestId('whoami')).toContainText('alice');
  await expect(page).toHaveURL(`${SSO()}/audit`);
  await expect(page.getByTestId('audit-table').locator('tr[data-action="user-sso-login"]').first()).toContainText('alice');
  await page.getByRole('link', { name: 'Users' }).click();
  const row = page.locator('tr', { hasText: 'alice' });
  await expect(row).toContainText('admin');
});

test('an account in the viewer group signs in as viewer and is offered no admin actions', async ({ page }) => {
  await ssoLogin(page, SSO(), 'bob', 'bob-password');
  await expect(page.getByTestId('whoami')).toContainText('bob');
  await expect(page.getByRole('heading', { name: 'Overview' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Users' })).toHaveCount(0);
  // no password of ours to change either
  await expect(page.getByRole('link', { name: 'My password' })).toHaveCount(0);
  await page.goto(`${SSO()}/transactions`);
  await expect(page.getByRole('button', { name: 'Abort selected' })).toHaveCount(0);
  // the server agrees: bob's session may not list users
  const r = await page.request.get(`${SSO()}/api/trpc/users.list`);
  expect(r.status()).toBe(403);
});

test('an account whose groups map to no role is refused with a reason, and gets no session', async ({ page }) => {
  await ssoLogin(page, SSO(), 'carol', 'carol-password');
  await expect(page).toHaveURL(/\/login\?sso=no-role$/);
  await expect(page.getByText('Your Test IdP account has no dashboard role: its "groups" claim')).toBeVisible();
  await page.goto(`${SSO()}/transactions`);
  await expect(page).toHaveURL(/\/login\?next=/);
});

test('local users still sign in with a password next to SSO', async ({ page }) => {
  await page.goto(`${SSO()}/login`);
  await expect(page.getByRole('link', { name: 'Sign in with Test IdP' })).toBeVisible();
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(SSO_ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page.getByTestId('whoami')).toContainText('admin');
});

test('with an issuer that cannot be reached, the login page says SSO is unavailable and local login works', async ({ page }) => {
  expect(process.env.DTX_E2E_SSO_DOWN_LOG).toContain('Dashboard.Oidc.Issuer');
  await page.goto(`${DOWN()}/login`);
  await expect(page.getByText('Single sign-on (Test IdP) is unavailable: the identity provider cannot be reached')).toBeVisible();
  await expect(page.getByRole('link', { name: /Sign in with/ })).toHaveCount(0);
  // the route itself refuses too, back to the login page with the reason
  await page.goto(`${DOWN()}/api/auth/oidc/login`);
  await expect(page).toHaveURL(/\/login\?sso=unavailable$/);
  await expect(page.getByText('Sign-in with Test IdP is unavailable right now')).toBeVisible();
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(SSO_ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page.getByTestId('whoami')).toContainText('admin');
});
