// The dashboard as each role and each new user sees it, in a real browser against the real
// coordinator: no form a role cannot submit, per-subscriber deliveries on the Topics page, dark
// mode from the system setting, and the empty states (the first-transaction hint of a new
// installation, a filter that matches nothing).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { eventually } from '../../../tests/support/branches.ts';
import { DtmHttp } from '../../../tests/support/coordinator.ts';
import { ROOT } from '../../../tests/support/processes.ts';
import { EMPTY_ADMIN_PASSWORD } from './global-setup.ts';
import { branchServices, coordinator, login, run, WEB } from './support.ts';

const svc = branchServices();
const dtm = coordinator();

const subscribe = (topic: string, url: string) =>
  dtm.get(`subscribe?topic=${encodeURIComponent(topic)}&url=${encodeURIComponent(url)}&remark=`).then((r) => expect(r.status).toBe(200));

/** A user of this role, created by the admin through the API the Users page uses; a page logged in as it. */
async function as(browser: Browser, admin: Page, role: 'viewer' | 'operator'): Promise<Page> {
  const username = `pl-${role}-${run}`;
  const r = await admin.request.post(`${WEB()}/api/trpc/users.create`, {
    headers: { 'x-dtx-csrf': '1', 'content-type': 'application/json' },
    data: { username, password: `${username}-password`, role },
  });
  expect(r.status()).toBe(200);
  const page = await (await browser.newContext()).newPage();
  await login(page, username, `${username}-password`);
  return page;
}

test('a viewer is offered no form or button it cannot use; an operator no user management', async ({ page, browser }) => {
  const topic = `pl-${run}-roles`;
  await subscribe(topic, svc.url('/pl/roles'));
  await login(page);
  const viewer = await as(browser, page, 'viewer');

  await viewer.goto(`${WEB()}/users`);
  await expect(viewer.getByText('Only admins manage dashboard users')).toBeVisible();
  await expect(viewer.getByRole('button', { name: 'Add user' })).toHaveCount(0);
  await expect(viewer.locator('input[name="new-username"]')).toHaveCount(0);
  await expect(viewer.getByTestId('users-table')).toHaveCount(0);
  // their own password is theirs to change, and the menu says so
  await expect(viewer.getByRole('button', { name: 'Change' })).toBeVisible();
  await expect(viewer.getByRole('link', { name: 'My password' }).first()).toBeVisible();

  await viewer.goto(`${WEB()}/topics`);
  await expect(viewer.getByTestId(`topic-${topic}`)).toBeVisible();
  await expect(viewer.getByText(svc.url('/pl/roles'))).toBeVisible();
  await expect(viewer.getByRole('button', { name: 'Subscribe', exact: true })).toHaveCount(0);
  await expect(viewer.getByLabel('Subscriber URL')).toHaveCount(0);
  await expect(viewer.getByRole('button', { name: 'Unsubscribe' })).toHaveCount(0);
  await expect(viewer.getByRole('button', { name: 'Delete topic' })).toHaveCount(0);

  const operator = await as(browser, page, 'operator');
  await operator.goto(`${WEB()}/users`);
  await expect(operator.getByText('Only admins manage dashboard users')).toBeVisible();
  await expect(operator.getByRole('button', { name: 'Add user' })).toHaveCount(0);
  await expect(operator.getByTestId('users-table')).toHaveCount(0);
  // operators do manage topics
  await operator.goto(`${WEB()}/topics`);
  await expect(operator.getByRole('button', { name: 'Subscribe', exact: true })).toBeVisible();
  await expect(operator.getByRole('button', { name: 'Delete topic' }).first()).toBeVisible();
  // the admin still has the whole page
  await page.goto(`${WEB()}/users`);
  await expect(page.getByRole('button', { name: 'Add user' })).toBeVisible();
  await expect(page.getByTestId('users-table')).toContainText(`pl-viewer-${run}`);
  await viewer.context().close();
  await operator.context().close();
});

test('the Topics page counts the deliveries to each subscriber, with the last error and its time', async ({ page }) => {
  const topic = `pl-${run}-paid`;
  svc.on('/pl/ledger', { status: 500, body: 'ledger database down' });
  await subscribe(topic, svc.url('/pl/mail'));
  await subscribe(topic, svc.url('/pl/ledger'));
  const gid = `pl-${run}-msg`;
  const r = await dtm.post('submit', { gid, trans_type: 'msg', steps: [{ action: `topic://${topic}` }], payloads: ['{"order":7}'] });
  expect(r.status).toBe(200);
  await eventually(() => svc.callsTo('/pl/mail', gid).length === 1 && svc.callsTo('/pl/ledger', gid).length >= 1);

  await login(page);
  await page.goto(`${WEB()}/topics`);
  const mail = page.getByRole('listitem').filter({ hasText: svc.url('/pl/mail') });
  const ledger = page.getByRole('listitem').filter({ hasText: svc.url('/pl/ledger') });
  await expect(mail.getByTestId('deliveries')).toContainText('1 delivered · 0 failed');
  await expect(mail.getByTestId('last-error')).toHaveCount(0);
  await expect(ledger.getByTestId('deliveries')).toContainText(/0 delivered · [1-9]\d* failed/);
  await expect(ledger.getByTestId('last-error')).toContainText('500');
  await expect(ledger.getByTestId('last-error')).toContainText('ledger database down');
  await expect(ledger.getByTestId('last-error')).toContainText(/last error \d{4}-\d\d-\d\d \d\d:\d\d/);
  // a shorter window still holds them
  await page.getByLabel('Deliveries window').selectOption('1h');
  await expect(mail.getByTestId('deliveries')).toContainText('1 delivered');
});

/** The lightness (0 dark .. 1 light) of a computed CSS colour: lab() (Chromium's for Tailwind 4's oklch colours), oklch() or rgb(). */
function lightness(color: string): number {
  const lab = /^lab\(([\d.]+)/.exec(color);
  if (lab) return Number(lab[1]) / 100;
  const ok = /^okl(?:ch|ab)\(([\d.]+)(%?)/.exec(color);
  if (ok) return Number(ok[1]) / (ok[2] ? 100 : 1);
  const rgb = /^rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(color);
  // Not parsed (an empty value while the page re-renders): NaN fails every comparison, and expect.poll asks again.
  if (!rgb) return NaN;
  return (0.2126 * Number(rgb[1]) + 0.7152 * Number(rgb[2]) + 0.0722 * Number(rgb[3])) / 255;
}

test('the pages follow the system setting: dark with a dark colour scheme, light with a light one', async ({ page }) => {
  await login(page);
  const background = (selector: string) =>
    page
      .locator(selector)
      .first()
      .evaluate((e) => getComputedStyle(e).backgroundColor);
  const text = () => page.locator('body').evaluate((e) => getComputedStyle(e).color);
  // each page with a panel of its own: a card, the list's filter form
  for (const [path, panel] of [
    ['/', 'section'],
    ['/transactions', 'main form'],
    ['/topics', 'section'],
  ] as const) {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${WEB()}${path}`);
    await expect(page.locator(panel).first()).toBeVisible();
    await expect.poll(async () => lightness(await background('body'))).toBeLessThan(0.3);
    await expect.poll(async () => lightness(await background(panel))).toBeLessThan(0.3);
    await expect.poll(async () => lightness(await text())).toBeGreaterThan(0.8);
    await page.screenshot({ path: join(ROOT, 'test-results', 'screenshots', `dark${path.replace(/\//g, '-')}.png`) });
    await page.emulateMedia({ colorScheme: 'light' });
    await expect.poll(async () => lightness(await background('body'))).toBeGreaterThan(0.9);
    await expect.poll(async () => lightness(await background(panel))).toBeGreaterThan(0.9);
    await expect.poll(async () => lightness(await text())).toBeLessThan(0.3);
  }
  // the chart's axis labels: light on the dark page, dark on the light one
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto(`${WEB()}/`);
  const tick = page.locator('.recharts-cartesian-axis-tick-value').first();
  await expect(tick).toBeVisible();
  const fill = () => tick.evaluate((e) => getComputedStyle(e).fill);
  expect(lightness(await fill())).toBeGreaterThan(0.55);
  await page.emulateMedia({ colorScheme: 'light' });
  expect(lightness(await fill())).toBeLessThan(0.55);
});

test('a filter that matches nothing says so and offers to clear the filters', async ({ page }) => {
  await login(page);
  await page.goto(`${WEB()}/transactions?gid=pl-${run}-nothing-like-this`);
  await expect(page.getByText('No transactions match.')).toBeVisible();
  await expect(page.getByTestId('first-transaction')).toHaveCount(0);
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await expect(page).not.toHaveURL(/gid=/);
  await expect(page.getByText('No transactions match.')).toHaveCount(0);
});

test('a new installation shows the command creating a first transaction, with the coordinator URL, and it works', async ({ page }) => {
  const web = process.env.DTX_E2E_EMPTY!;
  const coordinator = process.env.DTX_E2E_EMPTY_DTM!;
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: web });
  await login(page, 'admin', EMPTY_ADMIN_PASSWORD, web);
  // the Overview
  await expect(page.getByTestId('first-transaction')).toContainText(`${coordinator}/api/dtmsvr`);
  await page.goto(`${web}/transactions`);
  const hint = page.getByTestId('first-transaction');
  await expect(hint).toContainText(`${coordinator}/api/dtmsvr`);
  const command = await hint.locator('pre').innerText();
  expect(command).toContain(`curl -X POST ${coordinator}/api/dtmsvr/submit`);
  await page.getByRole('button', { name: 'Copy command' }).click();
  await expect(page.getByRole('button', { name: 'Copy command' })).toHaveText('copied');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(command);
  // what the user runs: the command as shown, in a shell
  const out = await promisify(execFile)('sh', ['-c', command]);
  expect(JSON.parse(out.stdout)).toEqual({ dtm_result: 'SUCCESS' });
  await expect(page.getByTestId('first-transaction')).toHaveCount(0);
  await expect(page.getByText('first-saga', { exact: true }).first()).toBeVisible();
  const empty = new DtmHttp(coordinator);
  await eventually(async () => (await empty.status('first-saga')) === 'succeed');
});
