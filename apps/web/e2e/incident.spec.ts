// The dashboard during an incident, in a real browser against the real coordinator with real
// branch services: a downstream answering 500 to every call makes its transactions stuck within
// seconds of the (view's) threshold, with the reason in words; the Overview names the failing
// endpoint; the list reads at 1366 x 768; new transactions do not move the rows being read.
import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { eventually } from '../../../tests/support/branches.ts';
import { branchServices, coordinator, login, run, WEB } from './support.ts';

const svc = branchServices();
const dtm = coordinator();
// the stock service is down: every call to it answers 500, forever
svc.on('/inc/stock/TransIn', { status: 500, body: 'stock database unavailable: connection pool exhausted after 30000 ms' });

const saga = (gid: string, stockDown: boolean) => ({
  gid,
  trans_type: 'saga',
  steps: [
    { action: svc.url('/inc/order/TransOut'), compensate: svc.url('/inc/order/TransOutRevert') },
    { action: svc.url(stockDown ? '/inc/stock/TransIn' : '/inc/stock-ok/TransIn'), compensate: svc.url('/inc/stock/TransInRevert') },
  ],
  payloads: ['{"amount":30}', '{"amount":30}'],
});

// a long gid, so that truncation is what keeps the columns in place
const prefix = `e2e-${run}-incident-order-2026-01-15-warehouse-eu-central-`;
const failing = [1, 2].map((i) => `${prefix}${i}`);
const endpoint = () => `127.0.0.1:${svc.port}/inc/stock/TransIn`;

test('a branch answering 500 forever puts its transactions in the Stuck view, with the reason', async ({ page }) => {
  for (const g of failing) expect((await dtm.post('submit', saga(g, true))).status).toBe(200);
  await eventually(() => failing.every((g) => svc.callsTo('/inc/stock/TransIn', g).length >= 1));
  const healthy = `${prefix}ok`;
  expect((await dtm.post('submit', saga(healthy, false))).status).toBe(200);
  await dtm.waitStatus(healthy, 'succeed');

  await login(page);
  // the view's thresholds: failing for more than 5 s (the configured default is 60 s)
  await page.goto(`${WEB()}/transactions?gid=${encodeURIComponent(prefix)}&gidMode=prefix`);
  await page.getByRole('checkbox', { name: 'Stuck only' }).check();
  await page.getByLabel('Failing seconds').fill('5');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/stuck=1.*failing=5/);
  for (const g of failing) {
    const row = page.locator(`tr[data-gid="${g}"]`);
    await expect(row).toBeVisible({ timeout: 60_000 });
    await expect(row.getByTestId('stuck-reason')).toHaveText(new RegExp(`^failing for \\d+ s: 500 from ${endpoint().replace(/\./g, '\\.')}$`));
  }
  await expect(page.locator(`tr[data-gid="${healthy}"]`)).toHaveCount(0);
});

test('the Overview names the failing endpoint and links to the transactions failing there', async ({ page }) => {
  await login(page);
  await page.goto(`${WEB()}/?window=15m`);
  await expect(page.getByRole('button', { name: '15 min' })).toHaveAttribute('aria-pressed', 'true');
  const row = page.locator(`tr[data-endpoint="${endpoint()}"]`);
  await expect(row).toBeVisible();
  await expect(row).toContainText('500');
  await expect(row).toContainText('stock database unavailable');
  // the first row: most failed calls of the window
  await expect(page.getByTestId('endpoints-table').locator('tbody tr').first()).toHaveAttribute('data-endpoint', endpoint());
  await page.getByRole('button', { name: '7 d' }).click();
  await expect(page).toHaveURL(/window=7d/);
  await expect(row).toBeVisible();
  await row.getByRole('link').click();
  await expect(page).toHaveURL(/failingAt=/);
  for (const g of failing) await expect(page.locator(`tr[data-gid="${g}"]`)).toBeVisible();
  await expect(page.locator('tbody tr[data-gid]')).toHaveCount(failing.length);
});

test('at 1366 x 768 the gid and the last error are visible without scrolling, the rest behind expand', async ({ page }) => {
  await page.setViewportSize({ width: 1366, height: 768 });
  await login(page);
  await page.goto(`${WEB()}/transactions?gid=${encodeURIComponent(prefix)}&gidMode=prefix`);
  const row = page.locator(`tr[data-gid="${failing[0]}"]`);
  await expect(row.getByTestId('error-cell')).toContainText('stock database unavailable');
  const table = page.getByTestId('transactions-table');
  // nothing to scroll sideways
  const overflow = await table.evaluate((t) => t.parentElement!.scrollWidth - t.parentElement!.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  for (const cell of [row.getByTestId('gid-cell'), row.getByTestId('error-cell')]) {
    const box = (await cell.boundingBox())!;
    expect(box.width).toBeGreaterThan(40);
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(1366);
    expect(box.y + box.height).toBeLessThanOrEqual(768);
  }
  // truncated, with the whole text as tooltip
  await expect(row.locator('td').filter({ has: page.getByTestId('error-cell') })).toHaveAttribute(
    'title',
    /connection pool exhausted after 30000 ms/,
  );
  await expect(row.locator('td').filter({ has: page.getByTestId('gid-cell') })).toHaveAttribute('title', failing[0]!);
  // the rest behind the row's expand button
  await row.getByRole('button', { name: `Expand ${failing[0]}` }).click();
  const details = page.getByTestId('row-details');
  await expect(details).toContainText('saga / http');
  await expect(details).toContainText(endpoint());
  // times: UTC, local or relative, remembered
  await page.getByLabel('Time display').selectOption('utc');
  await page.reload();
  await expect(page.getByLabel('Time display')).toHaveValue('utc');
  await page.getByLabel('Time display').selectOption('local');
});

test('new transactions do not move the rows being read: a banner counts them until shown', async ({ page }) => {
  await login(page);
  await page.goto(`${WEB()}/transactions?gid=${encodeURIComponent(prefix)}&gidMode=prefix`);
  const watched = page.locator(`tr[data-gid="${failing[0]}"]`);
  await expect(watched).toBeVisible();
  const rows = await page.locator('tbody tr[data-gid]').count();
  const before = (await watched.boundingBox())!.y;

  const added = [1, 2, 3].map((i) => `${prefix}new-${i}`);
  for (const g of added) expect((await dtm.post('submit', saga(g, false))).status).toBe(200);
  await expect(page.getByTestId('new-rows-banner')).toHaveText('3 new transactions: show', { timeout: 15_000 });
  expect((await watched.boundingBox())!.y).toBe(before);
  await expect(page.locator('tbody tr[data-gid]')).toHaveCount(rows);
  for (const g of added) await expect(page.locator(`tr[data-gid="${g}"]`)).toHaveCount(0);

  await page.getByTestId('new-rows-banner').click();
  for (const g of added) await expect(page.locator(`tr[data-gid="${g}"]`)).toBeVisible();
  await expect(page.getByTestId('new-rows-banner')).toHaveCount(0);
  await expect(page.locator('tbody tr[data-gid]').first()).toHaveAttribute('data-gid', added[2]!);

  // live mode: new rows show at once
  await page.getByRole('checkbox', { name: 'Live' }).check();
  const live = `${prefix}new-live`;
  expect((await dtm.post('submit', saga(live, false))).status).toBe(200);
  await expect(page.locator(`tr[data-gid="${live}"]`)).toBeVisible();
  await expect(page.getByTestId('new-rows-banner')).toHaveCount(0);
});

test('what operators did: audit filters, the entries on the detail timeline, and the JSON download', async ({ page }) => {
  const gid = `${prefix}audit`;
  expect((await dtm.post('submit', saga(gid, true))).status).toBe(200);
  await eventually(() => svc.callsTo('/inc/stock/TransIn', gid).length >= 1);
  const auth = { authorization: `Basic ${Buffer.from(`admin:${process.env.DTX_E2E_PASSWORD!}`).toString('base64')}` };
  // refused (409) while a pass holds the transaction: asked again until it is done
  await eventually(async () => {
    const r = await page.request.post(`${WEB()}/api/v1/transactions/${encodeURIComponent(gid)}/retry`, {
      headers: { ...auth, 'content-type': 'application/json' },
      data: { reason: 'stock team says it is back' },
    });
    return r.status() === 200;
  });

  await login(page);
  await page.goto(`${WEB()}/audit`);
  const form = page.getByRole('form', { name: 'Audit filters' });
  await form.getByLabel('Transaction gid').fill(gid);
  await form.getByRole('button', { name: 'Apply' }).click();
  const rows = page.getByTestId('audit-table').locator('tbody tr');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('stock team says it is back');
  await expect(rows.first()).toHaveAttribute('data-action', 'retry');
  await form.getByLabel('Action', { exact: true }).fill('abort');
  await form.getByRole('button', { name: 'Apply' }).click();
  await expect(rows).toHaveCount(0);
  await form.getByLabel('Action', { exact: true }).fill('retry');
  await form.getByLabel('User', { exact: true }).fill('someone-else');
  await form.getByRole('button', { name: 'Apply' }).click();
  await expect(rows).toHaveCount(0);
  await form.getByLabel('User', { exact: true }).fill('admin');
  await form.getByRole('button', { name: 'Apply' }).click();
  await expect(rows).toHaveCount(1);

  await page.goto(`${WEB()}/transactions/${encodeURIComponent(gid)}`);
  const entry = page.getByTestId('attempt-timeline').locator('li[data-audit="retry"]');
  await expect(entry).toContainText('admin: retry');
  await expect(entry).toContainText('stock team says it is back');

  const [file] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download JSON' }).click()]);
  expect(file.suggestedFilename()).toBe(`${gid}.json`);
  const body = JSON.parse(await readFile(await file.path(), 'utf8')) as {
    transaction: { gid: string; status: string; failEndpoint: string };
    branches: { branchId: string; op: string }[];
    attempts: { url: string; httpStatus: number | null }[];
    audit: { action: string; reason: string }[];
  };
  expect(body.transaction).toMatchObject({ gid, status: 'submitted', failEndpoint: endpoint() });
  expect(body.branches.map((b) => `${b.branchId}/${b.op}`).sort()).toEqual(['01/action', '01/compensate', '02/action', '02/compensate']);
  expect(body.attempts.some((a) => a.url.endsWith('/inc/stock/TransIn') && a.httpStatus === 500)).toBe(true);
  expect(body.audit).toEqual([expect.objectContaining({ action: 'retry', reason: 'stock team says it is back' })]);
});

test('the detail page of a TCC says its Try calls are the client’s', async ({ page }) => {
  const gid = `e2e-${run}-incident-tcc`;
  expect((await dtm.post('prepare', { gid, trans_type: 'tcc' })).status).toBe(200);
  await login(page);
  await page.goto(`${WEB()}/transactions/${gid}`);
  await expect(page.getByTestId('client-calls-note')).toContainText('Try calls of a TCC are made by the client');
});
