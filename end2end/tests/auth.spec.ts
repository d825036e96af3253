import { expect, test } from '@playwright/test';
import { OWNER_STATE } from '../playwright.config';
import { hydrated, owner, signIn } from './accounts';

test.describe('signed out', () => {
  test.use({ storageState: { cookies: [], origins: [] } });

  test('the sign-in page loads no WebAssembly, and its plain form refuses a wrong password without saying which part was wrong', async ({ page }) => {
    const code: string[] = [];
    page.on('request', (request) => {
      if (/\.(wasm|js)$/.test(new URL(request.url()).pathname)) code.push(request.url());
    });
    await page.goto('/sign-in?next=%2Fcustomers');
    await signIn(page, owner.email, 'not the password');
    await expect(page.getByRole('alert')).toHaveText('Wrong email or password.');
    await expect(page).toHaveURL(/\/sign-in\?next=%2Fcustomers&/);
    expect(code, 'files of code fetched by the sign-in page').toEqual([]);

    // The page it was asked for is kept through the failure, and it is that page that loads the app.
    await signIn(page, owner.email, owner.password);
    await expect(page).toHaveURL(/\/customers$/);
    await hydrated(page);
    expect(code.length).toBeGreaterThan(0);
  });

  test('signing in leads back to the page asked for, and signing out ends the session', async ({ page }) => {
    await page.goto('/orders');
    await expect(page).toHaveURL(/\/sign-in\?next=%2Forders$/);
    await signIn(page, owner.email, owner.password);
    await expect(page).toHaveURL(/\/orders$/);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Orders');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page).toHaveURL(/\/sign-in$/);
    await page.goto('/orders');
    await expect(page).toHaveURL(/\/sign-in\?next=%2Forders$/);
  });
});

test('an admin adds a marketer, who can sign in but cannot open the admin pages', async ({ page, browser }) => {
  const marketer = { name: 'Mark Eter', email: 'mark@example.com', password: 'marketing password' };
  await page.goto('/admin/users');
  await hydrated(page);
  const addUser = page.getByRole('region', { name: 'Add a user' });
  await addUser.getByLabel('Name').fill(marketer.name);
  await addUser.getByLabel('Email').fill(marketer.email);
  await addUser.getByLabel('Role').selectOption('marketer');
  await addUser.getByLabel('Initial password (at least 12 characters)').fill(marketer.password);
  await addUser.getByRole('button', { name: 'Add user' }).click();
  await expect(page.getByRole('status')).toHaveText(`Added ${marketer.email}.`);
  const row = page.locator(`tr[data-user="${marketer.email}"]`);
  await expect(row).toContainText(marketer.name);
  await expect(row.getByLabel('Role')).toHaveValue('marketer');

  // The same email cannot be used twice; the message sits beside the field.
  await addUser.getByLabel('Name').fill('Someone Else');
  await addUser.getByLabel('Email').fill(marketer.email);
  await addUser.getByLabel('Initial password (at least 12 characters)').fill('another long password');
  await addUser.getByRole('button', { name: 'Add user' }).click();
  await expect(addUser.locator('#email-error')).toHaveText('A user with this email already exists.');

  const context = await browser.newContext({ storageState: { cookies: [], origins: [] } });
  const marketerPage = await context.newPage();
  await marketerPage.goto('/');
  await signIn(marketerPage, marketer.email, marketer.password);
  await expect(marketerPage.getByRole('heading', { level: 1 })).toHaveText('Dashboard');
  await expect(marketerPage.locator(`[data-signed-in-as="${marketer.email}"]`)).toHaveText(marketer.name);
  await expect(marketerPage.getByRole('link', { name: 'Users' })).toHaveCount(0);

  await marketerPage.goto('/admin/users');
  await expect(marketerPage.getByRole('alert')).toHaveText('Only admins can manage users and API keys.');
  await expect(marketerPage.locator(`tr[data-user="${owner.email}"]`)).toHaveCount(0);
  await context.close();
});

test('an API key created on the settings page works for the REST API until it is revoked', async ({ page, playwright }) => {
  await page.goto('/admin/api-keys');
  await hydrated(page);
  await page.getByLabel('Name').fill('warehouse sync');
  await page.getByRole('button', { name: 'Create key' }).click();
  const secret = (await page.locator('[data-new-api-key]').textContent())?.trim() ?? '';
  expect(secret).toMatch(/^realm_[0-9a-f]{64}$/);

  // No cookies: the key alone must be enough.
  const api = await playwright.request.newContext({
    baseURL: test.info().project.use.baseURL,
    storageState: { cookies: [], origins: [] },
  });
  const me = await api.get('/api/me', { headers: { Authorization: `Bearer ${secret}` } });
  expect(me.status()).toBe(200);
  expect(await me.json()).toMatchObject({ kind: 'api_key', name: 'warehouse sync' });
  const anonymous = await api.get('/api/me');
  expect(anonymous.status()).toBe(401);

  await page.reload();
  const row = page.locator('tr[data-api-key="warehouse sync"]');
  await expect(row).not.toContainText('never');
  await hydrated(page);
  await row.getByRole('button', { name: 'Revoke' }).click();
  await expect(row).toContainText('Revoked');
  const revoked = await api.get('/api/me', { headers: { Authorization: `Bearer ${secret}` } });
  expect(revoked.status()).toBe(401);
  await api.dispose();
});

test('an admin resets a password, and its user must choose a new one before going on', async ({ page, browser }) => {
  const user = { name: 'Rita Reset', email: 'rita@example.com', password: 'rita first password' };
  await page.goto('/admin/users');
  await hydrated(page);
  const addUser = page.getByRole('region', { name: 'Add a user' });
  await addUser.getByLabel('Name').fill(user.name);
  await addUser.getByLabel('Email').fill(user.email);
  await addUser.getByLabel('Initial password (at least 12 characters)').fill(user.password);
  await addUser.getByRole('button', { name: 'Add user' }).click();
  const row = page.locator(`tr[data-user="${user.email}"]`);
  await expect(row).toContainText(user.name);

  await row.getByLabel('Temporary password').fill('temporary password 9');
  await row.getByRole('button', { name: 'Reset password' }).click();
  await expect(page.getByText(`The password of ${user.email} is reset`)).toBeVisible();

  const context = await browser.newContext({ storageState: { cookies: [], origins: [] } });
  const userPage = await context.newPage();
  await userPage.goto('/customers');
  await signIn(userPage, user.email, 'temporary password 9');
  await expect(userPage).toHaveURL(/\/account\/password$/);
  await expect(userPage.getByText('An admin reset your password.')).toBeVisible();
  // Any other page leads back here until a new password is chosen.
  await userPage.goto('/orders');
  await expect(userPage).toHaveURL(/\/account\/password$/);
  await hydrated(userPage);
  await userPage.getByLabel('Current password').fill('temporary password 9');
  await userPage.getByLabel('New password (at least 12 characters)').fill('rita chose this one');
  await userPage.getByLabel('New password again').fill('rita chose this one');
  await userPage.getByRole('button', { name: 'Change password' }).click();
  await expect(userPage.getByText('Your password is changed.')).toBeVisible();
  await userPage.goto('/orders');
  await expect(userPage.getByRole('heading', { level: 1 })).toHaveText('Orders');

  // Later, from the link under their name: a wrong current password is refused beside its field.
  await userPage.getByRole('link', { name: 'Change password' }).click();
  await expect(userPage).toHaveURL(/\/account\/password$/);
  await hydrated(userPage);
  await userPage.getByLabel('Current password').fill('not my password at all');
  await userPage.getByLabel('New password (at least 12 characters)').fill('another new password');
  await userPage.getByLabel('New password again').fill('another new password');
  await userPage.getByRole('button', { name: 'Change password' }).click();
  await expect(userPage.locator('#current_password-error')).toHaveText('This is not your current password.');
  await context.close();
});
