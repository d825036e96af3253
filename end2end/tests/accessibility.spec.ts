import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { OWNER_STATE } from '../playwright.config';
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

// A customer, a segment of them and a campaign to it, so that the lists and detail pages are scanned with data.
// Seeded once; each page is its own test, so that a slow first load of a page's code counts against that page only.
const seeded = { customerId: '', segmentId: '', campaignId: '' };

test.beforeAll(async ({ playwright }) => {
  const baseURL = test.info().project.use.baseURL!;
  const api = await playwright.request.newContext({
    baseURL,
    storageState: OWNER_STATE,
    extraHTTPHeaders: { Origin: new URL(baseURL).origin },
  });
  const tag = `a11y${Date.now()}`;
  const customer = await api.post('/api/customers', {
    data: { name: 'Ada Access', email: `ada-${tag}@example.com`, city: 'Leeds', tags: [tag], totalSpending: 120 },
  });
  expect(customer.status(), await customer.text()).toBe(201);
  seeded.customerId = (await customer.json()).id;
  const segment = await api.post('/api/segments', {
    data: { name: `Accessible ${tag}`, rule: { combinator: 'all', rules: [{ kind: 'condition', field: 'tags', operator: 'has_any', value: tag }] } },
  });
  expect(segment.status(), await segment.text()).toBe(201);
  seeded.segmentId = (await segment.json()).id;
  const campaign = await api.post('/api/campaigns', {
    data: { name: `Accessible ${tag}`, segmentId: seeded.segmentId, message: 'Hello {{first_name}}' },
  });
  expect(campaign.status(), await campaign.text()).toBe(201);
  seeded.campaignId = (await campaign.json()).id;
  await api.dispose();
});

const pages: [string, () => string][] = [
  ['/', () => '/'],
  ['/customers', () => '/customers'],
  ['/orders', () => '/orders'],
  ['/segments', () => '/segments'],
  ['/segments/new', () => '/segments/new'],
  ['/segments/:id', () => `/segments/${seeded.segmentId}`],
  ['/segments/:id/edit', () => `/segments/${seeded.segmentId}/edit`],
  ['/campaigns', () => '/campaigns'],
  ['/campaigns/new', () => '/campaigns/new'],
  ['/campaigns/:id', () => `/campaigns/${seeded.campaignId}`],
  ['/campaigns/:id/edit', () => `/campaigns/${seeded.campaignId}/edit`],
  ['/admin/users', () => '/admin/users'],
  ['/admin/api-keys', () => '/admin/api-keys'],
  ['/account/password', () => '/account/password'],
  ['/customers/:id', () => `/customers/${seeded.customerId}`],
  ['/no-such-page', () => '/no-such-page'],
];

for (const [name, path] of pages) {
  test(`${name} passes an axe-core scan`, async ({ page }) => {
    await expectAccessible(page, path());
  });
}

test('the sign-in page passes an axe-core scan', async ({ browser, baseURL }) => {
  const signedOut = await browser.newContext({ baseURL, storageState: { cookies: [], origins: [] } });
  const page = await signedOut.newPage();
  await expectAccessible(page, '/sign-in');
  await signedOut.close();
});
