// What a browser downloads and how long until the page is interactive, for a first visit (empty cache) and a
// second visit, on an emulated 10 Mbit/s connection with 40 ms latency (Chromium's network emulation).
// Run by bench/bundle.sh against a release build; prints a Markdown table for BENCHMARKS.md. The sign-in and setup
// pages load no WASM (app::PLAIN_PAGES): they are visited signed out, and are interactive once loaded.
import { createRequire } from 'node:module';

const require = createRequire(new URL('../end2end/package.json', import.meta.url));
const { chromium } = require('@playwright/test');

const base = process.env.BENCH_BASE_URL ?? 'http://127.0.0.1:3200';
const runs = Number(process.env.BENCH_RUNS ?? 5);
const paths = (process.env.BENCH_PATHS ?? '/,/segments/new,/sign-in').split(',');
const plainPages = ['/sign-in', '/setup'];
const owner = { name: 'Bench Owner', email: 'bench@realm.test', password: 'a bench password 1234' };
const network = { offline: false, latency: 40, downloadThroughput: 10_000_000 / 8, uploadThroughput: 10_000_000 / 8 };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

// The owner account, created once on the fresh database the script started; later contexts reuse its cookie.
const setup = await browser.newContext({ baseURL: base });
const setupPage = await setup.newPage();
await setupPage.goto('/setup');
await setupPage.getByLabel('Your name').fill(owner.name);
await setupPage.getByLabel('Email').fill(owner.email);
await setupPage.getByLabel('Password (at least 12 characters)').fill(owner.password);
await setupPage.getByLabel('Password again').fill(owner.password);
await setupPage.getByRole('button', { name: 'Create account' }).click();
await setupPage.waitForURL((url) => url.pathname === '/');
const signedIn = await setup.storageState();
await setup.close();

function kindOf(url) {
  const path = new URL(url).pathname;
  if (path.endsWith('.wasm')) return 'wasm';
  if (path.endsWith('.js')) return 'js';
  if (path.endsWith('.css')) return 'css';
  if (path.startsWith('/pkg/')) return 'other';
  return 'page';
}

// One navigation: bytes over the wire per kind of file (0 for what came from the cache) and the time from the
// start of navigation until the app marked <body data-hydrated> (until the load event, on a plain page).
async function visit(page, cdp, path) {
  const urls = new Map();
  const bytes = { wasm: 0, js: 0, css: 0, other: 0, page: 0 };
  const files = { wasm: 0 };
  const onResponse = (event) => urls.set(event.requestId, event.response.url);
  const onFinished = (event) => {
    const url = urls.get(event.requestId);
    if (!url) return;
    const kind = kindOf(url);
    bytes[kind] += event.encodedDataLength;
    if (kind === 'wasm' && event.encodedDataLength > 0) files.wasm += 1;
  };
  cdp.on('Network.responseReceived', onResponse);
  cdp.on('Network.loadingFinished', onFinished);
  await page.goto(path);
  let hydratedMs;
  if (plainPages.includes(path)) {
    await page.waitForLoadState('load');
    hydratedMs = await page.evaluate(() => performance.getEntriesByType('navigation')[0].loadEventEnd);
  } else {
    await page.waitForSelector('body[data-hydrated]', { timeout: 60_000 });
    hydratedMs = await page.evaluate(() => window.__hydratedAt);
  }
  // Lazily loaded files requested right at hydration have finished by now; give stragglers a moment.
  await page.waitForLoadState('networkidle');
  cdp.off('Network.responseReceived', onResponse);
  cdp.off('Network.loadingFinished', onFinished);
  return { bytes, hydratedMs, wasmFiles: files.wasm };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const rows = [];
for (const path of paths) {
  const first = [];
  const second = [];
  for (let run = 0; run < runs; run += 1) {
    // A new context starts with an empty cache, as a first visit does; the session cookie comes along.
    const context = await browser.newContext({
      baseURL: base,
      storageState: plainPages.includes(path) ? undefined : signedIn,
    });
    await context.addInitScript(() => {
      new MutationObserver((_, observer) => {
        if (document.body?.hasAttribute('data-hydrated')) {
          window.__hydratedAt = performance.now();
          observer.disconnect();
        }
      }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-hydrated'] });
    });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', network);
    first.push(await visit(page, cdp, path));
    second.push(await visit(page, cdp, path));
    await context.close();
  }
  for (const [label, visits] of [['first', first], ['second', second]]) {
    const kb = (kind) => (median(visits.map((v) => v.bytes[kind])) / 1000).toFixed(1);
    const assets = median(visits.map((v) => v.bytes.wasm + v.bytes.js + v.bytes.css));
    rows.push(`| ${path} | ${label} | ${runs} | ${kb('wasm')} | ${median(visits.map((v) => v.wasmFiles))} | ${kb('js')} | ` +
      `${kb('css')} | ${(assets / 1000).toFixed(1)} | ${kb('page')} | ${Math.round(median(visits.map((v) => v.hydratedMs)))} |`);
  }
}
await browser.close();

console.log('| page | visit | runs | WASM kB | WASM files | JS kB | CSS kB | WASM+JS+CSS kB | HTML+data kB | hydrated (plain: loaded) ms (p50) |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const row of rows) console.log(row);
