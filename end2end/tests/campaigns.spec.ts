import { expect, test } from '@playwright/test';
import { hydrated } from './accounts';

test('a personalised campaign is previewed, sent now, followed live to completed, and its numbers add up', async ({ page }) => {
  const tag = `camp${Date.now()}`;
  await page.goto('/campaigns/new');
  await hydrated(page);
  const origin = new URL(page.url()).origin;

  const customers = ['Avery Stone', 'Blake Moss', 'Casey Reed'].map((name, i) => ({
    name,
    email: `${name.split(' ')[0].toLowerCase()}-${tag}@example.com`,
    city: i === 2 ? undefined : 'Lyon',
    tags: [tag],
    visits: 1,
    totalSpending: 20 + i,
  }));
  const seeded = await page.request.post('/api/customers', { headers: { Origin: origin }, data: { customers } });
  expect(seeded.status(), await seeded.text()).toBe(200);
  const segment = await page.request.post('/api/segments', {
    headers: { Origin: origin },
    data: { name: `Campaign audience ${tag}`, rule: { combinator: 'all', rules: [{ kind: 'condition', field: 'tags', operator: 'has_any', value: tag }] } },
  });
  expect(segment.status(), await segment.text()).toBe(201);
  const segmentId = (await segment.json()).id;

  await page.reload();
  await hydrated(page);
  await page.getByLabel('Campaign name').fill(`Welcome ${tag}`);
  await page.getByLabel('Segment', { exact: true }).selectOption(segmentId);
  await expect(page.locator('[data-segment-live-size]')).toHaveText('3 customers in this segment now.');
  await expect(page.locator('[data-reachable]')).toHaveText('3 of them can be reached by email (consented).');

  const message = page.getByLabel('Message', { exact: true });
  await message.fill('Hi {{nickname}}');
  await expect(page.locator('#message-error')).toContainText('Unknown token “{{nickname}}”');
  await message.fill('Hi {{first_name}} from {{city|your town}}!');
  await expect(page.locator('#message-error')).toHaveText('');
  const previews = page.locator('[data-message-preview]');
  await expect(previews).toHaveCount(3);
  await expect(previews.filter({ hasText: 'Hi Casey from your town!' })).toHaveCount(1);
  await expect(previews.filter({ hasText: 'Hi Avery from Lyon!' })).toHaveCount(1);

  // A frequency cap out of range is refused beside its field; a day is fine (nobody here was messaged yet).
  await page.getByLabel('Send now').check();
  await page.getByLabel('Frequency cap (hours)').fill('0');
  await page.getByRole('button', { name: 'Save and send now' }).click();
  await expect(page.locator('#frequency-cap-error')).toContainText('Skip customers messaged in the last 1 to 720 hours');
  await page.getByLabel('Frequency cap (hours)').fill('24');
  await page.getByRole('button', { name: 'Save and send now' }).click();
  await expect(page).toHaveURL(/\/campaigns\/[0-9a-f]{24}$/);
  await hydrated(page);
  // No reload: the page polls while the campaign is scheduled or sending.
  await expect(page.locator('[data-campaign-status]')).toHaveText('completed', { timeout: 30_000 });
  await expect(page.locator('[data-stat="Audience"]')).toHaveText('3');
  const sent = Number(await page.locator('[data-stat="Sent"]').textContent());
  const failed = Number(await page.locator('[data-stat="Failed"]').textContent());
  expect(sent + failed).toBe(3);
  const recipients = page.getByRole('table', { name: 'Recipients' });
  await expect(recipients.locator('tbody tr')).toHaveCount(3);
  await expect(recipients).toContainText('Hi Blake from Lyon!');
  // The log shows those of one status, and those no status names (nobody opened yet).
  await page.getByLabel('Show').selectOption('failed');
  await expect(recipients.locator('tbody tr')).toHaveCount(failed);
  await page.getByLabel('Show').selectOption('sent');
  await expect(recipients.locator('tbody tr')).toHaveCount(sent);
  await page.getByLabel('Show').selectOption('opened');
  await expect(page.locator('[data-log-empty]')).toHaveText('No recipient is in this group yet.');

  await page.goto('/campaigns');
  await expect(page.locator(`tr[data-campaign="Welcome ${tag}"] [data-campaign-status]`)).toHaveText('completed');
});

test('a campaign the original frontend created without a message and with today’s date opens as a draft with a greeting to edit', async ({ page }) => {
  const tag = `orig${Date.now()}`;
  await page.goto('/campaigns');
  await hydrated(page);
  const origin = new URL(page.url()).origin;
  const seeded = await page.request.post('/api/customers', {
    headers: { Origin: origin },
    data: { customers: [{ name: 'Ellis Park', email: `ellis-${tag}@example.com`, tags: [tag] }] },
  });
  expect(seeded.status(), await seeded.text()).toBe(200);
  const segment = await page.request.post('/api/segments', {
    headers: { Origin: origin },
    data: { name: `Original audience ${tag}`, rule: { combinator: 'all', rules: [{ kind: 'condition', field: 'tags', operator: 'has_any', value: tag }] } },
  });
  expect(segment.status(), await segment.text()).toBe(201);
  const segmentId = (await segment.json())._id;

  // Exactly what the original frontend sends: no message, and a date picked from a calendar.
  const today = new Date().toISOString().slice(0, 10);
  const created = await page.request.post('/api/campaigns', {
    headers: { Origin: origin },
    data: { name: `Original ${tag}`, segmentId, scheduledFor: today },
  });
  expect(created.status(), await created.text()).toBe(201);
  const campaign = await created.json();
  expect(campaign.status).toBe('draft');
  expect(campaign.note).toContain('draft');

  await page.goto(`/campaigns/${campaign._id}/edit`);
  await hydrated(page);
  const message = page.getByLabel('Message', { exact: true });
  await expect(message).toHaveValue(/^Hi \{\{first_name\|there\}\}, /);
  await expect(page.locator('[data-message-preview]').first()).toContainText('Hi Ellis, ');
  await message.fill('Hi {{first_name|there}}, the spring collection is in.');
  await expect(page.locator('[data-message-preview]').first()).toHaveText(/Hi Ellis, the spring collection is in\./);
});

test('a draft is sent from its page with the Send now button, which works before the page hydrates', async ({ page }) => {
  const tag = `act${Date.now()}`;
  await page.goto('/campaigns');
  const origin = new URL(page.url()).origin;
  const seeded = await page.request.post('/api/customers', {
    headers: { Origin: origin },
    data: { customers: [{ name: 'Frankie Form', email: `frankie-${tag}@example.com`, tags: [tag] }] },
  });
  expect(seeded.status(), await seeded.text()).toBe(200);
  const segment = await page.request.post('/api/segments', {
    headers: { Origin: origin },
    data: { name: `Action audience ${tag}`, rule: { combinator: 'all', rules: [{ kind: 'condition', field: 'tags', operator: 'has_any', value: tag }] } },
  });
  expect(segment.status(), await segment.text()).toBe(201);
  const created = await page.request.post('/api/campaigns', {
    headers: { Origin: origin },
    data: { name: `Action ${tag}`, segmentId: (await segment.json()).id, message: 'Hello {{first_name}}' },
  });
  expect(created.status(), await created.text()).toBe(201);
  const id = (await created.json()).id;

  // The app's WebAssembly never arrives: the button is a plain form the server answers.
  await page.route('**/*.wasm', (route) => route.abort());
  await page.goto(`/campaigns/${id}`);
  await expect(page.locator('[data-campaign-status]')).toHaveText('draft');
  await page.getByRole('button', { name: 'Send now' }).click();
  await expect(page).toHaveURL(new RegExp(`/campaigns/${id}\\??$`));
  await expect(page.locator('[data-campaign-status]')).not.toHaveText('draft');
  await expect(page.locator('body')).not.toHaveAttribute('data-hydrated', 'true');
  await page.unroute('**/*.wasm');

  // Hydrated, the page follows the campaign to its end by itself.
  await page.reload();
  await hydrated(page);
  await expect(page.locator('[data-campaign-status]')).toHaveText('completed', { timeout: 30_000 });
});
