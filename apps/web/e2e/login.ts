// Signing in to the dashboard started by global-setup.ts (as its first-start admin by default).
import { expect, type Page } from '@playwright/test';

export async function login(page: Page, username = 'admin', password = process.env.DTX_E2E_PASSWORD!) {
  await page.goto(`${process.env.DTX_E2E_WEB!}/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('whoami')).toContainText(username);
}
