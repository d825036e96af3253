import { expect, test, type Page } from '@playwright/test';
import { hydrated } from './accounts';

const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();

/** Customers only this run's segment can match, thanks to a tag of their own. */
async function seedCustomers(page: Page, tag: string) {
  const customer = (name: string, spend: number, visits: number, lastDaysAgo: number) => ({
    name,
    email: `${name.toLowerCase()}-${tag}@example.com`,
    tags: [tag],
    totalSpending: spend,
    visits,
    lastVisited: daysAgo(lastDaysAgo),
  });
  const reply = await page.request.post('/api/customers', {
    headers: { Origin: new URL(page.url()).origin },
    data: {
      customers: [
        customer('Avery', 20_000, 2, 10), // big spender with few orders
        customer('Blake', 15_000, 5, 200), // no order in 90 days
        customer('Casey', 12_000, 5, 5), // frequent and recent: out
        customer('Devon', 5_000, 1, 300), // spends too little: out
        customer('Emery', 30_000, 8, 100), // no order in 90 days
      ],
    },
  });
  expect(reply.status(), await reply.text()).toBe(200);
}

test('a nested rule is built with a live audience size, saved, reopened unchanged, and duplicated', async ({ page }) => {
  const tag = `seg${Date.now()}`;
  await page.goto('/segments/new');
  await hydrated(page);
  await seedCustomers(page, tag);

  await page.getByLabel('Name').fill(`Lapsing big spenders ${tag}`);
  const conditions = page.locator('[data-condition]');
  const audience = page.locator('[data-audience-count]');

  // Total spend > 10000
  await conditions.nth(0).getByLabel('Value').fill('10000');
  // AND tags has any <tag>
  await page.locator('[data-group][data-depth="0"]').getByRole('button', { name: 'Add condition' }).last().click();
  await conditions.nth(1).getByLabel('Field').selectOption('tags');
  await conditions.nth(1).getByLabel('Value').fill(tag);
  await expect(audience).toHaveAttribute('data-audience-count', '4'); // all but Devon
  // AND (order count < 3 OR last order more than 90 days ago)
  await page.getByRole('button', { name: 'Add group' }).last().click();
  const group = page.locator('[data-group][data-depth="1"]');
  await group.getByLabel('Combine').selectOption('any');
  await conditions.nth(2).getByLabel('Operator').selectOption('lt');
  await conditions.nth(2).getByLabel('Value').fill('3');
  await group.getByRole('button', { name: 'Add condition' }).click();
  await conditions.nth(3).getByLabel('Field').selectOption('last_order_at');
  await conditions.nth(3).getByLabel('Operator').selectOption('more_than_days_ago');
  await conditions.nth(3).getByLabel('Value').fill('90');
  await expect(page.locator('[data-rule-summary]')).toHaveText(
    `Total spend > 10000 and Tags has any of ${tag} and (Order count < 3 or Last order more than 90 days ago)`,
  );
  await expect(audience).toHaveAttribute('data-audience-count', '3');
  await expect(page.locator('[data-audience-sample] li')).toHaveCount(3);

  // Editing a value recounts: only Avery (20000) and Emery (30000) spend more than 16000.
  await conditions.nth(0).getByLabel('Value').fill('16000');
  await expect(audience).toHaveAttribute('data-audience-count', '2');
  // A value that is not a number is marked beside its condition and not counted.
  await conditions.nth(0).getByLabel('Value').fill('lots');
  await expect(conditions.nth(0).locator('[data-condition-problem]')).toHaveText('Total spend: enter an amount such as 100 or 49.90.');
  await conditions.nth(0).getByLabel('Value').fill('10000');
  await expect(audience).toHaveAttribute('data-audience-count', '3');
  await expect(page.locator('aside[data-counting]')).toHaveAttribute('data-counting', 'false');

  await page.getByRole('button', { name: 'Save segment' }).click();
  await expect(page).toHaveURL(/\/segments\/[0-9a-f]{24}$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(`Lapsing big spenders ${tag}`);
  await expect(page.locator('[data-segment-size]')).toHaveText('3');

  await hydrated(page);
  await page.getByRole('link', { name: 'Edit' }).click();
  await expect(page).toHaveURL(/\/edit$/);
  await expect(page.getByLabel('Name')).toHaveValue(`Lapsing big spenders ${tag}`);
  await expect(conditions).toHaveCount(4);
  await expect(conditions.nth(0).getByLabel('Value')).toHaveValue('10000');
  await expect(page.locator('[data-group][data-depth="1"]').getByLabel('Combine')).toHaveValue('any');
  await expect(conditions.nth(3).getByLabel('Operator')).toHaveValue('more_than_days_ago');
  await expect(conditions.nth(3).getByLabel('Value')).toHaveValue('90');
  await expect(audience).toHaveAttribute('data-audience-count', '3');

  await page.goBack();
  await expect(page.locator('[data-segment-size]')).toHaveText('3');
  await hydrated(page);
  await page.getByRole('button', { name: 'Duplicate' }).click();
  await expect(page).toHaveURL(/\/edit$/);
  await expect(page.getByLabel('Name')).toHaveValue(`Copy of Lapsing big spenders ${tag}`);

  await page.goto('/segments');
  const segments = page.getByRole('table', { name: 'Segments' });
  await expect(segments).toContainText(`Copy of Lapsing big spenders ${tag}`);

  // The copy is deleted from its page, after a confirmation, and the list no longer has it.
  await segments.getByRole('link', { name: `Copy of Lapsing big spenders ${tag}` }).click();
  await hydrated(page);
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await page.getByRole('button', { name: 'Delete for good' }).click();
  await expect(page).toHaveURL(/\/segments$/);
  await expect(segments).toContainText(`Lapsing big spenders ${tag}`);
  await expect(segments).not.toContainText(`Copy of Lapsing big spenders ${tag}`);
});

test('a segment without a name is refused beside the name field', async ({ page }) => {
  await page.goto('/segments/new');
  await hydrated(page);
  await page.locator('[data-condition]').first().getByLabel('Value').fill('5');
  await page.getByRole('button', { name: 'Save segment' }).click();
  await expect(page.locator('#name-error')).toHaveText('Give the segment a name.');
  await expect(page).toHaveURL(/\/segments\/new$/);
});

test('past ten thousand customers the builder shows an estimate with its margin, then the exact count', async ({ page }) => {
  const tag = `est${Date.now()}`;
  await page.goto('/segments/new');
  await hydrated(page);
  // 12,000 customers with this run's tag, in two requests of at most 10,000: more customers in all than the
  // estimate's sample, so it samples.
  for (const [from, to] of [[0, 10_000], [10_000, 12_000]]) {
    const customers = Array.from({ length: to - from }, (_, i) => ({
      name: `Sampled ${from + i}`,
      email: `sampled${from + i}-${tag}@example.com`,
      tags: [tag],
    }));
    const reply = await page.request.post('/api/customers', {
      headers: { Origin: new URL(page.url()).origin },
      data: { customers },
      timeout: 60_000,
    });
    expect(reply.status(), await reply.text()).toBe(200);
  }

  // Every estimate the panel shows on the way to the exact count, with its margin.
  await page.evaluate(() => {
    const seen: Array<[string, string]> = [];
    (window as any).estimatesSeen = seen;
    new MutationObserver(() => {
      const estimate = document.querySelector('[data-audience-estimate]')?.getAttribute('data-audience-estimate');
      const margin = document.querySelector('[data-audience-margin]')?.getAttribute('data-audience-margin');
      if (estimate && margin) seen.push([estimate, margin]);
    }).observe(document.querySelector('aside[data-counting]')!, { subtree: true, attributes: true, childList: true });
  });
  const condition = page.locator('[data-condition]').first();
  await condition.getByLabel('Field').selectOption('tags');
  await condition.getByLabel('Value').fill(tag);
  await expect(page.locator('[data-audience-count]')).toHaveAttribute('data-audience-count', '12000');
  await expect(page.locator('aside[data-counting]')).toHaveAttribute('data-counting', 'false');

  const seen: Array<[string, string]> = await page.evaluate(() => (window as any).estimatesSeen);
  expect(seen.length).toBeGreaterThan(0);
  const [estimate, margin] = seen[seen.length - 1].map(Number);
  expect(margin).toBeGreaterThan(0);
  expect(Math.abs(estimate - 12_000)).toBeLessThanOrEqual(margin);
  // Once counted, the estimate and its margin give way to the count.
  await expect(page.locator('[data-audience-margin]')).toHaveCount(0);
});

test('a segment on what was bought and who opened a campaign is built with a nested any group, counted live, saved, and sent a campaign', async ({ page }) => {
  // Two campaigns go out and an email is read: more than the default 30 seconds.
  test.setTimeout(120_000);
  const tag = `buy${Date.now()}`;
  const sku = `SKU-${tag}`;
  const inbox = process.env.REALM_MAILDEV_URL ?? 'http://127.0.0.1:1080';
  await page.goto('/segments/new');
  await hydrated(page);
  const origin = new URL(page.url()).origin;
  const headers = { Origin: origin };
  const order = (who: string, n: number, daysBack: number, amount: string) => ({
    order_id: `${tag}-${who}-${n}`,
    customer_email: `${who}-${tag}@example.com`,
    customer_name: `${who[0].toUpperCase()}${who.slice(1)} ${tag}`,
    amount,
    date: daysAgo(daysBack),
    items: [{ sku, name: 'Blue Mug', quantity: 1, unit_price: amount }],
  });
  const sent = await page.request.post('/api/orders', {
    headers,
    data: {
      orders: [
        order('alex', 1, 3, '30.00'), // two orders in 60 days: in
        order('alex', 2, 20, '40.00'),
        order('blair', 1, 10, '150.00'), // one order, did not open: out
        order('cory', 1, 5, '20.00'), // one order, opened the campaign: in
        order('drew', 1, 45, '500.00'), // bought the mug 45 days ago: out
      ],
    },
  });
  expect(sent.status(), await sent.text()).toBe(202);
  // Wait until the batch is stored and its totals are folded into the customers.
  const statusUrl = (await sent.json()).status_url;
  await expect
    .poll(async () => (await (await page.request.get(statusUrl)).json()).totals_applied_at ?? null, { timeout: 30_000 })
    .not.toBeNull();

  // Everyone who bought the mug gets a first campaign; Cory opens it from the inbox.
  const buyers = await page.request.post('/api/segments', {
    headers,
    data: { name: `Mug buyers ${tag}`, rule: { combinator: 'all', rules: [{ kind: 'condition', field: 'bought_sku', operator: 'eq', value: sku }] } },
  });
  expect(buyers.status(), await buyers.text()).toBe(201);
  expect((await buyers.json()).size).toBe(4);
  const first = await page.request.post('/api/campaigns', {
    headers,
    data: { name: `Mug news ${tag}`, segment_id: (await buyers.json()).id, channel: 'email', subject: 'Mugs', message: 'Hi {{first_name}}', rate_per_second: 10 },
  });
  expect(first.status(), await first.text()).toBe(201);
  const firstId = (await first.json()).id;
  expect((await page.request.post(`/api/campaigns/${firstId}/send-now`, { headers })).status()).toBe(200);
  let email: { id: string } | undefined;
  await expect.poll(async () => {
    const all: Array<{ id: string; to: Array<{ address: string }> }> = await (await page.request.get(`${inbox}/api/email`)).json();
    email = all.find((message) => message.to.some((to) => to.address === `cory-${tag}@example.com`));
    return email !== undefined;
  }, { timeout: 30_000 }).toBe(true);
  await page.goto(`${inbox}/api/email/${email!.id}/html`);
  await expect(page.getByText('Hi Cory')).toBeVisible();
  await expect
    .poll(async () => (await (await page.request.get(`/api/campaigns/${firstId}/stats`)).json()).opened, { timeout: 15_000 })
    .toBe(1);

  await page.goto('/segments/new');
  await hydrated(page);
  await page.getByLabel('Name').fill(`Engaged mug buyers ${tag}`);
  const conditions = page.locator('[data-condition]');
  const audience = page.locator('[data-audience-count]');
  // Bought the SKU in the last 30 days.
  await conditions.nth(0).getByLabel('Field').selectOption('bought_sku');
  await conditions.nth(0).getByLabel('Value').fill(sku);
  await conditions.nth(0).getByLabel('Window', { exact: true }).selectOption('last_days');
  await conditions.nth(0).getByLabel('Window days').fill('30');
  await expect(audience).toHaveAttribute('data-audience-count', '3'); // all but Drew
  // AND (opened the first campaign OR ordered at least 2 times in the last 60 days)
  await page.getByRole('button', { name: 'Add group' }).last().click();
  const group = page.locator('[data-group][data-depth="1"]');
  await group.getByLabel('Combine').selectOption('any');
  await conditions.nth(1).getByLabel('Field').selectOption('opened_campaign');
  await conditions.nth(1).getByLabel('Value').fill(`Mug news ${tag}`);
  await group.getByRole('button', { name: 'Add condition' }).click();
  await conditions.nth(2).getByLabel('Field').selectOption('orders');
  await expect(conditions.nth(2).getByLabel('Operator')).toHaveValue('gte');
  await conditions.nth(2).getByLabel('Value').fill('2');
  await conditions.nth(2).getByLabel('Window', { exact: true }).selectOption('last_days');
  await conditions.nth(2).getByLabel('Window days').fill('0');
  await expect(conditions.nth(2).locator('[data-condition-problem]')).toHaveText('Window: enter a number of days from 1 to 36500.');
  await conditions.nth(2).getByLabel('Window days').fill('60');
  await expect(page.locator('[data-rule-summary]')).toHaveText(
    `bought SKU “${sku}” in the last 30 days and (opened campaign “Mug news ${tag}” or ordered at least 2 times in the last 60 days)`,
  );
  await expect(audience).toHaveAttribute('data-audience-count', '2');
  await expect(page.locator('[data-audience-sample] li')).toHaveCount(2);
  await expect(page.locator('aside[data-counting]')).toHaveAttribute('data-counting', 'false');

  await page.getByRole('button', { name: 'Save segment' }).click();
  await expect(page).toHaveURL(/\/segments\/[0-9a-f]{24}$/);
  await expect(page.locator('[data-segment-size]')).toHaveText('2');
  const segmentId = page.url().split('/').pop()!;

  // A campaign sent to it reaches exactly Alex and Cory.
  await page.goto('/campaigns/new');
  await hydrated(page);
  await page.getByLabel('Campaign name').fill(`Mug follow-up ${tag}`);
  await page.getByLabel('Segment', { exact: true }).selectOption(segmentId);
  await expect(page.locator('[data-segment-live-size]')).toHaveText('2 customers in this segment now.');
  await page.getByLabel('Message', { exact: true }).fill('Hi {{first_name}}, how is the mug?');
  await page.getByLabel('Send now').check();
  await page.getByRole('button', { name: 'Save and send now' }).click();
  await expect(page).toHaveURL(/\/campaigns\/[0-9a-f]{24}$/);
  await hydrated(page);
  await expect(page.locator('[data-campaign-status]')).toHaveText('completed', { timeout: 30_000 });
  await expect(page.locator('[data-stat="Audience"]')).toHaveText('2');
  const recipients = page.getByRole('table', { name: 'Recipients' });
  await expect(recipients.locator('tbody tr')).toHaveCount(2);
  await expect(recipients).toContainText('Hi Alex, how is the mug?');
  await expect(recipients).toContainText('Hi Cory, how is the mug?');
});
