import { expect, test } from '@playwright/test';
import { hydrated } from './accounts';

// The mail catcher the test command starts; the app under test sends its campaign email there.
const inbox = process.env.REALM_MAILDEV_URL ?? 'http://127.0.0.1:1080';

test('a sent email is opened from the inbox, its link clicked and its unsubscribe link followed, and Realm sees each', async ({ page }) => {
  const tag = `mail${Date.now()}`;
  const address = `reader-${tag}@example.com`;
  await page.goto('/campaigns');
  await hydrated(page);
  const origin = new URL(page.url()).origin;
  const headers = { Origin: origin };

  const seeded = await page.request.post('/api/customers', {
    headers,
    data: { customers: [{ name: 'Robin Reader', email: address, tags: [tag] }] },
  });
  expect(seeded.status(), await seeded.text()).toBe(200);
  const segment = await page.request.post('/api/segments', {
    headers,
    data: { name: `Readers ${tag}`, rule: { combinator: 'all', rules: [{ kind: 'condition', field: 'tags', operator: 'has_any', value: tag }] } },
  });
  expect(segment.status(), await segment.text()).toBe(201);
  // The link leads back into Realm, so that following it needs no other site.
  const campaign = await page.request.post('/api/campaigns', {
    headers,
    data: {
      name: `Letter ${tag}`, segment_id: (await segment.json()).id, channel: 'email', subject: 'News for {{first_name}}',
      message: `Hi {{first_name}}, see what is new: ${origin}/segments`, rate_per_second: 10,
    },
  });
  expect(campaign.status(), await campaign.text()).toBe(201);
  const id = (await campaign.json()).id;
  expect((await page.request.post(`/api/campaigns/${id}/send-now`, { headers })).status()).toBe(200);

  let email: { id: string } | undefined;
  await expect.poll(async () => {
    const all: Array<{ id: string; to: Array<{ address: string }> }> = await (await page.request.get(`${inbox}/api/email`)).json();
    email = all.find((message) => message.to.some((to) => to.address === address));
    return email !== undefined;
  }, { timeout: 30_000 }).toBe(true);

  // The email as its reader sees it: the open pixel loads, the link leads through Realm to the page it names.
  await page.goto(`${inbox}/api/email/${email!.id}/html`);
  await expect(page.getByText('Hi Robin, see what is new:')).toBeVisible();
  await page.getByRole('link', { name: `${origin}/segments` }).click();
  await expect(page).toHaveURL(`${origin}/segments`);

  await page.goto(`/campaigns/${id}`);
  await hydrated(page);
  await expect(page.locator('[data-stat="Sent"]')).toHaveText('1');
  await expect(page.locator('[data-stat="Opened"]')).toHaveText('1');
  await expect(page.locator('[data-stat="Clicked"]')).toHaveText('1');

  // Unsubscribing through the email's link, then the customer page shows it and lets a user record a new answer.
  await page.goto(`${inbox}/api/email/${email!.id}/html`);
  await page.getByRole('link', { name: 'Unsubscribe' }).click();
  await expect(page.getByText(address)).toBeVisible();
  await page.getByRole('button', { name: 'Unsubscribe' }).click();
  await expect(page.getByRole('heading', { name: 'You are unsubscribed' })).toBeVisible();

  // A completed campaign's page does not poll, and its figures may be a second old: look again until it shows.
  await page.goto(`/campaigns/${id}`);
  await expect(async () => {
    await page.reload();
    await expect(page.locator('[data-stat="Unsubscribed"]')).toHaveText('1', { timeout: 1_000 });
  }).toPass({ timeout: 10_000 });
  await hydrated(page);
  // A segment can pick out who unsubscribed: Robin, with the tag of this test.
  await page.goto('/segments/new');
  await hydrated(page);
  const conditions = page.locator('[data-condition]');
  await conditions.nth(0).getByLabel('Field').selectOption('email_consent');
  await conditions.nth(0).getByLabel('Value').selectOption('unsubscribed');
  await page.locator('[data-group][data-depth="0"]').getByRole('button', { name: 'Add condition' }).last().click();
  await conditions.nth(1).getByLabel('Field').selectOption('tags');
  await conditions.nth(1).getByLabel('Value').fill(tag);
  await expect(page.locator('[data-audience-count]')).toHaveAttribute('data-audience-count', '1');

  await page.goto(`/campaigns/${id}`);
  await hydrated(page);
  await page.getByRole('table', { name: 'Recipients' }).getByRole('link', { name: 'Robin Reader' }).click();
  await hydrated(page);
  const email_consent = page.locator('[data-consent="email"]');
  await expect(email_consent.locator('[data-consent-state]')).toHaveText('unsubscribed');
  await expect(email_consent).toContainText('unsubscribe link of campaign');
  await email_consent.getByLabel('Email consent').selectOption('subscribed');
  await email_consent.getByRole('button', { name: 'Save' }).click();
  await expect(email_consent.locator('[data-consent-state]')).toHaveText('subscribed');
  await page.reload();
  await expect(page.locator('[data-consent="email"] [data-consent-state]')).toHaveText('subscribed');
});
