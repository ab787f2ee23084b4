// The dashboard as an operator uses it, in a real browser, against the real coordinator with real
// branch services: finding transactions, seeing why one is stuck, retrying and aborting it,
// roles, and the audit trail. Screenshots of the main pages go to test-results/screenshots/, or to
// docs/screenshots/ (the README's) with DTX_UPDATE_SCREENSHOTS=1.
import { expect, test } from '@playwright/test';
import { join } from 'node:path';
import { eventually } from '../../../tests/support/branches.ts';
import { nth } from '../../../tests/support/checked.ts';
import { json, type DtmKvPage } from '../../../tests/support/replies.ts';
import { ROOT } from '../../../tests/support/processes.ts';
import { branchServices, coordinator, expectReplayRefused, login, run, WEB } from './support.ts';

const SHOTS = process.env.DTX_UPDATE_SCREENSHOTS ? join(ROOT, 'docs', 'screenshots') : join(ROOT, 'test-results', 'screenshots');

// One worker runs the tests in file order; the audit test looks for the actions of the earlier ones.
const svc = branchServices();
const dtm = coordinator();

const saga = (gid: string, prefix: string, steps: number, extra: Record<string, unknown> = {}) => ({
  gid,
  trans_type: 'saga',
  steps: Array.from({ length: steps }, (_, i) => ({ action: svc.url(`/${prefix}/A${i + 1}`), compensate: svc.url(`/${prefix}/C${i + 1}`) })),
  payloads: Array.from({ length: steps }, (_, i) => JSON.stringify({ order: `o-${gid}`, step: i + 1, amount: 30 })),
  ...extra,
});

/** A saga whose step `downStep` answers 503 until `up()` is called; its retry is 10 minutes away. */
async function stuckSaga(label: string, downStep = 2) {
  const gid = `e2e-${run}-${label}`;
  let up = false;
  svc.on(`/${label}/A${downStep}`, () => (up ? {} : { status: 503, body: 'payment provider unavailable' }));
  expect((await dtm.post('submit', saga(gid, label, 3, { retry_interval: 600 }))).status).toBe(200);
  await eventually(() => svc.callsTo(`/${label}/A${downStep}`, gid).length === 1);
  return { gid, up: () => (up = true) };
}

/** A topic's subscribers as the coordinator's own API (queryKV) reports them. */
async function topicSubscribers(topic: string): Promise<unknown> {
  const res = await dtm.get(`queryKV?cat=topics&key=${topic}`);
  return JSON.parse(nth(json<DtmKvPage>(res).kv, 0).v);
}

test('an unauthenticated visitor is sent to the login page, and a wrong password is refused', async ({ page }) => {
  await page.goto(`${WEB()}/transactions`);
  await expect(page).toHaveURL(/\/login\?next=%2Ftransactions/);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByText('wrong username or password')).toBeVisible();
});

test('after login, a next= pointing off the dashboard is ignored', async ({ page }) => {
  await page.goto(`${WEB()}/login?next=${encodeURIComponent('/\\example.org/x')}`);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(process.env.DTX_E2E_PASSWORD!);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Overview' })).toBeVisible();
  expect(new URL(page.url()).host).toBe(new URL(WEB()).host);
});

test('after login, next= values that browsers would read as another host are all ignored', async ({ page }) => {
  // a newline or tab is dropped by URL parsers (/\n/evil.example -> //evil.example), \ reads as /
  for (const next of ['/\n/evil.example/', '/\t/evil.example/', '//evil.example/', '/\\evil.example/', 'https://evil.example/']) {
    await page.goto(`${WEB()}/login?next=${encodeURIComponent(next)}`);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(process.env.DTX_E2E_PASSWORD!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('heading', { name: 'Overview' })).toBeVisible();
    expect(new URL(page.url()).host, JSON.stringify(next)).toBe(new URL(WEB()).host);
    await page.context().clearCookies();
  }
});

test('sign out ends the session on the server: the old cookie, replayed, is refused', async ({ page, browser }) => {
  await login(page);
  const cookies = await page.context().cookies();
  expect(cookies.find((c) => c.name === 'dtx_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
  await page.getByRole('button', { name: 'Sign out' }).click();
  // the login page; `?next=%2F` when a refresh of the page noticed the ended session first
  await expect(page).toHaveURL(/\/login(\?next=%2F)?$/);
  await expectReplayRefused(browser, cookies, WEB());
});

test("an admin sees a user's sessions on the Users page and ends one; that browser is logged out", async ({ page, browser }) => {
  const name = `sess-${run}`;
  await login(page);
  await page.goto(`${WEB()}/users`);
  // invalid input is told as a sentence, not as raw JSON
  await page.locator('input[name="new-username"]').fill(name);
  await page.locator('input[name="new-password"]').fill('short');
  await page.getByRole('button', { name: 'Add user' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'Password' })).toHaveText('Password must be at least 8 characters.');
  await page.locator('input[name="new-password"]').fill(`${name}-password`);
  await page.getByRole('button', { name: 'Add user' }).click();
  const row = page.getByTestId('users-table').locator('tr', { hasText: name });
  await expect(row).toBeVisible();

  const other = await browser.newContext();
  try {
    const theirs = await other.newPage();
    await login(theirs, name, `${name}-password`);
    await row.getByRole('button', { name: 'Sessions' }).click();
    const sessions = page.getByTestId('sessions-table');
    await expect(sessions.locator('tbody tr')).toHaveCount(1);
    await expect(sessions).toContainText('127.0.0.1');
    await sessions.getByRole('button', { name: 'End' }).click();
    await expect(page.getByText('No live sessions.')).toBeVisible();
    // their open page notices on its next refresh and goes to the login page; so does a new visit
    await expect(theirs).toHaveURL(/\/login/);
    await theirs.goto(`${WEB()}/transactions`);
    await expect(theirs).toHaveURL(/\/login\?next=%2Ftransactions/);
  } finally {
    await other.close();
  }
});

test('the Content-Security-Policy blocks nothing the pages need, and pages are not cached', async ({ page }) => {
  const violations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
  });
  // React's recoverable hydration mismatch (#418: a text node differed between the server's
  // render and the browser's; React re-renders on the client) is not a blocked script. It was
  // seen once in a full loaded run and not reproduced alone: recorded in docs/development.md.
  page.on('pageerror', (e) => {
    if (!/Minified React error #418/.test(e.message)) violations.push(e.message);
  });
  const first = await page.goto(`${WEB()}/login`);
  expect(first?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
  await login(page);
  for (const [path, heading] of [
    ['/', 'Overview'],
    ['/transactions', 'Transactions'],
    ['/audit', 'Audit log'],
    ['/nodes', 'Nodes'],
    ['/topics', 'Topics'],
    ['/users', 'Users'],
  ] as const) {
    const res = await page.goto(`${WEB()}${path}`);
    expect(res?.headers()['cache-control'], path).toBe('no-store');
    expect(res?.headers()['content-security-policy'], path).toMatch(/script-src 'self' 'nonce-/);
    await expect(page.getByRole('heading', { level: 1, name: heading, exact: true })).toBeVisible();
  }
  // client-side navigation still works (Next's scripts ran under the policy)
  await page.getByRole('link', { name: 'Transactions' }).first().click();
  await expect(page.getByRole('heading', { level: 1, name: 'Transactions', exact: true })).toBeVisible();
  expect(violations).toEqual([]);
});

test('submitted transactions appear in the list, and filters find the right ones', async ({ page }) => {
  const ok = [1, 2, 3].map((i) => `e2e-${run}-list-${i}`);
  for (const g of ok) expect((await dtm.post('submit', saga(g, 'list', 2))).status).toBe(200);
  for (const g of ok) await dtm.waitStatus(g, 'succeed');
  const tcc = `e2e-${run}-list-tcc`;
  expect((await dtm.post('prepare', { gid: tcc, trans_type: 'tcc' })).status).toBe(200);

  await login(page);
  await page.goto(`${WEB()}/transactions`);
  for (const g of [...ok, tcc]) await expect(page.locator(`tr[data-gid="${g}"]`)).toBeVisible();
  await expect(page.locator(`tr[data-gid="${ok[0]}"]`)).toContainText('succeed');

  // gid prefix + type, through the filter form: the URL carries the filter
  await page.getByRole('textbox', { name: 'GID' }).fill(`e2e-${run}-list-`);
  await page.getByLabel('GID match').selectOption('prefix');
  await page.getByRole('checkbox', { name: 'tcc', exact: true }).check();
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/gidMode=prefix.*type=tcc/);
  await expect(page.locator(`tr[data-gid="${tcc}"]`)).toBeVisible();
  await expect(page.locator('tbody tr')).toHaveCount(1);

  // status filter from a shared link
  await page.goto(`${WEB()}/transactions?gid=e2e-${run}-list-&gidMode=prefix&status=succeed`);
  await expect(page.locator('tbody tr')).toHaveCount(3);
  await expect(page.locator(`tr[data-gid="${tcc}"]`)).toHaveCount(0);

  // exact gid
  await page.goto(`${WEB()}/transactions?gid=${ok[1]}`);
  await expect(page.locator('tbody tr')).toHaveCount(1);
  await expect(page.locator(`tr[data-gid="${ok[1]}"]`)).toBeVisible();
});

test('the stuck view finds a saga stuck on a down branch, and its detail page shows why', async ({ page }) => {
  const stuck = await stuckSaga('why');
  const fine = `e2e-${run}-why-fine`;
  expect((await dtm.post('submit', saga(fine, 'fine', 1))).status).toBe(200);
  await dtm.waitStatus(fine, 'succeed');

  await login(page);
  await page.goto(`${WEB()}/transactions?gid=e2e-${run}-&gidMode=prefix`);
  await page.getByRole('checkbox', { name: 'Stuck only' }).check();
  await page.getByLabel('Failed calls in a row').fill('0');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/stuck=1.*calls=0/);
  await expect(page.locator(`tr[data-gid="${stuck.gid}"]`)).toBeVisible();
  await expect(page.locator(`tr[data-gid="${stuck.gid}"]`)).toContainText('payment provider unavailable');
  await expect(page.locator(`tr[data-gid="${fine}"]`)).toHaveCount(0);
  await page.screenshot({ path: join(SHOTS, 'stuck.png') });

  await page.getByRole('link', { name: stuck.gid }).click();
  await expect(page.getByRole('heading', { name: stuck.gid })).toBeVisible();
  const branches = page.getByTestId('branches-table');
  await expect(branches).toContainText(svc.url('/why/A1'));
  await expect(branches).toContainText(svc.url('/why/C3'));
  const failing = page.getByTestId('attempt-timeline').locator('li[data-branch="02"][data-op="action"]');
  await expect(failing.first()).toContainText('HTTP 503');
  await expect(failing.first()).toContainText('payment provider unavailable');
  await expect(page.getByTestId('attempt-timeline').locator('li[data-branch="01"]').first()).toContainText('HTTP 200');
  await expect(page.getByTestId('step-01')).toHaveAttribute('data-state', 'done');
  await expect(page.getByTestId('step-02')).toHaveAttribute('data-state', 'retrying');
  await expect(page.getByTestId('step-03')).toHaveAttribute('data-state', 'pending');
  await page.screenshot({ path: join(SHOTS, 'detail.png'), fullPage: true });
});

test('Retry now: a saga stuck on a down branch succeeds once the branch is back', async ({ page }) => {
  const stuck = await stuckSaga('retry');
  stuck.up();
  await login(page);
  await page.goto(`${WEB()}/transactions/${stuck.gid}`);
  await page.getByRole('button', { name: 'Retry now' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByTestId('action-explanation')).toContainText('due now');
  await dialog.getByLabel('Reason').fill('provider is back');
  await dialog.getByRole('button', { name: 'Confirm retry now' }).click();
  await expect(dialog.getByTestId('action-result')).toContainText('Done');
  await dialog.getByRole('button', { name: 'Close' }).click();
  // the retry interval is 10 minutes: only the operator's retry can have finished it
  await expect(page.locator('main [data-status]').first()).toHaveText('succeed');
  expect(await dtm.status(stuck.gid)).toBe('succeed');
  expect(svc.callsTo('/retry/A2', stuck.gid)).toHaveLength(2);
  expect(svc.callsTo('/retry/A3', stuck.gid)).toHaveLength(1);
});

test('Abort with rollback on a stuck saga calls the compensations in reverse order and ends failed', async ({ page }) => {
  const stuck = await stuckSaga('abort');
  await login(page);
  await page.goto(`${WEB()}/transactions/${stuck.gid}`);
  await page.getByRole('button', { name: 'Abort with rollback' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByTestId('action-explanation')).toContainText('compensated in reverse order');
  await dialog.getByLabel('Reason').fill('order cancelled by the customer');
  await dialog.getByRole('button', { name: 'Confirm abort with rollback' }).click();
  await expect(dialog.getByTestId('action-result')).toContainText('submitted → aborting');
  await dialog.getByRole('button', { name: 'Close' }).click();
  await expect(page.locator('main [data-status]').first()).toHaveText('failed');
  await expect(page.getByText('Rollback reason: aborted by admin: order cancelled by the customer')).toBeVisible();
  // step 2's call errored, so it may have run: it is compensated too; step 3 never ran
  expect(svc.trail(stuck.gid).filter((t) => t.endsWith(':compensate'))).toEqual(['/abort/C2:compensate', '/abort/C1:compensate']);
  expect(svc.callsTo('/abort/A3', stuck.gid)).toHaveLength(0);
  await expect(page.getByTestId('step-01')).toHaveAttribute('data-state', 'compensated');
});

test('Force stop needs the gid typed, and calls no branch', async ({ page }) => {
  const stuck = await stuckSaga('stop');
  await login(page);
  await page.goto(`${WEB()}/transactions/${stuck.gid}`);
  await page.getByRole('button', { name: 'Force stop' }).click();
  const dialog = page.getByRole('dialog');
  const confirm = dialog.getByRole('button', { name: 'Confirm force stop' });
  await expect(confirm).toBeDisabled();
  await dialog.getByLabel('Type the gid to confirm').fill(stuck.gid);
  await confirm.click();
  await expect(dialog.getByTestId('action-result')).toContainText('no branch was called');
  expect(await dtm.status(stuck.gid)).toBe('failed');
  expect(svc.trail(stuck.gid).filter((t) => t.endsWith(':compensate'))).toEqual([]);
});

test('bulk retry of the selected transactions shows a preview and progress, and runs them', async ({ page }) => {
  const a = await stuckSaga('bulka');
  const b = await stuckSaga('bulkb');
  a.up();
  b.up();
  await login(page);
  await page.goto(`${WEB()}/transactions?gid=e2e-${run}-bulk&gidMode=prefix`);
  await page.getByRole('checkbox', { name: `Select ${a.gid}` }).check();
  await page.getByRole('checkbox', { name: `Select ${b.gid}` }).check();
  await page.getByRole('button', { name: 'Retry selected' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByTestId('bulk-preview')).toContainText('retry 2 transaction(s)');
  await dialog.getByLabel('Reason').fill('bulk after outage');
  await dialog.getByRole('button', { name: 'Retry now 2' }).click();
  await expect(dialog.getByTestId('bulk-progress')).toContainText('2 / 2 processed — 2 done');
  await dialog.getByRole('button', { name: 'Close' }).click();
  await dtm.waitStatus(a.gid, 'succeed', 15_000);
  await dtm.waitStatus(b.gid, 'succeed', 15_000);
});

test('bulk abort of everything matching the filter: preview count, progress, compensations', async ({ page }) => {
  const a = await stuckSaga('bulkfa');
  const b = await stuckSaga('bulkfb');
  await login(page);
  await page.goto(`${WEB()}/transactions?gid=e2e-${run}-bulkf&gidMode=prefix&status=submitted`);
  await expect(page.locator('tbody tr')).toHaveCount(2);
  await page.getByRole('button', { name: 'Abort all matching…' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByTestId('bulk-preview')).toContainText('abort 2 transaction(s)');
  await dialog.getByLabel('Reason').fill('batch cancelled');
  await dialog.getByRole('button', { name: 'Abort with rollback 2' }).click();
  await expect(dialog.getByTestId('bulk-progress')).toContainText('2 / 2 processed — 2 done');
  await dialog.getByRole('button', { name: 'Close' }).click();
  for (const s of [a, b]) {
    await dtm.waitStatus(s.gid, 'failed', 15_000);
    expect(svc.trail(s.gid).filter((t) => t.endsWith(':compensate'))).toHaveLength(2);
  }
});

test('a viewer sees no action buttons, and the server refuses the action when called directly', async ({ page, browser }) => {
  const stuck = await stuckSaga('viewer');
  await login(page);
  await page.goto(`${WEB()}/users`);
  await page.locator('input[name="new-username"]').fill('vera');
  await page.locator('input[name="new-password"]').fill('vera-password-1');
  await page.locator('select[name="new-role"]').selectOption('viewer');
  await page.getByRole('button', { name: 'Add user' }).click();
  await expect(page.getByTestId('users-table')).toContainText('vera');

  const ctx = await browser.newContext();
  const viewer = await ctx.newPage();
  await login(viewer, 'vera', 'vera-password-1');
  await viewer.goto(`${WEB()}/transactions/${stuck.gid}`);
  await expect(viewer.getByRole('heading', { name: stuck.gid })).toBeVisible();
  await expect(viewer.getByTestId('attempt-timeline')).toContainText('HTTP 503');
  await expect(viewer.getByRole('button', { name: 'Retry now' })).toHaveCount(0);
  await expect(viewer.getByRole('button', { name: 'Abort with rollback' })).toHaveCount(0);
  await expect(viewer.getByRole('button', { name: 'Force stop' })).toHaveCount(0);
  await viewer.goto(`${WEB()}/transactions`);
  await expect(viewer.getByRole('button', { name: 'Abort selected' })).toHaveCount(0);

  // the same call the operator's button makes, with the viewer's session cookie
  const r = await viewer.request.post(`${WEB()}/api/trpc/actions.run`, {
    headers: { 'x-dtx-csrf': '1', 'content-type': 'application/json' },
    data: { action: 'abort', gid: stuck.gid, reason: 'viewer tries' },
  });
  expect(r.status()).toBe(403);
  expect(JSON.stringify(await r.json())).toContain('FORBIDDEN');
  // and over the HTTP API for scripts
  const rest = await viewer.request.post(`${WEB()}/api/v1/transactions/${stuck.gid}/abort`, {
    headers: { authorization: `Basic ${Buffer.from('vera:vera-password-1').toString('base64')}`, 'content-type': 'application/json' },
    data: { reason: 'viewer tries' },
  });
  expect(rest.status()).toBe(403);
  expect(await dtm.status(stuck.gid)).toBe('submitted');
  expect(svc.trail(stuck.gid).filter((t) => t.endsWith(':compensate'))).toEqual([]);
  await ctx.close();
});

test('a mutation without the CSRF header is refused even with a valid session', async ({ page }) => {
  await login(page);
  const r = await page.request.post(`${WEB()}/api/trpc/actions.run`, {
    headers: { 'content-type': 'application/json' },
    data: { action: 'retry', gid: 'whatever' },
  });
  expect(r.status()).toBe(403);
});

test('topics: an operator subscribes a URL, the coordinator sees it, and unsubscribes it again', async ({ page }) => {
  const topic = `e2e-${run}-orders`;
  await login(page);
  await page.goto(`${WEB()}/topics`);
  await page.getByLabel('Topic').fill(topic);
  await page.getByLabel('Subscriber URL').fill(svc.url('/on-order'));
  await page.getByLabel('Remark').fill('billing');
  await page.getByRole('button', { name: 'Subscribe', exact: true }).click();
  await expect(page.getByTestId(`topic-${topic}`)).toBeVisible();
  await page.getByLabel('Subscriber URL').fill(svc.url('/stock'));
  await page.getByRole('button', { name: 'Subscribe', exact: true }).click();
  await expect(page.getByText(svc.url('/stock'))).toBeVisible();
  // the coordinator's own API reads the same subscription
  expect(await topicSubscribers(topic)).toEqual([
    { url: svc.url('/on-order'), remark: 'billing' },
    { url: svc.url('/stock'), remark: '' },
  ]);
  await page.screenshot({ path: join(SHOTS, 'topics.png') });
  await page
    .getByRole('listitem')
    .filter({ hasText: svc.url('/stock') })
    .getByRole('button', { name: 'Unsubscribe' })
    .click();
  await page.getByRole('dialog').getByRole('button', { name: 'Confirm' }).click();
  await expect(page.getByText(svc.url('/stock'))).toHaveCount(0);
  expect(await topicSubscribers(topic)).toHaveLength(1);
});

test('the audit page shows the actions with who, what and why', async ({ page }) => {
  await login(page);
  await page.goto(`${WEB()}/audit`);
  const table = page.getByTestId('audit-table');
  await expect(table.locator('tr[data-action="retry"]').filter({ hasText: `e2e-${run}-retry` })).toContainText('provider is back');
  await expect(table.locator('tr[data-action="abort"]').filter({ hasText: `e2e-${run}-abort` })).toContainText('order cancelled by the customer');
  await expect(table.locator('tr[data-action="force-stop"]').filter({ hasText: `e2e-${run}-stop` })).toContainText('admin');
  await expect(table.locator('tr[data-action="bulk-retry"]').first()).toContainText('bulk after outage');
  await expect(table.locator('tr[data-action="bulk-abort"]').first()).toContainText('batch cancelled');
  await expect(table.locator('tr[data-action="user-create"]').first()).toContainText('vera');
  await expect(table.locator('tr[data-action="topic-subscribe"]').first()).toContainText(`e2e-${run}-orders`);
  await page.screenshot({ path: join(SHOTS, 'audit.png') });
});

test('behind a reverse proxy under a base path, pages, links and the API live under it', async ({ page }) => {
  const base = `${process.env.DTX_E2E_PROXIED}/dtx`;
  await page.goto(`${base}/transactions?status=succeed`);
  await expect(page).toHaveURL(/\/dtx\/login\?next=/);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(process.env.DTX_E2E_PASSWORD!);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/dtx\/transactions\?status=succeed$/);
  const first = page.locator('tbody tr').first();
  await expect(first).toContainText('succeed');
  const gid = (await first.getAttribute('data-gid'))!;
  await first.getByRole('link', { name: gid }).click();
  await expect(page).toHaveURL(`${base}/transactions/${gid}`);
  await expect(page.getByRole('heading', { name: gid })).toBeVisible();
  expect((await page.request.get(`${process.env.DTX_E2E_PROXIED}/transactions`)).status()).toBe(404);
});

test('overview and nodes pages show the live coordinator and the charts', async ({ page }) => {
  await login(page);
  await page.goto(`${WEB()}/nodes`);
  await expect(page.getByTestId('node').first()).toContainText('alive');
  await expect(page.getByTestId('node').first()).toContainText(`:${new URL(process.env.DTX_E2E_DTM!).port}`);
  await page.screenshot({ path: join(SHOTS, 'nodes.png') });
  await page.goto(`${WEB()}/`);
  await expect(page.getByTestId('chart-per-minute').locator('.recharts-area').first()).toBeVisible();
  await expect(page.getByText('Stuck now')).toBeVisible();
  await page.screenshot({ path: join(SHOTS, 'overview.png') });
  // the list after all the tests above: every status, retry counts and branch errors
  await page.goto(`${WEB()}/transactions`);
  await expect(page.locator('tbody tr [data-status="failed"]').first()).toBeVisible();
  await page.screenshot({ path: join(SHOTS, 'transactions.png') });
});
