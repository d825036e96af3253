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
  await expect(page.locator('[data-import-outcome]')).toHaveText('3 customers added, 0 updated.');

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
