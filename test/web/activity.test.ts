import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.ts';
import { customer, link, text } from './support.ts';

// "Who used my data, for what, when" and "download my data", through the
// subject's signed link.

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

/** Waits for the batched access records of `customerId` to reach `count` rows. */
async function accessRows(customerId: string, count: number) {
  for (let attempt = 0; attempt < 100; attempt++) {
    const n = await app.db.prisma.accessSubject.count({ where: { customerId } });
    if (n >= count) return n;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`expected ${count} access rows for the subject`);
}

const entries = (page: string) =>
  [...page.matchAll(/<li><time datetime="([^"]+)">([^<]+)<\/time> ([^<]+)<\/li>/g)].map((m) => text(`${m[2]} ${m[3]}`));

describe('the transparency page', () => {
  it('says in plain words who read what for which purpose, newest first, in the subject’s language', async () => {
    const subject = await customer(app, { country: 'US', region: 'CA' }, { firstName: 'Rosa' });
    const empty = await (await app.fetch(`${link(subject.id, '/consent-center/activity')}&lang=en`)).text();
    expect(empty).toContain('No use of your data has been recorded yet.');

    await app.graphql(`query SupportRead { customer(id: "${subject.id}") { firstName lastName email phone } }`, {
      client: 'support-chatbot',
      purpose: 'support',
    });
    await app.graphql(`query AnalyticsRead { customer(id: "${subject.id}") { email city segment } }`, {
      client: 'analytics-app',
      purpose: 'analytics',
    });
    await accessRows(subject.id, 2);

    const response = await app.fetch(`${link(subject.id, '/consent-center/activity')}&lang=en`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    const page = await response.text();
    expect(page).toContain('<h1 id="activity" tabindex="-1">Who used your data, for what, when</h1>');
    expect(entries(page)).toEqual([
      expect.stringMatching(
        /^\d{1,2} \w{3} \d{4}, \d\d:\d\d UTC Analytics app used your address and our predictions about you for "Analytics"; your email address was hidden\.$/,
      ),
      expect.stringMatching(
        /^\d{1,2} \w{3} \d{4}, \d\d:\d\d UTC Support chatbot used your name, email address and phone number for "Customer support"\.$/,
      ),
    ]);
    // The subject's link leads back to the choices; nothing of other subjects is on the page.
    expect(page).toContain('Back to your privacy choices');
    expect(page).not.toMatch(/subject_ids|record_id|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/);

    const spanish = await (await app.fetch(`${link(subject.id, '/consent-center/activity')}&lang=es`)).text();
    expect(spanish).toContain('<html lang="es">');
    expect(entries(spanish)[0]).toMatch(
      /Analytics app usó su dirección y nuestras predicciones sobre usted para «Analítica»; quedó oculto: su correo electrónico\.$/,
    );
  });

  it('pages through older entries with the same signed link', async () => {
    const subject = await customer(app, { country: 'DE' });
    for (let i = 0; i < 23; i++) {
      await app.graphql(`{ customer(id: "${subject.id}") { email } }`, { client: 'support-chatbot', purpose: 'support' });
    }
    await accessRows(subject.id, 23);
    const first = await (await app.fetch(`${link(subject.id, '/consent-center/activity')}&lang=en`)).text();
    expect(entries(first)).toHaveLength(20);
    const older = first.match(/<a href="([^"]+)">Older entries<\/a>/)?.[1].replace(/&amp;/g, '&');
    expect(older).toMatch(/^\/consent-center\/activity\?token=[^&]+&lang=en&after=/);
    const second = await (await app.fetch(older!)).text();
    expect(entries(second)).toHaveLength(3);
    expect(second).toContain('>Newest entries</a>');
    expect(second).not.toContain('Older entries');
    // A cursor edited by hand shows the newest entries, nothing else.
    const forged = await (await app.fetch(`${link(subject.id, '/consent-center/activity')}&after=bm9wZQ`)).text();
    expect(entries(forged)).toHaveLength(20);
  });

  it('refuses an invalid link like the main page', async () => {
    const response = await app.fetch('/consent-center/activity?token=forged.dev.AAAA');
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('This link is invalid or has expired');
    expect((await app.fetch('/consent-center/activity', { method: 'POST' })).status).toBe(405);
  });
});

describe('download my data', () => {
  it('is linked from the page and returns the export as a JSON download through the signed link', async () => {
    const subject = await customer(app, { country: 'FR' });
    const page = await (await app.fetch(`${link(subject.id)}&lang=en`)).text();
    const href = page.match(/<a href="([^"]+)" download>Download my data<\/a>/)?.[1].replace(/&amp;/g, '&');
    expect(href).toMatch(/^\/consent-center\/export\?token=[^&]+&lang=en$/);
    const response = await app.fetch(href!);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(response.headers.get('content-disposition')).toBe(`attachment; filename="subject-export-${subject.id}.json"`);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const document = await response.json();
    expect(document.subject).toEqual({ id: subject.id, externalId: subject.externalId });
    expect((await app.fetch('/consent-center/export?token=forged.dev.AAAA')).status).toBe(403);
  });
});
