import { isObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { decideNotice, PURPOSES } from '../../src/policy/index.ts';
import { noticeOf } from '../../src/propagation/notice.ts';
import { erasureNotice } from '../../src/rights/erase.ts';
import { TAG_EXTENSION, type FieldTag } from '../../src/schema/consent-plugin/index.ts';
import { buildSchema } from '../../src/schema/index.ts';
import { testMasker } from '../support/app.ts';

// A webhook notice is built outside GraphQL execution: it must carry exactly
// what the ConsentChange type's tags let a consumer of any purpose read.

const change = {
  eventId: '42',
  customerId: '00000000-0000-4000-8000-000000000001',
  externalId: 'CRM-1',
  purpose: 'marketing',
  purposeVersion: 1,
  action: 'WITHDRAW' as const,
  regime: 'GDPR' as const,
  sensitive: false,
  source: 'EMAIL_LINK' as const,
  noticeVersion: null,
  expiresAt: null,
  recordedAt: '2026-11-30T12:00:00.000Z',
};

describe('webhook notices', () => {
  it('carry exactly the ConsentChange fields a consumer of the purpose may read (cursor and type travel in headers and envelope)', () => {
    const type = buildSchema().getType('ConsentChange');
    if (!isObjectType(type)) throw new Error('ConsentChange is missing');
    const notice = noticeOf(change, testMasker());
    for (const purpose of PURPOSES.filter((p) => p.key !== 'consent_management')) {
      const readable = Object.values(type.getFields())
        .filter((field) => {
          const tag = field.extensions?.[TAG_EXTENSION] as FieldTag | 'pseudonym' | 'surrogate-key';
          return tag === 'pseudonym' || (typeof tag === 'object' && decideNotice(purpose, tag).effect === 'allow');
        })
        .map((field) => field.name)
        .filter((name) => name !== 'cursor' && name !== 'type');
      expect(Object.keys(notice).sort(), purpose.key).toEqual(readable.sort());
    }
  });

  it('name the subject by its pseudonym under the change purpose, never by id', () => {
    const notice = noticeOf(change, testMasker());
    expect(notice.subject).toBe(testMasker().pseudonym(change.customerId, 'marketing'));
    expect(notice.subject).not.toBe(testMasker().pseudonym(change.customerId, 'analytics'));
    expect(JSON.stringify(notice)).not.toMatch(/00000000-0000|CRM-1|GDPR|EMAIL_LINK/);
  });

  it("of an erasure carry the pseudonym computed at erasure, the extracts, and the flag (the subject's id is gone)", () => {
    const masker = testMasker();
    const erased = erasureNotice(masker, change.customerId, { key: 'marketing', version: 1 }, ['7', '9'], new Date(change.recordedAt));
    expect(erased.customerId).toBeNull();
    expect(noticeOf(erased, masker)).toEqual({
      subject: masker.pseudonym(change.customerId, 'marketing'),
      purpose: 'marketing',
      purposeVersion: 1,
      action: 'WITHDRAW',
      recordedAt: change.recordedAt,
      erased: true,
      extracts: ['7', '9'],
    });
    expect(JSON.stringify(erased)).not.toContain(change.customerId);
  });
});
