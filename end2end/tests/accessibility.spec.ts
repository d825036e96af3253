import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { OWNER_STATE } from '../playwright.config';
import { hydrated } from './accounts';

// Every page, scanned by axe-core once hydrated (the sign-in page as the server sends it, since it loads no WASM):
// no WCAG 2.1 A/AA violation is allowed on any of them.
async function expectAccessible(page: Page, path: string, { plain = false } = {}) {
  await page.goto(path);
  if (!plain) await hydrated(page);
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

// `:customer`, `:segment` and `:campaign` stand for the seeded records' ids.
const pages = [
  '/',
  '/customers',
  '/orders',
  '/segments',
  '/segments/new',
  '/segments/:segment',
  '/segments/:segment/edit',
  '/campaigns',
  '/campaigns/new',
  '/campaigns/:campaign',
  '/campaigns/:campaign/edit',
  '/admin/users',
  '/admin/api-keys',
  '/account/password',
  '/customers/:customer',
  '/no-such-page',
];

for (const address of pages) {
  test(`${address} passes an axe-core scan`, async ({ page }) => {
    const path = address
      .replace(':customer', seeded.customerId)
      .replace(':segment', seeded.segmentId)
      .replace(':campaign', seeded.campaignId);
    await expectAccessible(page, path);
  });
}

test('the sign-in page passes an axe-core scan', async ({ browser, baseURL }) => {
  const signedOut = await browser.newContext({ baseURL, storageState: { cookies: [], origins: [] } });
  const page = await signedOut.newPage();
  await expectAccessible(page, '/sign-in', { plain: true });
  await signedOut.close();
});
