import { expect, test as setup } from '@playwright/test';
import { OWNER_STATE } from '../playwright.config';
import { owner } from './accounts';

setup('on first run, the owner account is created from the setup page', async ({ page }) => {
  await page.goto('/customers');
  await expect(page).toHaveURL(/\/setup$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Create the owner account');

  // A plain page: no WASM, and a form the server answers, with its errors beside the fields.
  const fillIn = async (confirmation: string) => {
    await page.getByLabel('Your name').fill(owner.name);
    await page.getByLabel('Email').fill(owner.email);
    await page.getByLabel('Password (at least 12 characters)').fill(owner.password);
    await page.getByLabel('Password again').fill(confirmation);
    await page.getByRole('button', { name: 'Create account' }).click();
  };
  await fillIn('a different password');
  await expect(page.locator('#password_confirmation-error')).toHaveText('The two passwords differ.');
  await expect(page.locator('body')).not.toHaveAttribute('data-hydrated', 'true');

  await fillIn(owner.password);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Dashboard');
  await expect(page.locator(`[data-signed-in-as="${owner.email}"]`)).toHaveText(owner.name);

  // The first-run page is gone once the owner exists.
  await page.goto('/setup');
  await expect(page).toHaveURL(/\/sign-in$/);
  await page.goto('/');
  await page.context().storageState({ path: OWNER_STATE });
});
