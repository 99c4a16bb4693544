import { describe, expect, it } from 'vitest';
import { createHmac, hkdfSync } from 'node:crypto';
import { parseHmacKeys } from '../../src/masking/keyring.ts';
import { createTokenizer } from '../../src/masking/hmac.ts';
import type { HmacKeyring } from '../../src/masking/types.ts';
import { consentCenterUrl, createFormToken, createLinkToken, linkExpiry, verifyFormToken, verifyLinkToken } from '../../src/web/links.ts';

const secret = (c: string) => Buffer.from(c.repeat(40), 'utf8');
const k1: HmacKeyring = { current: { id: 'k1', secret: secret('a') }, previous: [] };
const k2: HmacKeyring = { current: { id: 'k2', secret: secret('b') }, previous: [] };
const rotated: HmacKeyring = { current: { id: 'k2', secret: secret('b') }, previous: [k1.current] };
const customerId = '6f1c2b1e-8a2d-4b5e-9c3f-0123456789ab';
const now = new Date('2026-12-01T12:00:00Z');
const inAWeek = linkExpiry(now, 7);

describe('consent-center link tokens', () => {
  it('verifies a token it made, with the customer and the expiry', () => {
    const token = createLinkToken(k1, customerId, inAWeek);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.k1\.[A-Za-z0-9_-]{43}$/);
    expect(verifyLinkToken(k1, token, now)).toEqual({ valid: true, customerId, expiresAt: inAWeek, keyId: 'k1' });
  });

  it('carries base64url(customerId.expiry) as its payload', () => {
    const [payload] = createLinkToken(k1, customerId, inAWeek).split('.');
    expect(Buffer.from(payload, 'base64url').toString()).toBe(`${customerId}.${inAWeek.getTime() / 1000}`);
  });

  it('refuses an expired token, at and after the expiry second', () => {
    const token = createLinkToken(k1, customerId, inAWeek);
    expect(verifyLinkToken(k1, token, inAWeek)).toEqual({ valid: false, reason: 'EXPIRED' });
    expect(verifyLinkToken(k1, token, new Date(inAWeek.getTime() + 86_400_000))).toEqual({ valid: false, reason: 'EXPIRED' });
    expect(verifyLinkToken(k1, token, new Date(inAWeek.getTime() - 1000)).valid).toBe(true);
  });

  it('refuses a token signed with another key, even under the same key id', () => {
    const other: HmacKeyring = { current: { id: 'k1', secret: secret('z') }, previous: [] };
    expect(verifyLinkToken(k1, createLinkToken(other, customerId, inAWeek), now)).toEqual({ valid: false, reason: 'BAD_SIGNATURE' });
    expect(verifyLinkToken(k1, createLinkToken(k2, customerId, inAWeek), now)).toEqual({ valid: false, reason: 'UNKNOWN_KEY' });
  });

  it('keeps links made before a key rotation working while the old key stays in the keyring', () => {
    const before = createLinkToken(k1, customerId, inAWeek);
    expect(verifyLinkToken(rotated, before, now)).toMatchObject({ valid: true, keyId: 'k1' });
    expect(verifyLinkToken(rotated, createLinkToken(rotated, customerId, inAWeek), now)).toMatchObject({ valid: true, keyId: 'k2' });
  });

  it('refuses a tampered payload: another customer, a later expiry', () => {
    const [, kid, sig] = createLinkToken(k1, customerId, inAWeek).split('.');
    const otherCustomer = Buffer.from(`${customerId.replace(/^6/, '7')}.${inAWeek.getTime() / 1000}`).toString('base64url');
    const later = Buffer.from(`${customerId}.${inAWeek.getTime() / 1000 + 86_400 * 365}`).toString('base64url');
    expect(verifyLinkToken(k1, `${otherCustomer}.${kid}.${sig}`, now)).toEqual({ valid: false, reason: 'BAD_SIGNATURE' });
    expect(verifyLinkToken(k1, `${later}.${kid}.${sig}`, now)).toEqual({ valid: false, reason: 'BAD_SIGNATURE' });
  });

  it('refuses a forged signature and malformed input', () => {
    const [payload, kid, sig] = createLinkToken(k1, customerId, inAWeek).split('.');
    const flipped = sig.slice(0, -1) + (sig.endsWith('A') ? 'B' : 'A');
    expect(verifyLinkToken(k1, `${payload}.${kid}.${flipped}`, now)).toEqual({ valid: false, reason: 'BAD_SIGNATURE' });
    expect(verifyLinkToken(k1, `${payload}.${kid}.${sig.slice(0, 20)}`, now)).toEqual({ valid: false, reason: 'BAD_SIGNATURE' });
    // A signature made with the raw secret instead of the derived link key.
    const raw = createHmac('sha256', k1.current.secret).update(`cc1.k1.${payload}`).digest('base64url');
    expect(verifyLinkToken(k1, `${payload}.k1.${raw}`, now)).toEqual({ valid: false, reason: 'BAD_SIGNATURE' });
    for (const bad of [
      undefined,
      null,
      '',
      'abc',
      `${payload}.${kid}`,
      `${payload}.${kid}.${sig}.x`,
      `${payload}.${kid}.<script>`,
      'a'.repeat(600),
    ]) {
      expect(verifyLinkToken(k1, bad, now)).toEqual({ valid: false, reason: 'MALFORMED' });
    }
  });

  it('refuses a correctly signed payload that is not a customer id and an expiry', () => {
    const payload = Buffer.from('CRM-EU-NO-MARKETING.99999999999').toString('base64url');
    const key = Buffer.from(hkdfSync('sha256', k1.current.secret, 'consentql', 'consentql:consent-center-link', 32));
    const sig = createHmac('sha256', key).update(`cc1.k1.${payload}`).digest('base64url');
    expect(verifyLinkToken(k1, `${payload}.k1.${sig}`, now)).toEqual({ valid: false, reason: 'MALFORMED' });
  });

  it('never signs like a mask token of the same secret', () => {
    const token = createLinkToken(k1, customerId, inAWeek);
    const [payload, , sig] = token.split('.');
    const tokenize = createTokenizer(k1);
    for (const purpose of ['consent-center-link', 'marketing']) {
      expect(tokenize(`cc1.k1.${payload}`, purpose)).not.toContain(sig.slice(0, 22));
    }
  });

  it('refuses to sign anything but a customer UUID, naming what it got', () => {
    expect(() => createLinkToken(k1, 'CRM-100001', inAWeek)).toThrow(/expects a customer UUID, but got "CRM-100001"/);
  });

  it('builds the link beside /graphql', () => {
    expect(consentCenterUrl('http://localhost:4000/graphql', 'a.b.c')).toBe('http://localhost:4000/consent-center?token=a.b.c');
  });

  it('works with the development keyring', () => {
    const dev = parseHmacKeys(undefined, { production: false });
    expect(verifyLinkToken(dev, createLinkToken(dev, customerId, inAWeek), now).valid).toBe(true);
  });
});

describe('form tokens (CSRF defence)', () => {
  it('verifies for the subject it was made for, returning its nonce', () => {
    const token = createFormToken(k1, customerId, 'nonce123');
    expect(verifyFormToken(k1, customerId, token)).toBe('nonce123');
    expect(verifyFormToken(rotated, customerId, token)).toBe('nonce123');
  });

  it('refuses another subject, another key, a link signature and tampering', () => {
    const token = createFormToken(k1, customerId);
    expect(verifyFormToken(k1, customerId.replace(/^6/, '7'), token)).toBeNull();
    expect(verifyFormToken(k2, customerId, token)).toBeNull();
    expect(verifyFormToken(k1, customerId, `other.${token.split('.')[1]}`)).toBeNull();
    for (const bad of [undefined, null, '', 'x', `${token}.x`]) expect(verifyFormToken(k1, customerId, bad)).toBeNull();
  });

  it('makes a fresh nonce for every form', () => {
    const a = createFormToken(k1, customerId);
    const b = createFormToken(k1, customerId);
    expect(a.split('.')[0]).not.toBe(b.split('.')[0]);
  });
});
