import { expect, test } from '@playwright/test';
import { hydrated } from './accounts';

test('a CSV with one bad row is previewed, processed live to completed_with_errors, and its orders are found', async ({ page }) => {
  const csv = [
    'customer_email,customer_name,amount,items,order_id',
    'zoe@example.com,Zoe Quinn,42.50,2,E2E-1',
    'yan@example.com,Yan Li,10.00,1,E2E-2',
    'xia@example.com,Xia Ho,0,1,E2E-BAD',
    'zoe@example.com,Zoe Quinn,7.50,3,E2E-3',
  ].join('\n');

  await page.goto('/orders');
  await hydrated(page);
  await page.getByLabel('Order file (.csv or .json)').setInputFiles({
    name: 'orders.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from(csv),
  });
  await expect(page.locator('[data-upload-summary]')).toHaveText('orders.csv: 4 orders, 1 with problems.');
  await expect(page.getByRole('list', { name: 'Row problems' })).toHaveText('Row 3: amount: must be greater than 0');

  await page.getByRole('button', { name: 'Send orders' }).click();
  await expect(page.getByRole('status')).toHaveText('4 orders sent in 1 batch(es); their progress is below.');

  // No reload: the list polls until the batch has finished.
  const batch = page.locator('li[data-batch]').filter({ hasText: 'upload: orders.csv' }).first();
  await expect(batch.locator('[data-batch-status]')).toHaveText('completed_with_errors', { timeout: 20_000 });
  await expect(batch.locator('[data-batch-counts]')).toHaveText('3 stored · 0 duplicates · 1 rejected · 4 total');
  await batch.getByRole('button', { name: 'Show rejected rows' }).click();
  const rejected = batch.getByRole('table', { name: 'Rejected rows' });
  await expect(rejected).toContainText('E2E-BAD');
  await expect(rejected).toContainText('amount: must be greater than 0');
  const download = batch.getByRole('link', { name: 'Download rejected rows (CSV)' });
  expect(decodeURIComponent((await download.getAttribute('href')) ?? '')).toContain('2,E2E-BAD,amount: must be greater than 0');

  // The history refreshes once the batch has finished.
  const history = page.getByRole('table', { name: 'Orders' });
  await expect(history.locator('tr[data-order="E2E-1"]')).toContainText('€42.50');
  await expect(history.locator('tr[data-order="E2E-BAD"]')).toHaveCount(0);
  await expect(page.locator('[data-figure="orders-30d"]')).not.toHaveText('0');

  // The customers' totals follow once the folder has added the batch to them.
  await expect(batch.locator('[data-totals-pending]')).toHaveCount(0, { timeout: 20_000 });
  await page.goto('/customers?search=zoe%40example.com');
  await expect(page.locator('tr[data-customer="zoe@example.com"]')).toContainText('€50.00');
  await page.goBack();
  await hydrated(page);

  await page.getByLabel('Customer email starts with').fill('zoe');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page).toHaveURL(/customer=zoe/);
  await expect(page.locator('[data-order-total]')).toHaveText('2 matching orders');
  await expect(history.locator('tbody tr')).toHaveCount(2);
  await expect(history.locator('tr[data-order="E2E-2"]')).toHaveCount(0);
});

test('an upload whose part fails on the way resumes from that part, and no part is stored twice', async ({ page }) => {
  const rows = ['customer_email,amount,items'];
  for (let i = 0; i < 1200; i++) rows.push(`resume${i % 40}@example.com,${(i % 90) + 1}.25,1`);
  // The second part's request is lost on the way, once.
  let calls = 0;
  await page.route('**/api/submit_orders*', async (route) => {
    calls += 1;
    if (calls === 2) await route.abort('connectionreset');
    else await route.continue();
  });

  await page.goto('/orders');
  await hydrated(page);
  await page.getByLabel('Order file (.csv or .json)').setInputFiles({
    name: 'resume.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from(rows.join('\n')),
  });
  await expect(page.locator('[data-upload-summary]')).toHaveText('resume.csv: 1200 orders, 0 with problems.');
  await page.getByRole('button', { name: 'Send orders' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'Part 2 of 3 was not accepted' })).toBeVisible();

  await page.getByRole('button', { name: 'Resume from part 2' }).click();
  await expect(page.getByRole('status').filter({ hasText: '1200 orders sent in 3 batch(es)' })).toBeVisible();
  const batches = page.locator('li[data-batch]').filter({ hasText: 'upload: resume.csv' });
  await expect(batches).toHaveCount(3);
  for (const batch of await batches.all()) {
    await expect(batch.locator('[data-batch-status]')).toHaveText('completed', { timeout: 30_000 });
  }

  // The history pages by cursor: one customer's 30 orders fill a page of 25 and a page of 5.
  const history = page.getByRole('table', { name: 'Orders' });
  const pages = page.getByRole('navigation', { name: 'Pages' });
  await page.getByLabel('Customer email starts with').fill('resume0@');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page.locator('[data-order-total]')).toHaveText('30 matching orders');
  await expect(history.locator('tbody tr')).toHaveCount(25);
  await expect(pages.getByRole('link', { name: 'Previous' })).toHaveCount(0);
  await pages.getByRole('link', { name: 'Next' }).click();
  await expect(page).toHaveURL(/after=/);
  await expect(history.locator('tbody tr')).toHaveCount(5);
  await expect(pages.getByRole('link', { name: 'Next' })).toHaveCount(0);
  await pages.getByRole('link', { name: 'Previous' }).click();
  await expect(page).toHaveURL(/before=/);
  await expect(history.locator('tbody tr')).toHaveCount(25);
});
