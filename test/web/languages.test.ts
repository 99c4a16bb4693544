import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.ts';
import { customer, formFor, link, post, stateOf, statusOf } from './support.ts';
import { fromAcceptLanguage, negotiateLocale } from '../../src/web/i18n/index.ts';

// The consent center in English, German, French and Spanish: from the
// customer record, else the browser, switchable on the page and remembered.

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

const page = async (path: string, headers: Record<string, string> = {}) => {
  const response = await app.fetch(path, { headers });
  return { response, body: await response.text() };
};

describe('choosing the language', () => {
  it('reads Accept-Language by its q-values and falls back to English', () => {
    expect(fromAcceptLanguage('nl-NL, fr;q=0.8, de;q=0.9')).toBe('de');
    expect(fromAcceptLanguage('es-MX,es;q=0.9,en;q=0.8')).toBe('es');
    expect(fromAcceptLanguage('de;q=0, fr')).toBe('fr');
    expect(fromAcceptLanguage('nl, ja')).toBeNull();
    expect(negotiateLocale({ chosen: 'xx', cookie: 'a=b', preferred: 'nl', acceptLanguage: 'ja' })).toBe('en');
    expect(negotiateLocale({ chosen: null, cookie: 'consentql_lang=es', preferred: 'de', acceptLanguage: 'fr' })).toBe('es');
    expect(negotiateLocale({ preferred: 'de-AT', acceptLanguage: 'fr' })).toBe('de');
  });

  it("speaks the customer's preferred language, with every text of the page and the purposes translated", async () => {
    const subject = await customer(app, { country: 'DE' }, { firstName: 'Jonas', preferredLanguage: 'de' });
    const { body } = await page(link(subject.id), { 'accept-language': 'fr' });
    expect(body).toMatch(/^<!doctype html>\n<html lang="de">/);
    expect(body).toContain('<title>Ihre Datenschutz-Einstellungen</title>');
    expect(body).toContain('Hallo Jonas Subject.');
    expect(body).toContain('Datenschutz-Grundverordnung');
    expect(body).toContain('<legend>Werbenachrichten</legend>');
    expect(body).toContain('Ihnen Angebote und Newsletter per E-Mail oder SMS senden.');
    expect(body).toContain('<h3>Kundenservice</h3>');
    expect(stateOf(body, 'marketing')).toBe('Aus Nicht verwendet, bis Sie zustimmen');
    expect(body).toContain('>Einwilligen</button>');
    expect(body).toContain('Zu Ihren Einstellungen springen');
    // No English sentence of the page is left (names of the languages aside).
    for (const english of ['Your privacy choices', 'Marketing messages', 'Needed to serve you', 'Give consent', 'Withdraw everything']) {
      expect(body).not.toContain(english);
    }
  });

  it("falls back to the browser's language, then to English", async () => {
    const subject = await customer(app, { country: 'ES' });
    const spanish = await page(link(subject.id), { 'accept-language': 'es-ES,es;q=0.9,en;q=0.5' });
    expect(spanish.body).toContain('<html lang="es">');
    expect(spanish.body).toContain('<legend>Mensajes de marketing</legend>');
    const dutch = await page(link(subject.id), { 'accept-language': 'nl' });
    expect(dutch.body).toContain('<html lang="en">');
    expect(dutch.body).toContain('<legend>Marketing messages</legend>');
  });

  it('switches by a link that keeps the signed token, remembers the choice, and keeps it through a save', async () => {
    const subject = await customer(app, { country: 'FR' }, { preferredLanguage: 'de' });
    const first = await page(link(subject.id));
    const french = first.body.match(/<a href="(\/consent-center\?token=[^"]+&amp;lang=fr)" lang="fr" hreflang="fr">Français<\/a>/)?.[1];
    expect(french).toBeDefined();
    const switched = await page(french!.replace(/&amp;/g, '&'));
    expect(switched.body).toContain('<html lang="fr">');
    expect(switched.body).toContain('<legend>Messages marketing</legend>');
    const cookie = switched.response.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^consentql_lang=fr; Path=\/consent-center; Max-Age=31536000; SameSite=Lax; HttpOnly$/);
    expect(switched.body).toMatch(/<a href="[^"]*lang=fr" lang="fr" hreflang="fr" aria-current="true">Français<\/a>/);
    // The next visit, with the cookie and without the parameter, stays in French.
    const again = await page(link(subject.id), { cookie: 'consentql_lang=fr' });
    expect(again.body).toContain('<html lang="fr">');
    // A save keeps the language, cookie or not: the form carries it into the redirect.
    const form = formFor(switched.body, 'marketing');
    expect(form.get('lang')).toBe('fr');
    const saved = await post(app, form);
    expect(saved.headers.get('location')).toMatch(/&lang=fr&saved=marketing$/);
    const after = await page(saved.headers.get('location')!);
    expect(statusOf(after.body)).toBe('Enregistré : « Messages marketing » est maintenant activé. Aller à « Messages marketing »');
    expect(stateOf(after.body, 'marketing')).toMatch(/^Oui Consentement donné le \d{1,2} \S+ \d{4}$/);
    expect(after.body).toMatch(
      /<td>\d{1,2} \S+\.? \d{4}, \d\d:\d\d UTC<\/td><td>Messages marketing : consentement donné<\/td><td>Cette page<\/td>/,
    );
  });

  it('formats dates per language', async () => {
    const subject = await customer(app, { country: 'DE' });
    const tokenPath = link(subject.id);
    await post(app, formFor((await page(`${tokenPath}&lang=en`)).body, 'analytics'));
    const year = new Date().getUTCFullYear();
    const month = (locale: string) => new Intl.DateTimeFormat(locale, { month: 'long', timeZone: 'UTC' }).format(new Date());
    const expected = { en: month('en-GB'), de: month('de'), fr: month('fr'), es: month('es') };
    for (const [lang, name] of Object.entries(expected)) {
      const state = stateOf((await page(`${tokenPath}&lang=${lang}`)).body, 'analytics');
      expect(state).toContain(`${name} ${lang === 'es' ? 'de ' : ''}${year}`);
    }
  });

  it('shows refusals and invalid links in the browser language', async () => {
    const invalid = await page('/consent-center?token=forged', { 'accept-language': 'es' });
    expect(invalid.response.status).toBe(403);
    expect(invalid.body).toContain('<html lang="es">');
    expect(invalid.body).toContain('Este enlace no es válido o ha caducado');
    const subject = await customer(app, { country: 'DE' });
    const form = formFor((await page(link(subject.id))).body, 'marketing');
    form.set('form', 'made-up.nonce');
    const refused = await app.fetch('/consent-center', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'accept-language': 'de-CH', cookie: 'consentql_lang=fr' },
      body: form.toString(),
    });
    expect(refused.status).toBe(403);
    const body = await refused.text();
    expect(body).toContain('<html lang="fr">');
    expect(body).toContain('Votre choix n’a pas été enregistré');
  });
});

describe('the catalogs', () => {
  it('translate every purpose of the taxonomy in every language', async () => {
    const { PURPOSES } = await import('../../src/policy/taxonomy.ts');
    const { CATALOGS, LOCALES } = await import('../../src/web/i18n/index.ts');
    for (const purpose of PURPOSES) {
      expect(CATALOGS.en.purposes[purpose.key]).toEqual({ title: purpose.title, description: purpose.description });
      for (const locale of LOCALES.filter((l) => l !== 'en')) {
        const text = CATALOGS[locale].purposes[purpose.key];
        expect(text?.title, `${locale} ${purpose.key}`).toBeTruthy();
        expect(text.title).not.toBe(purpose.title);
        expect(text.description).not.toBe(purpose.description);
      }
    }
  });
});
