// What the dashboard keeps in the store, in a real browser on PostgreSQL and MariaDB (the other
// spec files run on SQLite): server-side sessions (sign out, an admin ending a session), the
// per-user login limit with its audit rows, and single sign-on with its role mapping. Each store
// has its own dashboard on a fresh database, started by global-setup.ts.
import { expect, test, type Page } from '@playwright/test';
import { SSO_ADMIN_PASSWORD, STORE_LOGIN_LIMITS, type StoreDashboard } from './global-setup.ts';
import { expectReplayRefused, login, run, ssoLogin } from './support.ts';

const dashboards = JSON.parse(process.env.DTX_E2E_STORES ?? '[]') as StoreDashboard[];

/** A login attempt that may fail (support.ts's login waits for the signed-in frame). */
async function tryLogin(page: Page, web: string, username: string, password: string) {
  await page.goto(`${web}/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

const loginAdmin = (page: Page, web: string) => login(page, 'admin', SSO_ADMIN_PASSWORD, web);

/** As admin: adds a local user (a viewer) on the Users page. */
async function addUser(page: Page, web: string, name: string, password: string) {
  await page.goto(`${web}/users`);
  await page.locator('input[name="new-username"]').fill(name);
  await page.locator('input[name="new-password"]').fill(password);
  await page.getByRole('button', { name: 'Add user' }).click();
  await expect(page.getByTestId('users-table').locator('tr', { hasText: name })).toBeVisible();
}

test('the server-side stores besides SQLite each have a dashboard here', () => {
  const expected = (process.env.DTX_TEST_STORES ?? 'sqlite,postgres,mysql').split(',').filter((s) => s !== 'sqlite');
  expect(dashboards.map((d) => d.store).sort()).toEqual(expected.sort());
});

for (const { store, url: web } of dashboards) {
  test.describe(`on ${store}`, () => {
    test('sign out ends the session in the store: the old cookie, replayed, is refused', async ({ page, browser }) => {
      await loginAdmin(page, web);
      const cookies = await page.context().cookies();
      expect(cookies.find((c) => c.name === 'dtx_session')).toBeTruthy();
      await page.getByRole('button', { name: 'Sign out' }).click();
      // the login page; `?next=%2F` when a refresh of the page noticed the ended session first
      await expect(page).toHaveURL(/\/login(\?next=%2F)?$/);
      await expectReplayRefused(browser, cookies, web);
    });

    test("an admin ends a user's session on the Users page; that browser is logged out", async ({ page, browser }) => {
      const name = `sess-${store}-${run}`;
      await loginAdmin(page, web);
      await addUser(page, web, name, `${name}-password`);
      const other = await browser.newContext();
      try {
        const theirs = await other.newPage();
        await login(theirs, name, `${name}-password`, web);
        await page.getByTestId('users-table').locator('tr', { hasText: name }).getByRole('button', { name: 'Sessions' }).click();
        const sessions = page.getByTestId('sessions-table');
        await expect(sessions.locator('tbody tr')).toHaveCount(1);
        await sessions.getByRole('button', { name: 'End' }).click();
        await expect(page.getByText('No live sessions.')).toBeVisible();
        await theirs.goto(`${web}/transactions`);
        await expect(theirs).toHaveURL(/\/login\?next=%2Ftransactions/);
      } finally {
        await other.close();
      }
    });

    test('wrong passwords are limited per user: the right one is refused until the window ends, and the audit log shows it all', async ({
      page,
      browser,
    }) => {
      const name = `limit-${store}-${run}`;
      await loginAdmin(page, web);
      await addUser(page, web, name, `${name}-password`);
      const other = await browser.newContext();
      try {
        const guesser = await other.newPage();
        for (let i = 0; i < STORE_LOGIN_LIMITS.userAttempts; i++) {
          await tryLogin(guesser, web, name, `wrong-${i}`);
          await expect(guesser.getByText('wrong username or password')).toBeVisible();
        }
        // over the limit: not even the right password is checked
        await tryLogin(guesser, web, name, `${name}-password`);
        await expect(guesser.getByText(/Too many login attempts; try again in \d+ s\./)).toBeVisible();
        await expect(guesser.getByTestId('whoami')).toHaveCount(0);
        // after the window the real user gets in (no lasting lock-out); the counter is in the store
        await guesser.waitForTimeout(STORE_LOGIN_LIMITS.windowSeconds * 1000 + 500);
        await login(guesser, name, `${name}-password`, web);
      } finally {
        await other.close();
      }
      await page.goto(`${web}/audit`);
      const table = page.getByTestId('audit-table');
      await expect(table.locator('tr[data-action="login-failed"]').filter({ hasText: name })).toHaveCount(STORE_LOGIN_LIMITS.userAttempts);
      await expect(table.locator('tr[data-action="login-locked"]').filter({ hasText: name })).toHaveCount(1);
      await expect(table.locator('tr[data-action="login"]').filter({ hasText: name })).toHaveCount(1);
    });

    test('an account in the admin group signs in with the provider as admin; a viewer-group account as viewer', async ({ page, browser }) => {
      await ssoLogin(page, web, 'alice', 'alice-password');
      await expect(page.getByTestId('whoami')).toContainText('alice');
      await page.goto(`${web}/users`);
      await expect(page.getByTestId('users-table').locator('tr', { hasText: 'alice' })).toContainText('admin');
      await page.goto(`${web}/audit`);
      await expect(page.getByTestId('audit-table').locator('tr[data-action="user-sso-login"]').filter({ hasText: 'alice' }).first()).toBeVisible();

      const other = await browser.newContext();
      try {
        const bob = await other.newPage();
        await ssoLogin(bob, web, 'bob', 'bob-password');
        await expect(bob.getByTestId('whoami')).toContainText('bob');
        expect((await bob.request.get(`${web}/api/trpc/users.list`)).status()).toBe(403);
      } finally {
        await other.close();
      }
    });
  });
}
