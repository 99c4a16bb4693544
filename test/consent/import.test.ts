import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, keyOf, type TestApp } from '../support/app.ts';
import { eventLine, eventsOf, importLines, ndjson, outboxOf, RECORDER_HEADERS, statesOf } from './import-support.ts';
import { createSubject, GRANT, ledgerRows } from './support.ts';

// POST /consent/import: consent events captured elsewhere, one per line. Each
// line is recorded completely (event, state, outbox, idempotency key) or
// rejected with its number, a code and a message; the rest go through.

let app: TestApp;
beforeAll(async () => {
  // Small batches, so that a few lines already span several transactions.
  app = await createTestApp({ env: { CONSENTQL_IMPORT_BATCH_SIZE: '3' } });
});
afterAll(() => app.close());

describe('importing consent events', () => {
  it('records valid lines with their original time, source, notice and proof, and rejects each malformed one by number', async () => {
    const subject = await createSubject(app.db, { country: 'DE' });
    const byExternalId = { externalId: subject.externalId };
    const lines = [
      eventLine(
        { id: subject.id },
        { recordedAt: '2024-05-01T08:30:00Z', proof: { reference: 'f-1', ipAddress: '203.0.113.9', userAgent: 'CRM/1' } },
      ),
      '{"eventId": "broken", "subject": ',
      eventLine(byExternalId, { purpose: 'telepathy' }),
      eventLine(byExternalId, { action: undefined }),
      '',
      eventLine(byExternalId, { recordedAt: '2999-01-01T00:00:00Z' }),
      eventLine({ externalId: 'CRM-NO-SUCH-CUSTOMER' }),
      eventLine(byExternalId, {
        purpose: 'analytics',
        action: 'WITHDRAW',
        noticeVersion: null,
        proof: undefined,
        recordedAt: '2024-06-01T00:00:00+02:00',
      }),
      eventLine(byExternalId, { recordedAt: '2024-05-01 08:30' }),
      eventLine(byExternalId, { proof: undefined }),
      eventLine(byExternalId, { source: 'GPC' }),
      eventLine(byExternalId, { colour: 'blue' }),
      JSON.stringify(eventLine(byExternalId, { noticeVersion: 'x'.repeat(20_000) })),
      '[1, 2]',
    ];
    const { status, body } = await importLines(app, ndjson(lines));
    expect(status).toBe(200);
    const { rejections, ...counts } = body;
    expect(counts).toEqual({
      lines: 13,
      recorded: 2,
      propagated: 2,
      duplicates: 0,
      rejected: 11,
      lastLine: 14,
      complete: true,
      error: null,
    });
    expect(rejections.map((r: any) => [r.line, r.code])).toEqual([
      [2, 'INVALID_JSON'],
      [3, 'UNKNOWN_PURPOSE'],
      [4, 'BAD_USER_INPUT'],
      [6, 'BAD_USER_INPUT'],
      [7, 'NOT_FOUND'],
      [9, 'BAD_USER_INPUT'],
      [10, 'BAD_USER_INPUT'],
      [11, 'BAD_USER_INPUT'],
      [12, 'BAD_USER_INPUT'],
      [13, 'LINE_TOO_LONG'],
      [14, 'INVALID_JSON'],
    ]);
    const message = (line: number) => rejections.find((r: any) => r.line === line).message;
    expect(message(3)).toContain('purpose "telepathy" is not a purpose of the taxonomy');
    expect(message(4)).toBe('action is required: it expects one of GRANT, WITHDRAW, OPT_OUT, OPT_IN.');
    expect(message(6)).toMatch(/^recordedAt expects the original time of the event, not in the future, but got 2999-01-01T00:00:00.000Z/);
    expect(message(7)).toContain('No customer with externalId "CRM-NO-SUCH-CUSTOMER"');
    expect(message(9)).toContain('recordedAt expects the original time of the event, an ISO-8601 date and time with its zone');
    expect(message(10)).toContain('A GRANT needs proof.reference');
    expect(message(11)).toContain('source expects the channel the choice was made through');
    expect(message(12)).toBe(
      'The line has unknown field "colour"; expected only: eventId, subject, purpose, purposeVersion, action, recordedAt, source, noticeVersion, sensitive, expiresAt, proof.',
    );
    expect(rejections.find((r: any) => r.line === 7).eventId).toBe(lines[6] && (lines[6] as any).eventId);

    const events = await eventsOf(app, subject.id);
    expect(events).toEqual([
      {
        purpose: 'marketing',
        action: 'GRANT',
        source: 'CRM',
        noticeVersion: 'privacy-2025-01',
        recordedAt: new Date('2024-05-01T08:30:00Z'),
        importedAt: expect.any(Date),
        proofReference: 'f-1',
        ipHash: expect.stringMatching(/^hmac-sha256:[0-9a-f]{64}$/),
        userAgent: 'CRM/1',
        regime: 'GDPR',
      },
      {
        purpose: 'analytics',
        action: 'WITHDRAW',
        source: 'CRM',
        noticeVersion: null,
        recordedAt: new Date('2024-05-31T22:00:00Z'),
        importedAt: expect.any(Date),
        proofReference: null,
        ipHash: null,
        userAgent: null,
        regime: 'GDPR',
      },
    ]);
    expect(Date.now() - events[0].importedAt.getTime()).toBeLessThan(60_000);
    expect(await ledgerRows(app.db, subject.id)).toEqual({ events: 2, states: 2, outbox: 2 });
  });

  it('takes the purpose version the choice was made for, never one newer than the purpose', async () => {
    const subject = await createSubject(app.db, { country: 'BE' });
    const { body } = await importLines(
      app,
      ndjson([
        eventLine({ id: subject.id }, { purposeVersion: 2 }),
        eventLine({ id: subject.id }, { purposeVersion: 1 }),
        eventLine({ id: 'not-a-uuid' }),
        eventLine({ id: subject.id, externalId: subject.externalId }),
      ]),
    );
    expect(body.rejections.map((r: any) => [r.line, r.code, r.message])).toEqual([
      [
        1,
        'BAD_USER_INPUT',
        'purposeVersion 2 is newer than the purpose "marketing" (version 1). Send the version the subject chose for, or omit it for the current version.',
      ],
      [3, 'BAD_USER_INPUT', 'subject.id expects a customer UUID, but got "not-a-uuid".'],
      [
        4,
        'BAD_USER_INPUT',
        // What was received, shortened to 80 characters.
        `subject expects an object with exactly one of "id" (a customer UUID) or "externalId" (the CRM id), but got ${JSON.stringify({ id: subject.id, externalId: subject.externalId }).slice(0, 77)}….`,
      ],
    ]);
    expect(await statesOf(app, subject.id)).toEqual([
      { purpose: 'marketing', regime: 'GDPR', sensitive: false, action: 'GRANT', purposeVersion: 1, expiresAt: null, source: 'CRM' },
    ]);
  });

  it('counts every rejected line but lists at most the first thousand', async () => {
    const lines = Array.from({ length: 1005 }, (_, i) => `not json ${i}`);
    const { status, body } = await importLines(app, ndjson(lines));
    expect(status).toBe(200);
    expect(body.rejected).toBe(1005);
    expect(body.rejections).toHaveLength(1000);
    expect(body.rejections[999].line).toBe(1000);
  });

  it('records an event once: a re-import is reported as duplicates, an event id reused for other content is rejected', async () => {
    const subject = await createSubject(app.db, { country: 'FR' });
    const lines = [
      eventLine({ id: subject.id }, { eventId: `crm-dup-1-${subject.id}`, recordedAt: '2025-01-01T00:00:00Z' }),
      eventLine(
        { id: subject.id },
        { eventId: `crm-dup-2-${subject.id}`, action: 'WITHDRAW', noticeVersion: null, recordedAt: '2025-02-01T00:00:00Z' },
      ),
    ];
    const first = await importLines(app, ndjson(lines));
    // One transaction: only the later of the two, the state, goes downstream.
    expect(first.body).toMatchObject({ recorded: 2, propagated: 1, duplicates: 0, rejected: 0 });
    const before = await ledgerRows(app.db, subject.id);

    // The same lines again (one naming the subject by its CRM id: the same event), and event ids reused for other content,
    // found in the ledger (an earlier import or transaction: batches are 3 lines here) or earlier in the same batch.
    const third = (recordedAt: string) => eventLine({ id: subject.id }, { eventId: `crm-dup-3-${subject.id}`, recordedAt });
    const again = [
      lines[0],
      { ...lines[1], subject: { externalId: subject.externalId } },
      third('2025-03-01T00:00:00Z'),
      { ...lines[0], action: 'OPT_OUT', noticeVersion: null, proof: undefined },
      third('2025-03-01T00:00:01Z'),
      third('2025-03-01T00:00:00Z'),
      eventLine({ id: subject.id }, { eventId: `crm-dup-4-${subject.id}`, recordedAt: '2025-04-01T00:00:00Z' }),
      eventLine({ id: subject.id }, { eventId: `crm-dup-4-${subject.id}`, recordedAt: '2025-04-01T00:00:00Z', sensitive: true }),
      eventLine({ id: subject.id }, { eventId: `crm-dup-4-${subject.id}`, recordedAt: '2025-04-01T00:00:00Z' }),
    ];
    const second = await importLines(app, ndjson(again));
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ lines: 9, recorded: 2, duplicates: 4, rejected: 3 });
    expect(second.body.rejections).toEqual([
      {
        line: 4,
        eventId: `crm-dup-1-${subject.id}`,
        code: 'IDEMPOTENCY_KEY_REUSED',
        message:
          `eventId "crm-dup-1-${subject.id}" was already used by this client for another event: this line differs in action (OPT_OUT instead of GRANT), ` +
          'noticeVersion (none instead of "privacy-2025-01"), proofReference (none instead of "form-submission-4711"). Nothing was recorded for this line. ' +
          'Give each event its own eventId; send an eventId again only with the very same event.',
      },
      {
        line: 5,
        eventId: `crm-dup-3-${subject.id}`,
        code: 'IDEMPOTENCY_KEY_REUSED',
        message: expect.stringContaining('this line differs in recordedAt (2025-03-01T00:00:01.000Z instead of 2025-03-01T00:00:00.000Z)'),
      },
      {
        line: 8,
        eventId: `crm-dup-4-${subject.id}`,
        code: 'IDEMPOTENCY_KEY_REUSED',
        message:
          `eventId "crm-dup-4-${subject.id}" is also on line 7 of this import, with another event: this line differs in sensitive (true instead of false). ` +
          'Nothing was recorded for this line. Give each event its own eventId.',
      },
    ]);
    expect(await ledgerRows(app.db, subject.id)).toEqual({ events: before.events + 2, states: before.states, outbox: before.outbox + 2 });
  });

  it('shares the namespace of idempotency keys with the consent mutations, refusing a key used for another request', async () => {
    const subject = await createSubject(app.db, { country: 'SE' });
    const key = `shared-key-${subject.id}`;
    const granted = await app.graphql(GRANT, {
      client: 'consent-center',
      purpose: 'consent_management',
      variables: {
        input: {
          subject: { id: subject.id },
          purposes: ['marketing', 'analytics'],
          source: 'API',
          noticeVersion: 'v1',
          idempotencyKey: key,
        },
      },
    });
    expect(granted.body.errors).toBeUndefined();
    const { body } = await importLines(app, ndjson([eventLine({ id: subject.id }, { eventId: key, source: 'API', noticeVersion: 'v1' })]));
    expect(body.rejections).toEqual([
      {
        line: 1,
        eventId: key,
        code: 'IDEMPOTENCY_KEY_REUSED',
        message: expect.stringMatching(
          /^eventId "shared-key-[0-9a-f-]+" was already used by this client for another event: this line differs in/,
        ),
      },
    ]);
    // And the other way round: a mutation retried with a key an import used is refused, not replayed.
    const imported = eventLine({ id: subject.id }, { purpose: 'personalization' });
    expect((await importLines(app, ndjson([imported]))).body.recorded).toBe(1);
    const retried = await app.graphql(GRANT, {
      client: 'consent-center',
      purpose: 'consent_management',
      variables: {
        input: {
          subject: { id: subject.id },
          purposes: ['personalization'],
          source: 'CRM',
          noticeVersion: 'privacy-2025-01',
          idempotencyKey: imported.eventId,
        },
      },
    });
    expect(retried.body.errors[0].extensions.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('records each event once when the same file is imported twice at the same time', async () => {
    const subject = await createSubject(app.db, { country: 'PT' });
    const lines = Array.from({ length: 20 }, (_, i) =>
      eventLine(
        { id: subject.id },
        { purpose: i % 2 ? 'marketing' : 'analytics', recordedAt: new Date(Date.UTC(2024, 5, 1 + i)).toISOString() },
      ),
    );
    const [a, b] = await Promise.all([importLines(app, ndjson(lines)), importLines(app, ndjson(lines))]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.body.recorded + b.body.recorded).toBe(20);
    expect(a.body.duplicates + b.body.duplicates).toBe(20);
    expect(a.body.rejected + b.body.rejected).toBe(0);
    expect(await ledgerRows(app.db, subject.id)).toEqual({ events: 20, states: 2, outbox: expect.any(Number) });
  });

  it('keys event ids per client: another client importing the same id records its own event', async () => {
    const subject = await createSubject(app.db, { country: 'NL' });
    const line = eventLine({ id: subject.id });
    expect((await importLines(app, ndjson([line]))).body.recorded).toBe(1);
    const admin = { ...RECORDER_HEADERS, authorization: `Bearer ${keyOf('schema-admin')}` };
    expect((await importLines(app, ndjson([line]), admin)).body.recorded).toBe(1);
    expect((await ledgerRows(app.db, subject.id)).events).toBe(2);
  });
});

describe('historic times', () => {
  it('keeps a newer state when an older event is imported: recorded as history, not propagated', async () => {
    const subject = await createSubject(app.db, { country: 'IT' });
    const granted = await app.graphql(GRANT, {
      client: 'consent-center',
      purpose: 'consent_management',
      variables: { input: { subject: { id: subject.id }, purposes: ['marketing'], source: 'CONSENT_CENTER', noticeVersion: 'live-1' } },
    });
    expect(granted.body.errors).toBeUndefined();
    const old = eventLine({ id: subject.id }, { action: 'WITHDRAW', noticeVersion: null, recordedAt: '2023-01-01T00:00:00Z' });
    const { body } = await importLines(app, ndjson([old]));
    expect(body).toMatchObject({ recorded: 1, propagated: 0 });
    expect(await statesOf(app, subject.id)).toEqual([
      {
        purpose: 'marketing',
        regime: 'GDPR',
        sensitive: false,
        action: 'GRANT',
        purposeVersion: 1,
        expiresAt: null,
        source: 'CONSENT_CENTER',
      },
    ]);
    expect((await eventsOf(app, subject.id)).map((e) => e.action)).toEqual(['GRANT', 'WITHDRAW']);
    // Only the live grant went downstream.
    expect((await outboxOf(app, subject.id)).map((o) => o.payload.action)).toEqual(['GRANT']);
    // A later import that is newer than the state does replace it.
    const newer = eventLine({ id: subject.id }, { action: 'WITHDRAW', noticeVersion: null, recordedAt: new Date().toISOString() });
    expect((await importLines(app, ndjson([newer]))).body).toMatchObject({ recorded: 1, propagated: 1 });
    expect((await statesOf(app, subject.id))[0].action).toBe('WITHDRAW');
  });

  it('records an expiry already past as history: the state says the consent expired', async () => {
    const subject = await createSubject(app.db, { country: 'AT' });
    const line = eventLine({ id: subject.id }, { recordedAt: '2024-01-01T00:00:00Z', expiresAt: '2024-12-31T00:00:00Z' });
    const before = await importLines(
      app,
      ndjson([eventLine({ id: subject.id }, { expiresAt: '2025-01-01T00:00:00Z', recordedAt: '2025-06-01T00:00:00Z' })]),
    );
    expect(before.body.rejections[0].message).toBe(
      'expiresAt expects a time after recordedAt (2025-06-01T00:00:00.000Z), but got 2025-01-01T00:00:00.000Z.',
    );
    expect((await importLines(app, ndjson([line]))).body.recorded).toBe(1);
    const { body } = await app.graphql(`query($s: SubjectInput!) { consentStatus(subject: $s) { purpose permitted reason } }`, {
      client: 'consent-center',
      purpose: 'consent_management',
      variables: { s: { id: subject.id } },
    });
    expect(body.data.consentStatus.find((s: any) => s.purpose === 'marketing')).toEqual({
      purpose: 'marketing',
      permitted: false,
      reason: 'EXPIRED',
    });
  });
});

describe('who may import', () => {
  it('refuses with a code, before reading the body, whoever may not record consent', async () => {
    const subject = await createSubject(app.db, { country: 'DE' });
    const body = ndjson([eventLine({ id: subject.id })]);
    const refusal = async (headers: Record<string, string>, method = 'POST') => {
      const response = await app.fetch('/consent/import', { method, headers, ...(method === 'GET' ? {} : { body }) });
      return { status: response.status, code: (await response.json()).errors?.[0]?.extensions?.code };
    };
    const { authorization: _, ...anonymous } = RECORDER_HEADERS;
    const consumer = { ...RECORDER_HEADERS, authorization: `Bearer ${keyOf('email-platform-sync')}`, 'x-purpose': 'marketing' };
    const { 'x-purpose': __, ...noPurpose } = RECORDER_HEADERS;
    const admin = { ...RECORDER_HEADERS, authorization: `Bearer ${keyOf('schema-admin')}` };
    expect(await refusal(anonymous)).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    expect(await refusal({ ...RECORDER_HEADERS, authorization: 'Bearer not-a-key' })).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    expect(await refusal(consumer)).toEqual({ status: 403, code: 'FORBIDDEN' });
    expect(await refusal(noPurpose)).toEqual({ status: 400, code: 'PURPOSE_REQUIRED' });
    expect(await refusal({ ...RECORDER_HEADERS, 'x-purpose': 'mind_reading' })).toEqual({ status: 400, code: 'UNKNOWN_PURPOSE' });
    expect(await refusal({ ...admin, 'x-purpose': 'marketing' })).toEqual({ status: 403, code: 'PURPOSE_NOT_ALLOWED' });
    expect(await refusal({ ...RECORDER_HEADERS, 'content-type': 'application/json' })).toEqual({ status: 415, code: 'BAD_USER_INPUT' });
    expect(await refusal(RECORDER_HEADERS, 'GET')).toEqual({ status: 405, code: 'BAD_USER_INPUT' });
    expect(await ledgerRows(app.db, subject.id)).toEqual({ events: 0, states: 0, outbox: 0 });
    // The same body, from a consent recorder under consent management, is recorded.
    expect((await importLines(app, body)).body.recorded).toBe(1);
  });
});
