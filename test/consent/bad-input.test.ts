import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.ts';
import { createSubject, GRANT, ledgerRows, WITHDRAW } from './support.ts';

let app: TestApp;
let subjectId: string;
beforeAll(async () => {
  app = await createTestApp();
  subjectId = (await createSubject(app.db, { country: 'DE' })).id;
});
afterAll(() => app.close());

const base = () => ({ subject: { id: subjectId }, purposes: ['marketing'], source: 'CONSENT_CENTER', noticeVersion: 'v1' });

/** A refused request answers with a code and a message that says what to do, and records nothing. */
async function refused(query: string, input: Record<string, unknown>, code: string, message: RegExp, status = 400) {
  const before = await ledgerRows(app.db, subjectId);
  const result = await app.graphql(query, { client: 'consent-center', purpose: 'consent_management', variables: { input } });
  expect(result.body.errors?.[0]?.extensions?.code, JSON.stringify(result.body)).toBe(code);
  expect(result.body.errors[0].message).toMatch(message);
  expect(result.status).toBe(status);
  expect(await ledgerRows(app.db, subjectId)).toEqual(before);
}

describe('bad input is refused with a code, and nothing is recorded', () => {
  it('an unknown subject', async () => {
    await refused(GRANT, { ...base(), subject: { id: '00000000-0000-4000-8000-000000000000' } }, 'NOT_FOUND', /No customer with id/, 404);
    await refused(GRANT, { ...base(), subject: { externalId: 'CRM-NOPE' } }, 'NOT_FOUND', /externalId "CRM-NOPE"/, 404);
    await refused(GRANT, { ...base(), subject: {} }, 'BAD_USER_INPUT', /exactly one of "id".*or "externalId"/);
  });

  it('an unknown purpose, listing the valid ones', async () => {
    await refused(
      GRANT,
      { ...base(), purposes: ['marketing', 'markting'] },
      'UNKNOWN_PURPOSE',
      /"markting".*expected one of: transactional, support, marketing/,
    );
  });

  it('a purpose that takes no consent', async () => {
    await refused(
      GRANT,
      { ...base(), purposes: ['marketing', 'transactional'] },
      'BAD_USER_INPUT',
      /"transactional" takes no consent.*consent can be recorded for: marketing/,
    );
  });

  it('an expiry in the past, or with a withdrawal', async () => {
    await refused(
      GRANT,
      { ...base(), expiresAt: '2020-01-01T00:00:00Z' },
      'BAD_USER_INPUT',
      /expiresAt expects a future.*2020-01-01T00:00:00.000Z/,
    );
    await refused(WITHDRAW, { ...base(), expiresAt: '2099-01-01T00:00:00Z' }, 'BAD_USER_INPUT', /expiresAt applies to a grant or opt-in/);
  });

  it('a malformed expiry', async () => {
    await refused(
      GRANT,
      { ...base(), expiresAt: 'next tuesday' },
      'BAD_USER_INPUT',
      /expiresAt expects an ISO-8601 date and time such as .* but got "next tuesday"/,
    );
    await refused(GRANT, { ...base(), expiresAt: '2027-02-31T00:00:00Z' }, 'BAD_USER_INPUT', /but got "2027-02-31T00:00:00Z"/);
  });

  it('a grant without the notice shown, a claimed GPC source, a duplicate purpose, an empty list', async () => {
    await refused(GRANT, { ...base(), noticeVersion: null }, 'BAD_USER_INPUT', /needs noticeVersion/);
    await refused(GRANT, { ...base(), source: 'GPC' }, 'BAD_USER_INPUT', /send the "Sec-GPC: 1" header/);
    await refused(GRANT, { ...base(), purposes: ['marketing', 'marketing'] }, 'BAD_USER_INPUT', /lists "marketing" twice/);
    await refused(GRANT, { ...base(), purposes: [] }, 'BAD_USER_INPUT', /at least one purpose key/);
  });

  it('a malformed proof address', async () => {
    await refused(
      GRANT,
      { ...base(), proof: { ipAddress: '999.1.1.1' } },
      'BAD_USER_INPUT',
      /proof.ipAddress expects an IPv4 or IPv6 address/,
    );
  });
});
