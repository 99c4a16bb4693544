import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportSubject, subjectExportResponse } from '../../src/rights/export.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { isolatedDatabase } from '../support/scratch.ts';
import { createFullSubject, EXPORT, type FullSubject, shareRecords } from './support.ts';

// The access export (GDPR Art. 15/20), as an admin gets it over HTTP and as
// the consent center's download builds it.

let app: TestApp;
let subject: FullSubject;
let other: FullSubject;

let database: Awaited<ReturnType<typeof isolatedDatabase>>;

beforeAll(async () => {
  // On PostgreSQL, a database of this file's own: another file's extracts would hold these subjects.
  database = await isolatedDatabase('rights_export');
  app = await createTestApp({ databaseUrl: database.url });
  subject = await createFullSubject(app);
  // Another subject with the same kinds of records, some in the same access record and extract.
  other = await createFullSubject(app);
  await shareRecords(app.db, subject, other);
});
afterAll(async () => {
  await app?.close();
  await database?.drop();
});

const asAdmin = { client: 'schema-admin', purpose: 'consent_management' };

async function exportOf(ref: Record<string, string>, max?: number) {
  const result = await app.graphql(EXPORT, { ...asAdmin, variables: { subject: ref, max } });
  expect(result.body.errors).toBeUndefined();
  return result.body.data.subjectExport;
}

describe('subjectExport', () => {
  it('holds every kind of record of the subject, versioned', async () => {
    const exported = await exportOf({ externalId: subject.externalId });
    expect(exported).toMatchObject({ subjectId: subject.id, format: 'consentql.subject-export', version: 1, truncated: [] });
    const doc = JSON.parse(exported.document);
    expect(doc.format).toBe('consentql.subject-export');
    expect(doc.version).toBe(1);
    expect(doc.subject).toEqual({ id: subject.id, externalId: subject.externalId });
    const data = doc.personalData;
    expect(data.customer).toMatchObject({
      id: subject.id,
      email: subject.email,
      firstName: 'Erika',
      phone: '+49 30 1234567',
      city: 'Berlin',
      birthDate: '1980-04-02T00:00:00.000Z',
      healthInterests: ['allergy'],
      lifetimeValue: '0',
    });
    expect(data.orders).toEqual([expect.objectContaining({ number: subject.orderNumber, total: '59.9', customerId: subject.id })]);
    expect(data.orderItems).toEqual([expect.objectContaining({ name: 'Kettle', orderId: data.orders[0].id })]);
    expect(data.supportTickets).toEqual([expect.objectContaining({ subject: subject.ticketSubject })]);
    expect(data.ticketMessages).toEqual([expect.objectContaining({ body: subject.messageBody, ticketId: data.supportTickets[0].id })]);
    expect(data.marketingInteractions).toEqual([expect.objectContaining({ campaign: subject.campaign, kind: 'opened' })]);
    expect(data.webEvents).toEqual([expect.objectContaining({ path: subject.path, device: 'mobile' })]);

    expect(doc.consent.events.map((e: any) => [e.purposeKey, e.action, e.source])).toEqual([
      ['marketing', 'GRANT', 'CONSENT_CENTER'],
      ['ai_training', 'GRANT', 'CONSENT_CENTER'],
      ['ai_training', 'WITHDRAW', 'EMAIL_LINK'],
    ]);
    expect(doc.consent.events[0]).toMatchObject({ noticeVersion: 'v7', regime: 'GDPR', id: expect.stringMatching(/^\d+$/) });
    expect(doc.consent.states.map((s: any) => [s.purposeKey, s.action])).toEqual([
      ['ai_training', 'WITHDRAW'],
      ['marketing', 'GRANT'],
    ]);
    const decisions = Object.fromEntries(doc.consent.decisions.map((d: any) => [d.purpose, [d.permitted, d.reason]]));
    expect(decisions.marketing).toEqual([true, 'CONSENT']);
    expect(decisions.ai_training).toEqual([false, 'WITHDRAWN']);

    // The access log of the test server also records the consent writes above (the consent center read the events back).
    expect(doc.access.records).toContainEqual({
      id: subject.accessRecordId,
      clientId: expect.any(String),
      clientName: 'support-chatbot',
      purpose: 'support',
      operation: 'SupportView',
      occurredAt: expect.any(String),
    });
    expect(doc.access.fields).toContainEqual({
      recordId: subject.accessRecordId,
      returned: ['Customer.email'],
      masked: ['Customer.birthDate'],
      occurredAt: expect.any(String),
    });
    // Newest first.
    const times = doc.access.records.map((r: any) => r.occurredAt);
    expect(times).toEqual([...times].sort().reverse());
    expect(doc.extracts.map((e: any) => [e.id, e.purpose, e.status])).toEqual([
      [subject.extractIds.marketing, 'marketing', 'COMPLETE'],
      [subject.extractIds.aiTraining, 'ai_training', 'COMPLETE'],
    ]);
    expect(doc.extracts[0]).toMatchObject({ snapshotAt: expect.any(String), createdAt: expect.any(String) });
    expect(doc.erasure).toBeNull();
  });

  it('holds nothing of another subject, even one sharing its access record and extract', async () => {
    const text = (await exportOf({ id: subject.id })).document as string;
    for (const value of [
      other.id,
      other.externalId,
      other.email,
      other.orderNumber,
      other.ticketSubject,
      other.messageBody,
      other.campaign,
    ]) {
      expect(text).not.toContain(value);
    }
    // Nor a count about others (an access record's masked fields, excluded rows).
    expect(text).not.toMatch(/fieldsMasked|rowsExcluded|subjectIds/);
  });

  it('caps each list and names those it capped', async () => {
    const whole = JSON.parse((await exportOf({ id: subject.id })).document);
    const exported = await exportOf({ id: subject.id }, 1);
    const doc = JSON.parse(exported.document);
    expect(doc.limits).toEqual({ rowsPerSection: 1 });
    expect(exported.truncated).toEqual(doc.truncated);
    // Three consent events; one of each personal record; the access lists grow with every read, this one's included.
    expect(exported.truncated).toEqual(expect.arrayContaining(['consent.events', 'access.records']));
    expect(exported.truncated).not.toEqual(expect.arrayContaining(['orders']));
    expect(doc.consent.events).toEqual([whole.consent.events[0]]);
    expect(doc.access.records).toHaveLength(1);
    expect(doc.personalData.orders).toEqual(whole.personalData.orders);
    const tooMany = await app.graphql(EXPORT, { ...asAdmin, variables: { subject: { id: subject.id }, max: 10_001 } });
    expect(tooMany.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('is recorded in the access log like any read of the subject', async () => {
    const result = await app.graphql(EXPORT, { ...asAdmin, variables: { subject: { id: subject.id } } });
    expect(result.body.extensions.consent).toMatchObject({ purpose: 'consent_management', subjects: 1, maskedFields: 0 });
  });

  it('is refused, with codes, to anyone but an admin under consent_management, and for an unknown subject', async () => {
    const variables = { subject: { id: subject.id } };
    const codeOf = async (options: Record<string, unknown>) => {
      const result = await app.graphql(EXPORT, { ...options, variables });
      expect(result.body.data?.subjectExport ?? null).toBeNull();
      return [result.status, result.body.errors[0].extensions.code];
    };
    expect(await codeOf({ client: 'consent-center', purpose: 'consent_management' })).toEqual([403, 'FORBIDDEN']);
    expect(await codeOf({ client: 'support-chatbot', purpose: 'support' })).toEqual([403, 'FORBIDDEN']);
    expect(await codeOf({ client: 'schema-admin', purpose: 'support' })).toEqual([403, 'PURPOSE_NOT_ALLOWED']);
    expect(await codeOf({ client: 'schema-admin' })).toEqual([400, 'PURPOSE_REQUIRED']);
    expect(await codeOf({})).toEqual([401, 'UNAUTHENTICATED']);
    const unknown = await app.graphql(EXPORT, { ...asAdmin, variables: { subject: { id: '00000000-0000-4000-8000-000000000000' } } });
    expect(unknown.body.errors[0].extensions.code).toBe('NOT_FOUND');
  });
});

describe('exportSubject and subjectExportResponse (for the consent center)', () => {
  it('build the same document as a JSON download that is never cached', async () => {
    const document = await exportSubject(app.db, subject.id, { mode: 'per-jurisdiction' });
    const response = subjectExportResponse(document);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(response.headers.get('content-disposition')).toBe(`attachment; filename="subject-export-${subject.id}.json"`);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = await response.json();
    const viaApi = JSON.parse((await exportOf({ id: subject.id })).document);
    // The access lists differ by the reads in between (the API's own read among them).
    const stable = (d: any) => ({ ...d, generatedAt: null, access: null });
    expect(stable(body)).toEqual(stable(viaApi));
    expect(body.access.records.length).toBeGreaterThan(0);
  });

  it('is NOT_FOUND for a customer that does not exist', async () => {
    await expect(exportSubject(app.db, '00000000-0000-4000-8000-000000000000', { mode: 'per-jurisdiction' })).rejects.toMatchObject({
      extensions: { code: 'NOT_FOUND' },
    });
  });
});
