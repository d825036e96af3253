import { expect, test } from '@playwright/test';
import { hydrated } from './accounts';

const figure = (page: import('@playwright/test').Page, label: string) => page.locator(`[data-stat="${label}"]`);
// Counts read `100,588`.
const whole = (text: string | null) => Number((text ?? '').replace(/,/g, ''));
// Amounts read `€1,777.45` (the tests run with REALM_CURRENCY=EUR).
const cents = (text: string | null) => {
  const amount = (text ?? '').trim();
  expect(amount).toMatch(/^€\d{1,3}(,\d{3})*\.\d{2}$/);
  return Math.round(Number(amount.replace(/[€,]/g, '')) * 100);
};

test('the dashboard shows the stored figures and follows a new order batch without a reload', async ({ page, baseURL }) => {
  await page.goto('/');
  await hydrated(page);
  const ordersToday = whole(await figure(page, 'Orders today').textContent());
  const revenueToday = cents(await figure(page, 'Revenue today').textContent());
  const customers = whole(await figure(page, 'Customers').textContent());
  await expect(page.getByRole('img', { name: 'Orders per day, last 30 days' })).toBeVisible();
  // Today's bar in the chart holds today's figure.
  const todayBar = page.getByRole('img', { name: 'Orders per day, last 30 days' }).locator('rect').last();
  await expect(todayBar).toHaveAttribute('data-value', String(ordersToday));

  const stamp = Date.now();
  const sent = await page.request.post('/api/orders', {
    headers: { Origin: baseURL! },
    data: {
      orders: [
        { customer_email: `dash-a-${stamp}@example.com`, amount: '10.00', items: 1 },
        { customer_email: `dash-b-${stamp}@example.com`, amount: '5.50', items: 2 },
      ],
    },
  });
  expect(sent.status()).toBe(202);

  // The figures poll while the tab is visible: no reload here.
  await expect(figure(page, 'Orders today')).toHaveText((ordersToday + 2).toLocaleString('en-US'), { timeout: 20_000 });
  expect(cents(await figure(page, 'Revenue today').textContent())).toBe(revenueToday + 1550);
  await expect(figure(page, 'Customers')).toHaveText((customers + 2).toLocaleString('en-US'));
  await expect(todayBar).toHaveAttribute('data-value', String(ordersToday + 2));

  await page.getByRole('link', { name: '90 days' }).click();
  await expect(page).toHaveURL(/days=90/);
  await expect(page.getByRole('img', { name: 'Orders per day, last 90 days' })).toBeVisible();
  await expect(page.getByRole('img', { name: 'Orders per day, last 90 days' }).locator('rect')).toHaveCount(90);
});

test('a new segment is listed with its size among the recent ones and leads to its page', async ({ page, baseURL }) => {
  const name = `Dashboard regulars ${Date.now()}`;
  const created = await page.request.post('/api/segments', {
    headers: { Origin: baseURL! },
    data: { name, conditions: [{ field: 'visits', operator: '>=', value: 1 }], logicOperator: 'AND' },
  });
  expect(created.status()).toBe(201);

  await page.goto('/');
  await hydrated(page);
  const entry = page.locator('[data-list="recent-segments"] li').filter({ hasText: name });
  await expect(entry).toContainText(/\d+ customers, counted/);
  await expect(page.getByRole('img', { name: 'Customers in the largest segments' })).toBeVisible();
  await entry.getByRole('link', { name }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(name);
});
