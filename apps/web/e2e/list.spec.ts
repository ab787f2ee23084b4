// The transactions list's sort orders, branch URL prefix filter and saved views, in a real
// browser against the real coordinator: transactions whose branch failed a known number of times
// (retry_count), sorted by clicking the Retries header, narrowed to the branches under a URL
// prefix with a LIKE wildcard in it, saved as a named view, and that view applied after a reload.
import { expect, test, type Page } from '@playwright/test';
import { BranchServer } from '../../../tests/support/branches.ts';
import { DtmHttp } from '../../../tests/support/coordinator.ts';
import { login } from './support.ts';

const WEB = () => process.env.DTX_E2E_WEB!;
const run = process.env.DTX_E2E_RUN!;

const svc = new BranchServer();
let dtm: DtmHttp;

// gid -> branch path and how many calls fail before one succeeds (its final retry count)
// not e2e-RUN-list-: dashboard.spec.ts names its transactions so
const prefix = `e2e-${run}-sorted-`;
const TRANS: [string, string, number][] = [
  [`${prefix}a`, '/list_pay/TransIn', 2],
  [`${prefix}b`, '/list_pay/TransIn', 1],
  [`${prefix}c`, '/list_pay/TransIn', 0],
  // "_" is a LIKE wildcard: a prefix ending in list_pay must not match listXpay
  [`${prefix}d`, '/listXpay/TransIn', 0],
];

test.beforeAll(async () => {
  await svc.start();
  dtm = new DtmHttp(`${process.env.DTX_E2E_DTM}`);
  const failuresLeft = new Map(TRANS.map(([gid, , n]) => [gid, n]));
  for (const path of ['/list_pay/TransIn', '/listXpay/TransIn']) {
    svc.on(path, (req) => {
      const left = failuresLeft.get(req.gid) ?? 0;
      if (left === 0) return {};
      failuresLeft.set(req.gid, left - 1);
      return { status: 500, body: 'payment service busy' };
    });
  }
  for (const [gid, path] of TRANS) {
    const body = {
      gid,
      trans_type: 'saga',
      retry_interval: 1,
      steps: [{ action: svc.url(path), compensate: svc.url('/list/Revert') }],
      payloads: ['{}'],
    };
    expect((await dtm.post('submit', body)).status).toBe(200);
  }
  for (const [gid] of TRANS) await dtm.waitStatus(gid, 'succeed', 60_000);
});
test.afterAll(async () => {
  await svc.stop();
});

const viewsMenu = (page: Page) => page.getByRole('combobox', { name: 'Views', exact: true });
const table = (page: Page) => page.getByTestId('transactions-table');
const retriesHeader = (page: Page) => table(page).getByRole('columnheader', { name: /Retries/ });
/** The gids of the rows shown, top to bottom. */
const shownGids = (page: Page) =>
  table(page)
    .locator('tbody tr[data-gid]')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-gid')));

test('sorts by retry count from the header, filters by branch URL prefix, and saves the view to apply it later', async ({ page }) => {
  const gid = (s: string) => `${prefix}${s}`;
  await login(page);
  await page.goto(`${WEB()}/transactions?gid=${encodeURIComponent(prefix)}&gidMode=prefix`);
  await expect(table(page).locator('tbody tr[data-gid]')).toHaveCount(4);
  await expect(retriesHeader(page)).toHaveAttribute('aria-sort', 'none');

  // most retried first, then (ties) newest first
  await retriesHeader(page).getByRole('button').click();
  await expect(page).toHaveURL(/sort=retries/);
  await expect(retriesHeader(page)).toHaveAttribute('aria-sort', 'descending');
  await expect.poll(() => shownGids(page)).toEqual([gid('a'), gid('b'), gid('d'), gid('c')]);
  await expect(page.locator(`tr[data-gid="${gid('a')}"] td`).filter({ hasText: /^2$/ })).toHaveCount(1);
  // a second click: fewest first
  await retriesHeader(page).getByRole('button').click();
  await expect(page).toHaveURL(/sort=retries&dir=asc/);
  await expect(retriesHeader(page)).toHaveAttribute('aria-sort', 'ascending');
  await expect.poll(() => shownGids(page)).toEqual([gid('c'), gid('d'), gid('b'), gid('a')]);

  // the branch URL prefix, "_" taken literally; the sort order stays
  const urlPrefix = svc.url('/list_pay/');
  await page.getByLabel('Branch URL starts with').fill(urlPrefix);
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/branchUrl=/);
  await expect.poll(() => shownGids(page)).toEqual([gid('c'), gid('b'), gid('a')]);
  await expect(retriesHeader(page)).toHaveAttribute('aria-sort', 'ascending');

  // saved under a name; a name too long is refused in words
  const name = `Pay retries ${run}`;
  await page.getByRole('button', { name: 'Save view…' }).click();
  await page.getByLabel('View name').fill('x'.repeat(81));
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByLabel('Saved views').getByRole('alert')).toHaveText('Name must be at most 80 characters.');
  await page.getByLabel('View name').fill(name);
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(viewsMenu(page)).toHaveValue(/^\d+$/);
  await expect(viewsMenu(page).locator('option:checked')).toHaveText(name);

  // a fresh list after a reload: the default order; the saved view brings everything back
  await page.goto(`${WEB()}/transactions`);
  await page.reload();
  await expect(retriesHeader(page)).toHaveAttribute('aria-sort', 'none');
  await viewsMenu(page).selectOption({ label: name });
  await expect(page).toHaveURL(/branchUrl=.*sort=retries&dir=asc/);
  await expect(page.getByLabel('Branch URL starts with')).toHaveValue(urlPrefix);
  await expect(retriesHeader(page)).toHaveAttribute('aria-sort', 'ascending');
  await expect.poll(() => shownGids(page)).toEqual([gid('c'), gid('b'), gid('a')]);
});
