// What the spec files share: the addresses global-setup.ts hands over, logging in, and the real
// branch services a spec file's tests answer from.
import { expect, test, type Browser, type Cookie, type Page } from '@playwright/test';
import { BranchServer } from '../../../tests/support/branches.ts';
import { DtmHttp } from '../../../tests/support/coordinator.ts';

/** The main dashboard (coordinator in the same process) and its coordinator's HTTP API. */
export const WEB = () => process.env.DTX_E2E_WEB!;
export const coordinator = () => new DtmHttp(process.env.DTX_E2E_DTM!);
/** from global setup: stays the same when a failed test restarts the worker */
export const run = process.env.DTX_E2E_RUN!;

/** Logs in on the login page (by default as the main dashboard's admin) and waits for the frame. */
export async function login(page: Page, username = 'admin', password = process.env.DTX_E2E_PASSWORD!, web = WEB()) {
  await page.goto(`${web}/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('whoami')).toContainText(username);
}

/** From `web`'s login page through the test identity provider's login page (global-setup.ts) and back. */
export async function ssoLogin(page: Page, web: string, username: string, password: string, next = '') {
  await page.goto(`${web}/login${next ? `?next=${encodeURIComponent(next)}` : ''}`);
  await page.getByRole('link', { name: 'Sign in with Test IdP' }).click();
  await expect(page.getByRole('heading', { name: 'Test IdP' })).toBeVisible();
  expect(new URL(page.url()).port).not.toBe(new URL(web).port);
  await page.getByLabel('IdP username').fill(username);
  await page.getByLabel('IdP password').fill(password);
  await page.getByRole('button', { name: 'Log in at the test IdP' }).click();
}

/** The cookies of a session that has ended, replayed in a fresh browser: `web` sends it to the login page. */
export async function expectReplayRefused(browser: Browser, cookies: Cookie[], web: string) {
  const replay = await browser.newContext();
  try {
    await replay.addCookies(cookies);
    const p = await replay.newPage();
    await p.goto(`${web}/transactions`);
    await expect(p).toHaveURL(/\/login\?next=%2Ftransactions/);
  } finally {
    await replay.close();
  }
}

/** Branch services on a free loopback port, up for the tests of the calling spec file. */
export function branchServices(): BranchServer {
  const svc = new BranchServer();
  test.beforeAll(() => svc.start());
  test.afterAll(() => svc.stop());
  return svc;
}
