import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { hydrated } from './accounts';

// Every page, scanned by axe-core once hydrated: no WCAG 2.1 A/AA violation is allowed on any of them.
async function expectAccessible(page: Page, path: string) {
  await page.goto(path);
  await hydrated(page);
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const found = results.violations.map(
    (violation) => `${violation.id} (${violation.impact}): ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`,
  );
  expect(found, `axe-core on ${path}`).toEqual([]);
}

test('every page passes an axe-core scan, with data on the pages that show it', async ({ page }) => {
  const tag = `a11y${Date.now()}`;
  await page.goto('/');
  const origin = new URL(page.url()).origin;
  const seeded = await page.request.post('/api/customers', {
    headers: { Origin: origin },
    data: { name: 'Ada Access', email: `ada-${tag}@example.com`, city: 'Leeds', tags: [tag], totalSpending: 120 },
  });
  expect(seeded.status(), await seeded.text()).toBe(201);
  const customerId = (await seeded.json()).id;
  const segment = await page.request.post('/api/segments', {
    headers: { Origin: origin },
    data: { name: `Accessible ${tag}`, rule: { combinator: 'all', rules: [{ kind: 'condition', field: 'tags', operator: 'has_any', value: tag }] } },
  });
  expect(segment.status(), await segment.text()).toBe(201);
  const segmentId = (await segment.json()).id;
  const campaign = await page.request.post('/api/campaigns', {
    headers: { Origin: origin },
    data: { name: `Accessible ${tag}`, segmentId, message: 'Hello {{first_name}}' },
  });
  expect(campaign.status(), await campaign.text()).toBe(201);
  const campaignId = (await campaign.json()).id;

  const pages = [
    '/',
    '/customers',
    '/orders',
    '/segments',
    '/segments/new',
    `/segments/${segmentId}`,
    `/segments/${segmentId}/edit`,
    '/campaigns',
    '/campaigns/new',
    `/campaigns/${campaignId}`,
    `/campaigns/${campaignId}/edit`,
    '/admin/users',
    '/admin/api-keys',
    '/account/password',
    `/customers/${customerId}`,
    '/no-such-page',
  ];
  for (const path of pages) await expectAccessible(page, path);
});

test('the sign-in page passes an axe-core scan', async ({ browser, baseURL }) => {
  const signedOut = await browser.newContext({ baseURL, storageState: { cookies: [], origins: [] } });
  const page = await signedOut.newPage();
  await expectAccessible(page, '/sign-in');
  await signedOut.close();
});
