import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import {
  DEV_KEY_ID,
  REDACTED,
  createMasker,
  maskFitsType,
  parseHmacKeys,
  type HmacKeyring,
  type MaskSpec,
  type MaskableType,
} from '../../src/masking/index.ts';
import { createTokenizer } from '../../src/masking/hmac.ts';

const SECRET = 'an-example-secret-that-is-long-enough-0123456789';
const keyring = (id = 'k1', secret = SECRET): HmacKeyring => ({ current: { id, secret: Buffer.from(secret) }, previous: [] });
const masker = createMasker(keyring());

describe('masks', () => {
  it.each<{ spec: MaskSpec; value: unknown; masked: unknown }>([
    { spec: { strategy: 'null' }, value: 'jane.doe@example.com', masked: null },
    { spec: { strategy: 'null' }, value: 42, masked: null },
    { spec: { strategy: 'null' }, value: ['a', 'b'], masked: null },
    { spec: { strategy: 'redact' }, value: 'Jane Doe', masked: REDACTED },
    { spec: { strategy: 'redact' }, value: '', masked: REDACTED },
    { spec: { strategy: 'redact' }, value: ['vegan', 'diabetic'], masked: [REDACTED] },
    { spec: { strategy: 'partial', kind: 'email' }, value: 'jane.doe@example.com', masked: 'j***@example.com' },
    { spec: { strategy: 'partial', kind: 'email' }, value: 'j@example.com', masked: 'j***@example.com' },
    { spec: { strategy: 'partial', kind: 'email' }, value: 'not-an-email', masked: 'n***' },
    { spec: { strategy: 'partial', kind: 'email' }, value: '@example.com', masked: '@***' },
    { spec: { strategy: 'partial', kind: 'phone' }, value: '+1 (555) 123-4567', masked: '***4567' },
    { spec: { strategy: 'partial', kind: 'phone' }, value: '+49 30 1234567', masked: '***4567' },
    { spec: { strategy: 'partial', kind: 'phone' }, value: '4567', masked: '***' },
    { spec: { strategy: 'partial', kind: 'text' }, value: 'Jane', masked: 'J***' },
    { spec: { strategy: 'partial', kind: 'text' }, value: 'Émilie', masked: 'É***' },
    { spec: { strategy: 'partial', kind: 'text' }, value: '😀 smile', masked: '😀***' },
    { spec: { strategy: 'partial', kind: 'text' }, value: '', masked: '***' },
    { spec: { strategy: 'generalize', kind: 'year' }, value: '1987-05-04', masked: '1987' },
    { spec: { strategy: 'generalize', kind: 'year' }, value: '1987-12-31T23:30:00-05:00', masked: '1987' },
    { spec: { strategy: 'generalize', kind: 'year' }, value: new Date('1987-05-04T00:00:00Z'), masked: '1987' },
    { spec: { strategy: 'generalize', kind: 'year' }, value: new Date('nonsense'), masked: null },
    { spec: { strategy: 'generalize', kind: 'year' }, value: '1987', masked: null },
    { spec: { strategy: 'generalize', kind: 'year' }, value: 'yesterday', masked: null },
    { spec: { strategy: 'generalize', kind: 'prefix' }, value: '10115', masked: '10***' },
    { spec: { strategy: 'generalize', kind: 'prefix', length: 3 }, value: '94103', masked: '941**' },
    { spec: { strategy: 'generalize', kind: 'prefix', length: 2 }, value: 'SW1A 1AA', masked: 'SW******' },
    { spec: { strategy: 'generalize', kind: 'prefix', length: 5 }, value: '10115', masked: '1011*' },
    { spec: { strategy: 'generalize', kind: 'prefix' }, value: 'A', masked: '*' },
    { spec: { strategy: 'generalize', kind: 'region' }, value: '52.5200,13.4050', masked: '53,13' },
    { spec: { strategy: 'generalize', kind: 'region' }, value: '52.3700,13.4050', masked: '52,13' },
    { spec: { strategy: 'generalize', kind: 'region' }, value: '37.7749, -122.4194', masked: '38,-122' },
    { spec: { strategy: 'generalize', kind: 'region' }, value: '-0.2,0.4', masked: '0,0' },
    { spec: { strategy: 'generalize', kind: 'region' }, value: '95.1,13.4', masked: null },
    { spec: { strategy: 'generalize', kind: 'region' }, value: 'Berlin', masked: null },
    // A value of a shape the mask does not expect masks to null, never to itself.
    { spec: { strategy: 'hmac' }, value: 12345, masked: null },
    { spec: { strategy: 'partial', kind: 'phone' }, value: 5551234567, masked: null },
    { spec: { strategy: 'generalize', kind: 'prefix' }, value: { code: '10115' }, masked: null },
    { spec: { strategy: 'shred' } as unknown as MaskSpec, value: 'secret', masked: null },
    { spec: { strategy: 'partial', kind: 'iban' } as unknown as MaskSpec, value: 'DE89370400440532013000', masked: null },
  ])('$spec.strategy $spec.kind: $value → $masked', ({ spec, value, masked }) => {
    expect(masker.apply(spec, value, 'marketing')).toEqual(masked);
  });

  it.each<MaskSpec>([
    { strategy: 'null' },
    { strategy: 'redact' },
    { strategy: 'hmac' },
    { strategy: 'partial', kind: 'email' },
    { strategy: 'partial', kind: 'phone' },
    { strategy: 'partial', kind: 'text' },
    { strategy: 'generalize', kind: 'year' },
    { strategy: 'generalize', kind: 'prefix' },
    { strategy: 'generalize', kind: 'region' },
  ])('$strategy $kind masks null and undefined to null', (spec) => {
    expect(masker.apply(spec, null, 'marketing')).toBeNull();
    expect(masker.apply(spec, undefined, 'marketing')).toBeNull();
  });
});

describe('hmac', () => {
  const hmac: MaskSpec = { strategy: 'hmac' };
  const token = (value: string, purpose = 'analytics', m = masker) => m.apply(hmac, value, purpose) as string;

  it('has the format hmac:<key id>:<22 base64url characters>', () => {
    expect(token('jane.doe@example.com')).toMatch(/^hmac:k1:[A-Za-z0-9_-]{22}$/);
  });

  it('is stable for the same value and purpose, also across maskers with the same key', () => {
    expect(token('jane.doe@example.com')).toBe(token('jane.doe@example.com'));
    expect(token('jane.doe@example.com', 'analytics', createMasker(keyring()))).toBe(token('jane.doe@example.com'));
  });

  it('differs between values', () => {
    expect(token('jane.doe@example.com')).not.toBe(token('john.doe@example.com'));
  });

  it('differs between purposes, so tokens cannot be joined across purposes', () => {
    expect(token('jane.doe@example.com', 'analytics')).not.toBe(token('jane.doe@example.com', 'ai_training'));
  });

  it('is not a plain hash of the value', () => {
    const value = 'jane.doe@example.com';
    const digest = token(value).split(':')[2];
    for (const encoding of ['base64url', 'base64', 'hex'] as const) {
      expect(createHash('sha256').update(value).digest(encoding)).not.toContain(digest);
    }
  });

  it('changes with the key: a rotated current key gives new tokens under its own id', () => {
    const rotated = createMasker(keyring('k2', `${SECRET}-rotated`));
    const after = token('jane.doe@example.com', 'analytics', rotated);
    expect(after).toMatch(/^hmac:k2:/);
    expect(after.split(':')[2]).not.toBe(token('jane.doe@example.com').split(':')[2]);
  });

  it('keeps giving the same token once its bounded cache evicts entries', () => {
    const tokenize = createTokenizer(keyring(), 3);
    const first = tokenize('value-0', 'analytics');
    for (let i = 1; i <= 10; i++) tokenize(`value-${i}`, 'analytics');
    expect(tokenize('value-0', 'analytics')).toBe(first);
    expect(first).toBe(token('value-0'));
  });
});

describe('maskFitsType', () => {
  const ALL: MaskableType[] = ['String', '[String]', 'Int', 'Float', 'Boolean', 'ID', 'DateTime', 'Decimal', 'object', 'list'];
  const fitting = (spec: MaskSpec) => ALL.filter((t) => maskFitsType(spec, t) === null);

  it.each<{ spec: MaskSpec; fits: MaskableType[] }>([
    { spec: { strategy: 'null' }, fits: ALL },
    { spec: { strategy: 'redact' }, fits: ['String', '[String]'] },
    { spec: { strategy: 'hmac' }, fits: ['String'] },
    { spec: { strategy: 'partial', kind: 'email' }, fits: ['String'] },
    { spec: { strategy: 'partial', kind: 'phone' }, fits: ['String'] },
    { spec: { strategy: 'partial', kind: 'text' }, fits: ['String'] },
    { spec: { strategy: 'generalize', kind: 'year' }, fits: ['String'] },
    { spec: { strategy: 'generalize', kind: 'prefix', length: 3 }, fits: ['String'] },
    { spec: { strategy: 'generalize', kind: 'region' }, fits: ['String'] },
  ])('$spec.strategy $spec.kind fits $fits', ({ spec, fits }) => {
    expect(fitting(spec)).toEqual(fits);
  });

  it('says what fits when a mask does not', () => {
    expect(maskFitsType({ strategy: 'hmac' }, 'Int')).toBe(
      "mask 'hmac' fits String fields only, but the field is Int; use { strategy: 'null' } for a Int field",
    );
    expect(maskFitsType({ strategy: 'redact' }, 'DateTime')).toBe(
      "mask 'redact' fits String and [String] fields only, but the field is DateTime; use { strategy: 'null' } for a DateTime field",
    );
  });

  it.each([
    { spec: { strategy: 'shred' }, message: 'mask strategy must be one of null, redact, hmac, partial, generalize, but got: "shred"' },
    { spec: {}, message: 'mask strategy must be one of null, redact, hmac, partial, generalize, but got: undefined' },
    {
      spec: { strategy: 'toString' },
      message: 'mask strategy must be one of null, redact, hmac, partial, generalize, but got: "toString"',
    },
    { spec: { strategy: 'partial', kind: 'iban' }, message: `mask 'partial' needs kind 'email', 'phone' or 'text', but got: "iban"` },
    {
      spec: { strategy: 'generalize', kind: 'month' },
      message: `mask 'generalize' needs kind 'year', 'prefix' or 'region', but got: "month"`,
    },
    { spec: { strategy: 'generalize', kind: 'prefix', length: 0 }, message: expect.stringContaining('as a whole number of at least 1') },
    {
      spec: { strategy: 'generalize', kind: 'year', length: 2 },
      message: expect.stringContaining("takes a length only with kind 'prefix'"),
    },
  ])('rejects a malformed spec: $spec', ({ spec, message }) => {
    expect(maskFitsType(spec as unknown as MaskSpec, 'String')).toEqual(message);
  });
});

describe('parseHmacKeys', () => {
  const long = (c: string) => c.repeat(32);

  it('takes the first key as current and keeps the rest, newest first', () => {
    const ring = parseHmacKeys(`k2:${long('b')},k1:${long('a')}`, { production: true });
    expect(ring.current).toEqual({ id: 'k2', secret: Buffer.from(long('b')) });
    expect(ring.previous).toEqual([{ id: 'k1', secret: Buffer.from(long('a')) }]);
  });

  it('keeps a ":" inside a secret', () => {
    expect(parseHmacKeys(`k1:${long('a')}:more`, { production: true }).current.secret.toString()).toBe(`${long('a')}:more`);
  });

  it.each([undefined, '', '  '])('requires a key in production (got %j)', (env) => {
    expect(() => parseHmacKeys(env, { production: true })).toThrow(
      /^CONSENTQL_HMAC_KEYS must hold 'keyId:secret' pairs .* but it is not set\. Set it before starting in production\./,
    );
  });

  it('requires a secret of 32 characters in production, without echoing it', () => {
    const attempt = () => parseHmacKeys('k1:short-secret', { production: true });
    expect(attempt).toThrow(/at least 32 characters .* but key 'k1' has a 12-character secret\. Generate a longer secret\./);
    expect(attempt).not.toThrow(/short-secret/);
  });

  it('names the variable it was given', () => {
    expect(() => parseHmacKeys(undefined, { production: true, envName: 'HMAC_SECRETS' })).toThrow(/^HMAC_SECRETS must hold/);
  });

  it.each([
    { env: `nokeyid${long('a')}`, problem: 'entry 1 has no ":"' },
    { env: `:${long('a')}`, problem: 'entry 1 has key id ""' },
    { env: `k1:${long('a')},bad id:${long('b')}`, problem: 'entry 2 has key id "bad id"' },
    { env: `k1:${long('a')},k1:${long('b')}`, problem: "key id 'k1' appears twice" },
  ])('rejects a malformed value in every mode: $problem', ({ env, problem }) => {
    for (const production of [true, false]) {
      expect(() => parseHmacKeys(env, { production })).toThrow(problem);
    }
  });

  it('falls back to the development key outside production, loudly', () => {
    const log = vi.fn();
    const ring = parseHmacKeys(undefined, { production: false, log });
    expect(ring.current.id).toBe(DEV_KEY_ID);
    expect(ring.current.secret.length).toBeGreaterThanOrEqual(32);
    expect(ring.previous).toEqual([]);
    expect(log).toHaveBeenCalledOnce();
    expect(log.mock.calls[0][0]).toMatch(/^WARNING: CONSENTQL_HMAC_KEYS is not set; .* development key 'dev'/);
    expect(parseHmacKeys(undefined, { production: false }).current).toEqual(ring.current);
  });

  it('accepts a short secret outside production with a warning', () => {
    const log = vi.fn();
    expect(parseHmacKeys('k1:short', { production: false, log }).current.id).toBe('k1');
    expect(log).toHaveBeenCalledWith(expect.stringMatching(/^WARNING: key 'k1' has a 5-character secret/));
  });
});
