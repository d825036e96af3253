import { expect, type Page } from '@playwright/test';

export const owner = {
  name: 'Olive Owner',
  email: 'owner@example.com',
  password: 'correct horse battery staple',
};

export async function hydrated(page: Page) {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

// The sign-in page is plain HTML (no WASM on a first visit): its form posts to the server as it stands.
export async function signIn(page: Page, email: string, password: string) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}
