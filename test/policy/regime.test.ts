import { describe, expect, it } from 'vitest';
import { isMinor, regimeOf } from '../../src/policy/index.ts';

describe('regimeOf', () => {
  it.each([
    { country: 'DE', region: null, regime: 'GDPR' },
    { country: 'FR', region: 'IDF', regime: 'GDPR' },
    { country: 'GB', region: null, regime: 'GDPR' },
    { country: 'CH', region: null, regime: 'GDPR' },
    { country: 'NO', region: null, regime: 'GDPR' },
    { country: ' de ', region: null, regime: 'GDPR' },
    { country: 'US', region: 'CA', regime: 'CCPA' },
    { country: 'us', region: 'ca', regime: 'CCPA' },
    { country: 'US', region: 'VA', regime: 'US_STATE' },
    { country: 'US', region: 'TX', regime: 'US_STATE' },
    { country: 'US', region: null, regime: 'NONE' },
    { country: 'US', region: '', regime: 'NONE' },
    { country: null, region: null, regime: 'NONE' },
    { country: undefined, region: 'CA', regime: 'NONE' },
    { country: '', region: null, regime: 'NONE' },
    { country: 'JP', region: null, regime: 'NONE' },
    { country: 'CA', region: null, regime: 'NONE' },
  ] as const)('$country/$region → $regime', ({ country, region, regime }) => {
    expect(regimeOf(country, region)).toBe(regime);
    expect(regimeOf(country, region, 'per-jurisdiction')).toBe(regime);
  });

  it.each([
    ['US', 'CA'],
    ['US', 'VA'],
    ['JP', null],
    [null, null],
    ['DE', null],
  ] as const)('strictest mode treats %s/%s as GDPR', (country, region) => {
    expect(regimeOf(country, region, 'strictest')).toBe('GDPR');
  });
});

describe('isMinor', () => {
  const now = new Date('2026-06-01T00:00:00Z');
  it.each([
    { birth: '2010-06-02T00:00:00Z', minor: true },
    { birth: '2010-06-01T00:00:00Z', minor: false },
    { birth: '2010-05-31T00:00:00Z', minor: false },
    { birth: '2015-01-01T00:00:00Z', minor: true },
    { birth: '1987-05-04T00:00:00Z', minor: false },
    { birth: null, minor: false },
  ])('born $birth → minor: $minor', ({ birth, minor }) => {
    expect(isMinor(birth === null ? null : new Date(birth), now)).toBe(minor);
  });

  it('treats an unknown birth date as not a minor', () => {
    expect(isMinor(undefined, now)).toBe(false);
  });
});
