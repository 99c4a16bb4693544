import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subjectActivityPage } from '../../src/audit/access-records.ts';
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

/** The manifest decisions of an ai_training extract of these fields (as src/extracts writes them). */
const AI_FIELDS = [
  { field: 'Customer.churnScore', decision: 'CLEAR', category: 'INFERRED', mask: 'null', maskedRows: 0 },
  { field: 'Customer.segment', decision: 'CLEAR', category: 'INFERRED', mask: 'null', maskedRows: 0 },
  { field: 'Customer.birthDate', decision: 'CLEAR', category: 'IDENTITY', mask: 'year', maskedRows: 0 },
  { field: 'Customer.healthInterests', decision: 'CLEAR_WITH_SENSITIVE_CONSENT', category: 'SPECIAL', mask: 'null', maskedRows: 3 },
  { field: 'Customer.email', decision: 'MASKED', category: 'CONTACT', mask: 'hash', maskedRows: 10 },
];

/** An extract row as src/extracts leaves it, holding `members`. */
async function extractOf(
  members: readonly string[],
  snapshotAt: Date,
  options: { status?: 'RUNNING' | 'COMPLETE' | 'FAILED'; fields?: typeof AI_FIELDS; manifest?: boolean } = {},
) {
  const client = await app.db.prisma.apiClient.findUniqueOrThrow({ where: { name: 'churn-model-training' }, select: { id: true } });
  const fields = options.fields ?? AI_FIELDS;
  const status = options.status ?? 'COMPLETE';
  const extract = await app.db.prisma.extract.create({
    data: {
      clientId: client.id,
      purposeKey: 'ai_training',
      purposeVersion: 1,
      policyVersion: 'test',
      snapshotAt,
      format: 'csv',
      fields: fields.map((f) => f.field),
      status,
      manifest: status === 'RUNNING' || options.manifest === false ? undefined : { status, fields },
      completedAt: status === 'RUNNING' ? null : new Date(snapshotAt.getTime() + 1000),
    },
    select: { id: true },
  });
  await app.db.prisma.extractMember.createMany({ data: members.map((customerId) => ({ customerId, extractId: extract.id })) });
  return String(extract.id);
}

const activity = async (customerId: string, lang = 'en') =>
  entries(await (await app.fetch(`${link(customerId, '/consent-center/activity')}&lang=${lang}`)).text());

/** The time of the subject's only (or newest) access row. */
async function readAt(customerId: string): Promise<Date> {
  const row = await app.db.prisma.accessSubject.findFirstOrThrow({ where: { customerId }, orderBy: { occurredAt: 'desc' } });
  return row.occurredAt;
}

describe('extracts on the transparency page', () => {
  it('shows each complete extract holding the subject among the reads, in time order, and none to a subject not in it', async () => {
    const subject = await customer(app, { country: 'DE' });
    const other = await customer(app, { country: 'DE' });
    await app.graphql(`{ customer(id: "${subject.id}") { email } }`, { client: 'support-chatbot', purpose: 'support' });
    await accessRows(subject.id, 1);
    const first = await readAt(subject.id);
    // Same instant as the read (listed after it), and one a minute later; running and failed ones are no data set yet.
    const tied = await extractOf([subject.id], first);
    const later = await extractOf([subject.id, other.id], new Date(first.getTime() + 60_000));
    await extractOf([subject.id], new Date(first.getTime() + 30_000), { status: 'RUNNING' });
    await extractOf([subject.id], new Date(first.getTime() + 40_000), { status: 'FAILED' });
    const notHers = await extractOf([other.id], new Date(first.getTime() + 50_000));
    await app.graphql(`{ customer(id: "${subject.id}") { phone } }`, { client: 'support-chatbot', purpose: 'support' });
    await accessRows(subject.id, 2);
    const second = await readAt(subject.id);
    expect(second.getTime()).toBeLessThan(first.getTime() + 60_000);

    const line = (id: string) =>
      `Churn model training copied your date of birth and our predictions about you into a data set for "Training AI models" (data set ${id}); your health interests were copied only if you had allowed us to use sensitive data for this purpose at the time, and hidden otherwise; your email address was hidden.`;
    const page = await activity(subject.id);
    expect(page).toEqual([
      expect.stringMatching(/^\d{1,2} \w{3} \d{4}, \d\d:\d\d UTC Churn model training copied /),
      expect.stringMatching(/UTC Support chatbot used your phone number for "Customer support"\.$/),
      expect.stringMatching(/UTC Support chatbot used your email address for "Customer support"\.$/),
      expect.stringMatching(/UTC Churn model training copied /),
    ]);
    expect(page[0].slice(-line(later).length)).toBe(line(later));
    expect(page[3].slice(-line(tied).length)).toBe(line(tied));
    expect(page.join('\n')).not.toContain(`data set ${notHers})`);

    // The other subject sees only the extracts that hold them, and no read of anyone else.
    const theirs = await activity(other.id);
    expect(theirs).toHaveLength(2);
    expect(theirs[0].slice(-line(later).length)).toBe(line(later));
    expect(theirs[1].slice(-line(notHers).length)).toBe(line(notHers));
    const outsider = await customer(app, { country: 'DE' });
    expect(await activity(outsider.id)).toEqual([]);
  });

  it('says the same in every language, and claims nothing the manifest does not record', async () => {
    const subject = await customer(app, { country: 'FR' });
    const id = await extractOf([subject.id], new Date('2026-11-30T14:02:00.000Z'));
    const expected = {
      en: `30 Nov 2026, 14:02 UTC Churn model training copied your date of birth and our predictions about you into a data set for "Training AI models" (data set ${id}); your health interests were copied only if you had allowed us to use sensitive data for this purpose at the time, and hidden otherwise; your email address was hidden.`,
      de: `30. Nov. 2026, 14:02 UTC Churn model training hat für „Training von KI-Modellen“ Folgendes in einen Datenbestand kopiert (Datenbestand ${id}): Ihr Geburtsdatum und unsere Vorhersagen über Sie; nur falls Sie damals der Nutzung sensibler Daten für diesen Zweck zugestimmt hatten, kopiert, sonst verborgen: Ihre Gesundheitsinteressen; verborgen blieb: Ihre E-Mail-Adresse.`,
      fr: `30 nov. 2026, 14:02 UTC Churn model training a copié votre date de naissance et nos prévisions à votre sujet dans un jeu de données pour « Entraînement de modèles d’IA » (jeu de données ${id}) ; copié seulement si vous aviez alors autorisé l’usage de données sensibles pour cette finalité, masqué sinon : vos centres d’intérêt liés à la santé ; masqué : votre adresse e-mail.`,
      es: `30 nov 2026, 14:02 UTC Churn model training copió su fecha de nacimiento y nuestras predicciones sobre usted en un conjunto de datos para «Entrenamiento de modelos de IA» (conjunto de datos ${id}); copiado solo si entonces había permitido el uso de datos sensibles para esta finalidad, y oculto en caso contrario: sus intereses de salud; quedó oculto: su correo electrónico.`,
    };
    for (const [lang, line] of Object.entries(expected)) expect(await activity(subject.id, lang)).toEqual([line]);

    // Without the manifest's decisions nothing is said to be in clear or hidden; with nothing in clear, only that they are in it.
    const unknown = await customer(app, { country: 'FR' });
    const bare = await extractOf([unknown.id], new Date('2026-11-30T15:00:00.000Z'), { manifest: false });
    const masked = await extractOf([unknown.id], new Date('2026-11-30T16:00:00.000Z'), { fields: AI_FIELDS.slice(4) });
    expect(await activity(unknown.id)).toEqual([
      `30 Nov 2026, 16:00 UTC Churn model training included you in a data set for "Training AI models" (data set ${masked}); your email address was hidden.`,
      `30 Nov 2026, 15:00 UTC Churn model training included you in a data set for "Training AI models" (data set ${bare}); your email address, date of birth, our predictions about you and health interests were copied too, in clear or hidden (our record does not say which).`,
    ]);
  });

  it('pages the merged list by (time, kind, id): nothing shown twice, nothing skipped', async () => {
    const subject = await customer(app, { country: 'DE' });
    await app.graphql(`{ customer(id: "${subject.id}") { email } }`, { client: 'support-chatbot', purpose: 'support' });
    await accessRows(subject.id, 1);
    const at = await readAt(subject.id);
    // 18 newer extracts, then at the read's instant the read and two extracts, then one older: page 1 ends on a tied extract.
    const newer = [];
    for (let i = 18; i >= 1; i--) newer.push(await extractOf([subject.id], new Date(at.getTime() + i * 1000)));
    const tiedA = await extractOf([subject.id], at);
    const tiedB = await extractOf([subject.id], at);
    const older = await extractOf([subject.id], new Date(at.getTime() - 1000));
    const dataSet = (line: string) => line.match(/\(data set (\d+)\)/)?.[1] ?? 'read';

    const firstPage = await (await app.fetch(`${link(subject.id, '/consent-center/activity')}&lang=en`)).text();
    expect(entries(firstPage).map(dataSet)).toEqual([...newer, 'read', tiedB]);
    const next = firstPage.match(/<a href="([^"]+)">Older entries<\/a>/)?.[1].replace(/&amp;/g, '&');
    const secondPage = await (await app.fetch(next!)).text();
    expect(entries(secondPage).map(dataSet)).toEqual([tiedA, older]);
    expect(secondPage).not.toContain('Older entries');

    // One entry a page, cursor to cursor, gives the same list: a read cursor leaves the extracts of its instant, an extract cursor skips the read.
    const walked: string[] = [];
    let after: string | null = null;
    do {
      const page = await subjectActivityPage(app.db, subject.id, { first: 1, after });
      walked.push(...page.entries.map((e) => (e.kind === 'read' ? 'read' : e.extractId)));
      after = page.endCursor;
    } while (after);
    expect(walked).toEqual([...newer, 'read', tiedB, tiedA, older]);
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
