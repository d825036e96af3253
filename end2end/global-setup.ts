import type { FullConfig } from '@playwright/test';

// `cargo leptos end-to-end` starts the tests as soon as it has spawned the server, so wait until the server
// listens and its services are ready before any test opens a page.
export default async function globalSetup(config: FullConfig) {
  const baseURL = config.projects[0].use.baseURL ?? 'http://127.0.0.1:3000';
  const deadline = Date.now() + 120_000;
  let lastProblem = 'no answer';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${baseURL}/readyz`);
      if (response.ok) return;
      lastProblem = `${response.status} ${await response.text()}`;
    } catch (error) {
      lastProblem = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`Realm at ${baseURL} was not ready within 120 s: ${lastProblem}`);
}
