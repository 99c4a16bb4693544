import { describe, expect, it } from 'vitest';
import { RowDecider } from '../../src/extracts/decide-rows.ts';
import { resolveFields } from '../../src/extracts/fields.ts';
import { findPurpose, isMinor } from '../../src/policy/index.ts';
import { buildSchema } from '../../src/schema/index.ts';
import { testMasker } from '../support/app.ts';

// The check every row gets again after the SQL filter (fail closed): a row the
// filter should never have let through is withheld, counted and named for
// removal from the lineage, never written.

const purpose = findPurpose('ai_training')!;
const fields = resolveFields(buildSchema(), ['Customer.churnScore', 'Customer.email', 'Customer.healthInterests']);
const now = new Date('2026-12-01T00:00:00Z');
const ID = '00000000-0000-4000-8000-000000000001';
/** As the rows statement returns it: id, country, region, birth date, consent states, then the fields. */
const row = (states: string | null, id = ID) => [id, 'DE', null, '1980-02-03', states, 0.5, 'a@example.com', ['diabetes']];

describe('row decisions after the SQL filter', () => {
  it('withholds a row the policy gives no basis (here: withdrawn), whatever the SQL said', () => {
    const decider = new RowDecider(purpose, 'per-jurisdiction', now, fields, testMasker());
    expect(decider.decide(row('GDPR,0,WITHDRAW,1,'))).toBeNull();
    expect(decider.decide(row(null, '00000000-0000-4000-8000-000000000002'))).toBeNull();
    // The next record of the same subject is withheld too, and not counted again.
    expect(decider.decide(row(null, '00000000-0000-4000-8000-000000000002'))).toBeNull();
    expect(Object.fromEntries(decider.withheld)).toEqual({ WITHDRAWN: 1, NO_CONSENT: 1 });
    expect(decider.withheldIds).toHaveLength(2);
  });

  it('masks what does not serve the purpose, and sensitive data without its own consent', () => {
    const decider = new RowDecider(purpose, 'per-jurisdiction', now, fields, testMasker());
    const masker = testMasker();
    const granted = decider.decide(row('GDPR,0,GRANT,1,'));
    expect(granted).toEqual([
      masker.pseudonym(ID, 'ai_training'),
      0.5,
      masker.apply({ strategy: 'hmac' }, 'a@example.com', 'ai_training'),
      null,
    ]);
    const withSensitive = decider.decide(row('GDPR,0,GRANT,1,;GDPR,1,GRANT,1,'));
    expect(withSensitive?.[3]).toEqual(['diabetes']);
    // An expired grant is no grant.
    expect(decider.decide(row(`GDPR,0,GRANT,1,${now.getTime() - 1}`))).toBeNull();
    expect(decider.maskedRows).toEqual([0, 2, 1]);
  });
});

describe('minors', () => {
  // CCPA sale/sharing: adults until they opt out, under-16s only with an opt-in. A row
  // without consent is therefore kept exactly when its subject is not a minor.
  const adSharing = findPurpose('ad_sharing')!;
  const fields = resolveFields(buildSchema(), ['Customer.segment']);
  for (const instant of ['2026-12-01T10:00:00.000Z', '2028-02-29T00:00:00.000Z', '2027-03-01T00:00:00.000Z', '2026-12-31T23:59:59.999Z']) {
    it(`are told apart as isMinor does, every day around the sixteenth birthday (now ${instant})`, () => {
      const now = new Date(instant);
      const decider = new RowDecider(adSharing, 'per-jurisdiction', now, fields, testMasker());
      const day = new Date(Date.UTC(now.getUTCFullYear() - 17, 0, 1));
      let n = 0;
      while (day.getUTCFullYear() < now.getUTCFullYear() - 15) {
        const birth = day.toISOString().slice(0, 10);
        const id = `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
        const kept = decider.decide([id, 'US', 'CA', birth, null, 'value']) !== null;
        expect(kept, birth).toBe(!isMinor(new Date(`${birth}T00:00:00.000Z`), now));
        day.setUTCDate(day.getUTCDate() + 1);
      }
    });
  }
});
