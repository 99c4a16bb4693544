import { randomUUID } from 'node:crypto';
import { parseHmacKeys } from '../../src/masking/keyring.ts';
import { createLinkToken, linkExpiry } from '../../src/web/links.ts';
import type { TestApp } from '../support/app.ts';

// Helpers of the consent-center tests: signed links, customers of a test's
// own (the seeded personas stay as test/api expects them), and the forms of a
// rendered page as a browser would submit them.

export const keyring = parseHmacKeys(undefined, { production: false });

export const tokenFor = (customerId: string) => createLinkToken(keyring, customerId, linkExpiry(new Date(), 1));
export const link = (customerId: string, path = '/consent-center') => `${path}?token=${tokenFor(customerId)}`;

export async function customer(
  app: TestApp,
  place: { country: string | null; region?: string | null },
  extra: { firstName?: string; preferredLanguage?: string | null } = {},
) {
  const tag = randomUUID();
  return app.db.prisma.customer.create({
    data: {
      externalId: `TEST-CC-${tag}`,
      email: `${tag}@consentql.test`,
      firstName: extra.firstName ?? 'Ada',
      lastName: 'Subject',
      country: place.country,
      region: place.region ?? null,
      preferredLanguage: extra.preferredLanguage ?? null,
    },
    select: { id: true, externalId: true },
  });
}

/** The hidden fields of the rendered form `data-choice="<name>"`. */
export function formFor(page: string, name: string): URLSearchParams {
  const form = page.match(new RegExp(`<form[^>]*data-choice="${name}"[\\s\\S]*?</form>`))?.[0];
  if (!form) throw new Error(`no form ${name} in the page`);
  const fields = new URLSearchParams();
  for (const [, field, value] of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
    fields.set(field, value.replace(/&amp;/g, '&'));
  return fields;
}

/** The state text rendered for one purpose (or `limit-sensitive`). */
export function stateOf(page: string, key: string): string {
  const state = page.match(new RegExp(`id="state-${key}">([\\s\\S]*?)</p>`))?.[1];
  if (!state) throw new Error(`no state for ${key} in the page`);
  return text(state);
}

export const text = (markup: string) =>
  markup
    .replace(/<[^>]+>/g, '')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();

/** The status region's text. */
export const statusOf = (page: string) => text(page.match(/<div id="status"[^>]*>([\s\S]*?)<\/div>/)?.[1] ?? '');

export const post = (app: TestApp, body: URLSearchParams, headers: Record<string, string> = {}) =>
  app.fetch('/consent-center', {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'vitest-browser/1.0', ...headers },
    body: body.toString(),
  });

export const events = (app: TestApp, customerId: string) =>
  app.db.prisma.consentEvent.findMany({
    where: { customerId },
    orderBy: { id: 'asc' },
    select: { purposeKey: true, action: true, source: true, regime: true, sensitive: true, noticeVersion: true },
  });
