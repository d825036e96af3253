import { expect, test } from '@playwright/test';
import { hydrated } from './accounts';

test('a customer CSV is previewed with its bad row, imported, found by search, and tagged on its page', async ({ page }) => {
  const run = Date.now();
  const csv = [
    'name,email,phone,city,tags,totalSpending,visits,lastVisited',
    `Iris Import,iris-${run}@example.com,+49 30 1234567,Berlin,vip,1250.50,3,2026-10-01`,
    `No Mail,not-an-email,,,,,,`,
    `Ivan Import,ivan-${run}@example.com,,Paris,,,,`,
    `Ines Import,ines-${run}@example.com,,Rome,"new, vip",10,1,2026-09-01`,
  ].join('\n');

  await page.goto('/customers');
  await hydrated(page);
  await page.getByText('Import customers').click();
  await page.getByLabel('Customer file (.csv or .json)').setInputFiles({
    name: 'customers.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from(csv),
  });
  await expect(page.locator('[data-import-summary]')).toHaveText('customers.csv: 3 customers ready, 1 with problems.');
  await expect(page.getByRole('list', { name: 'Row problems' })).toHaveText(
    'Row 2: email: Enter an email address such as name@example.com.',
  );
  await page.getByRole('button', { name: 'Import 3 customers' }).click();
  await expect(page.locator('[data-upload-outcome]')).toHaveText('3 customers added, 0 updated.');

  await page.getByLabel('Search name, email or phone').fill(`iris-${run}`);
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page.locator('[data-customer-total]')).toHaveText('1 customers');
  const row = page.locator(`tr[data-customer="iris-${run}@example.com"]`);
  await expect(row).toContainText('€1,250.50');
  await expect(row).toContainText('Berlin');

  await row.getByRole('link', { name: 'Iris Import' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Iris Import');
  await hydrated(page);
  await expect(page.locator('[data-figure="Total spend"]')).toHaveText('€1,250.50');
  await expect(page.locator('[data-figure="Orders"]')).toHaveText('3');
  await expect(page.locator('[data-customer-tags]')).toHaveText('vip');
  await page.getByLabel('Tags, separated by commas').fill('vip, Loyal ,loyal');
  await page.getByRole('button', { name: 'Save tags' }).click();
  await expect(page.locator('[data-customer-tags]')).toHaveText('viployal');

  await page.reload();
  await expect(page.locator('[data-customer-tags]')).toHaveText('viployal');
});

test('tags are saved before the page hydrates: the form works while the app code has not arrived', async ({ browser, page }) => {
  const run = Date.now();
  await page.goto('/customers');
  const origin = new URL(page.url()).origin;
  const created = await page.request.post('/api/customers', {
    headers: { Origin: origin },
    data: { name: 'Noah Script', email: `noah-${run}@example.com`, tags: ['first'] },
  });
  expect(created.status(), await created.text()).toBe(201);
  const id = (await created.json()).id;

  const state = await page.context().storageState();
  const noScript = await browser.newContext({ baseURL: origin, storageState: state });
  const plain = await noScript.newPage();
  // The app's WebAssembly never arrives, so the page stays as the server rendered it, as on a slow line.
  await plain.route('**/*.wasm', (route) => route.abort());
  await plain.goto(`/customers/${id}`);
  await expect(plain.locator('[data-customer-tags]')).toHaveText('first');
  await expect(plain.locator('body')).not.toHaveAttribute('data-hydrated', 'true');
  await plain.getByLabel('Tags, separated by commas').fill('Plain, HTML');
  await plain.getByRole('button', { name: 'Save tags' }).click();
  // The server function answers the plain form post by sending the browser back to the page, now with the tags.
  await expect(plain).toHaveURL(new RegExp(`/customers/${id}\\??$`));
  await expect(plain.locator('[data-customer-tags]')).toHaveText('plainhtml');
  await expect(plain.locator('body')).not.toHaveAttribute('data-hydrated', 'true');
  await noScript.close();
});
