import { parquetReadObjects } from 'hyparquet';
import { inject, afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractableFields } from '../../src/extracts/fields.ts';
import { isMinor, permits, PURPOSES, regimeOf } from '../../src/policy/index.ts';
import { buildSchema } from '../../src/schema/index.ts';
import { createTestApp, testMasker, type TestApp } from '../support/app.ts';
import { graphqlCustomers, manifest, ndjsonRows, parseCsv, readExtract, requestExtract, startExtract } from './support.ts';

// An extract holds exactly what the GraphQL API returns for the same purpose:
// the same subjects (no one without a legal basis), each field in clear or
// masked as the API masks it, the subject as its pseudonym; in three formats
// that parse back to the same rows, with a manifest that accounts for it.

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

const ALL_FIELDS = extractableFields(buildSchema());
/** The customer's own fields: one row per customer. */
const FIELDS = ALL_FIELDS.filter((f) => f.startsWith('Customer.'));
const NAMES = FIELDS.map((f) => f.slice('Customer.'.length));
/** Other test files add customers of their own (externalId TEST-…): the comparison is over the seeded ones. */
const seeded = (row: Record<string, unknown>) => typeof row.externalId === 'string' && !row.externalId.startsWith('TEST-');

describe('extracts decide as the API does', () => {
  it('offers every tagged column of a customer, and nothing that names the subject otherwise', () => {
    expect(FIELDS).toContain('Customer.email');
    expect(FIELDS).toContain('Customer.healthInterests');
    expect(FIELDS).not.toContain('Customer.id');
    expect(FIELDS).not.toContain('Customer.subjectKey');
    expect(FIELDS).not.toContain('Customer.orders');
    expect(ALL_FIELDS).toContain('Order.total');
    expect(ALL_FIELDS).not.toContain('Order.id');
    expect(ALL_FIELDS).not.toContain('OrderItem.sku');
  });

  it('reads every extractable field of every record type from the database', async () => {
    const types = [...new Set(ALL_FIELDS.map((f) => f.split('.')[0]).filter((t) => t !== 'Customer'))];
    expect(types.sort()).toEqual(['MarketingInteraction', 'Order', 'SupportTicket', 'WebEvent']);
    for (const type of types) {
      const fields = ALL_FIELDS.filter((f) => f.startsWith(`${type}.`));
      const extract = await requestExtract(app, { fields, format: 'csv' }, { client: 'analytics-app', purpose: 'analytics' });
      expect(extract.status, `${type}: ${extract.bytes.toString().slice(0, 300)}`).toBe(200);
      const m = await manifest(app, extract.id!, 'analytics-app');
      expect(m.body.status, type).toBe('COMPLETE');
      expect(m.body.rows, type).toBeGreaterThan(0);
    }
  });

  it('analytics: one row per order, with its customer, as the API lists the orders of each customer', async () => {
    const fields = ['Customer.externalId', 'Customer.segment', 'Order.number', 'Order.status', 'Order.total', 'Order.placedAt'];
    const as = { client: 'analytics-app', purpose: 'analytics' };
    const extract = await requestExtract(app, { fields, format: 'ndjson' }, as);
    expect(extract.status, extract.bytes.toString().slice(0, 500)).toBe(200);
    const rows = ndjsonRows(extract.bytes).filter(seeded);
    expect(Object.keys(rows[0])).toEqual([
      'subject',
      'externalId',
      'segment',
      'order_number',
      'order_status',
      'order_total',
      'order_placedAt',
    ]);
    const api = await graphqlCustomers(
      app,
      as.client,
      as.purpose,
      ['externalId', 'segment', 'orders(first: 100) { number status total placedAt }'],
      400,
    );
    const expected = [...api]
      .filter(([, c]) => seeded(c))
      .flatMap(([subject, c]: [string, any]) =>
        (c.orders ?? []).map((o: any) => ({
          subject,
          externalId: c.externalId,
          segment: c.segment,
          order_number: o.number,
          order_status: o.status,
          order_total: o.total,
          order_placedAt: o.placedAt,
        })),
      );
    const key = (r: Record<string, unknown>) => JSON.stringify(r);
    expect(rows.length).toBeGreaterThan(100);
    expect(rows.map(key).sort()).toEqual(expected.map(key).sort());
    // Order numbers do not serve analytics: keyed tokens, never the number.
    expect(rows.every((r) => String(r.order_number).startsWith('hmac:'))).toBe(true);
    const m = await manifest(app, extract.id!, as.client);
    expect(m.body.rows).toBe(ndjsonRows(extract.bytes).length);
    const members = await app.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM extract_member WHERE extract_id = $1', [
      extract.id,
    ]);
    expect(m.body.subjects).toBe(members.rows[0].n);
    expect(new Set(ndjsonRows(extract.bytes).map((r) => r.subject)).size).toBe(m.body.subjects);
  });

  // ai_training: opt-in everywhere, with special-category data (healthInterests);
  // marketing: opt-in in the EU, opt-out in the US, contact data in clear;
  // analytics: contact data masked (hmac, partial phone).
  for (const [client, purpose] of [
    ['churn-model-training', 'ai_training'],
    ['email-platform-sync', 'marketing'],
    ['analytics-app', 'analytics'],
  ] as const) {
    it(`${purpose}: the same subjects and values as a GraphQL query of the same fields, row by row`, async () => {
      const extract = await requestExtract(app, { fields: FIELDS, format: 'ndjson' }, { client, purpose });
      expect(extract.status, extract.bytes.toString().slice(0, 500)).toBe(200);
      expect(extract.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
      const rows = ndjsonRows(extract.bytes);
      const api = await graphqlCustomers(app, client, purpose, NAMES);

      const fromExtract = new Map(rows.filter(seeded).map((r) => [r.subject as string, r]));
      const fromApi = new Map([...api].filter(([, r]) => seeded(r)));
      expect(fromExtract.size).toBeGreaterThan(100);
      expect([...fromExtract.keys()].sort()).toEqual([...fromApi.keys()].sort());
      for (const [subject, row] of fromExtract) {
        const { subjectKey: _, ...expected } = fromApi.get(subject)!;
        const { subject: __, ...actual } = row;
        expect(actual, subject).toEqual(expected);
      }
      // Keys in the order asked for, after the subject.
      expect(Object.keys(rows[0])).toEqual(['subject', ...NAMES]);

      const m = await manifest(app, extract.id!, client);
      expect(m.status).toBe(200);
      expect(m.body.excluded.withheldAfterSql).toBe(0);
      expect(m.body.excluded.byReason.FILTERED_IN_SQL).toBeUndefined();
      // Some fields masked and some clear for somebody: the comparison above covered both.
      expect(m.body.fields.some((f: any) => f.decision === 'MASKED')).toBe(true);
      expect(m.body.fields.some((f: any) => f.decision === 'CLEAR')).toBe(true);
    });
  }

  it('the SQL filter and the policy engine select the same subjects, for every purpose', async () => {
    const customers = await app.db.prisma.customer.findMany({
      where: { NOT: { externalId: { startsWith: 'TEST-' } } },
      select: { id: true, country: true, region: true, birthDate: true, consentStates: true },
    });
    const now = new Date();
    for (const purpose of PURPOSES) {
      const extract = await requestExtract(app, { fields: ['Customer.country'] }, { client: 'schema-admin', purpose: purpose.key });
      expect(extract.status).toBe(200);
      const members = await app.db.pool.query<{ id: string }>(
        `SELECT m.customer_id::text AS id FROM extract_member m JOIN customer c ON c.id = m.customer_id
          WHERE m.extract_id = $1 AND c.external_id NOT LIKE 'TEST-%'`,
        [extract.id],
      );
      const permitted = customers.filter(
        (c) =>
          permits(
            purpose,
            {
              regime: regimeOf(c.country, c.region),
              minor: isMinor(c.birthDate, now),
              consents: c.consentStates.filter((s) => s.purposeKey === purpose.key) as never,
            },
            false,
            now,
          ).effect === 'allow',
      );
      expect(members.rows.map((m) => m.id).sort(), purpose.key).toEqual(permitted.map((c) => c.id).sort());
      expect((await manifest(app, extract.id!, 'schema-admin')).body.excluded.withheldAfterSql).toBe(0);
    }
  });

  it('names subjects by the purpose pseudonym only, never by an id', async () => {
    const extract = await requestExtract(
      app,
      { fields: ['Customer.churnScore'] },
      { client: 'churn-model-training', purpose: 'ai_training' },
    );
    const rows = ndjsonRows(extract.bytes);
    const members = await app.db.pool.query<{ id: string }>('SELECT customer_id::text AS id FROM extract_member WHERE extract_id = $1', [
      extract.id,
    ]);
    const masker = testMasker();
    expect(rows.map((r) => r.subject).sort()).toEqual(members.rows.map((m) => masker.pseudonym(m.id, 'ai_training')).sort());
    expect(extract.bytes.toString()).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/);
  });
});

describe('formats', () => {
  const spec = { fields: FIELDS };
  const as = { client: 'churn-model-training', purpose: 'ai_training' };

  it('CSV and Parquet hold the rows of the NDJSON, value for value', async () => {
    const ndjson = await requestExtract(app, { ...spec, format: 'ndjson' }, as);
    const csv = await requestExtract(app, { ...spec, format: 'csv' }, as);
    const parquet = await requestExtract(app, { ...spec, format: 'parquet' }, as);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present');
    expect(parquet.headers.get('content-type')).toBe('application/vnd.apache.parquet');
    expect(parquet.headers.get('content-disposition')).toBe(`attachment; filename="extract-${parquet.id}.parquet"`);
    const rows = ndjsonRows(ndjson.bytes);
    expect(rows.length).toBeGreaterThan(100);

    const [header, ...lines] = parseCsv(csv.bytes.toString('utf8'));
    expect(header).toEqual(['subject', ...NAMES]);
    const asText = (v: unknown) => (v === null ? null : typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v));
    expect(lines).toEqual(rows.map((r) => Object.values(r).map(asText)));

    const buffer = parquet.bytes.buffer.slice(parquet.bytes.byteOffset, parquet.bytes.byteOffset + parquet.bytes.byteLength);
    const read = await parquetReadObjects({ file: buffer as ArrayBuffer });
    expect(read.length).toBe(rows.length);
    expect(read.map((r) => ({ ...r }))).toEqual(rows);
  });

  it('an extract with no subject is a valid empty file in every format', async () => {
    // No one gives ad_sharing an opt-in as a minor in CCPA alone… simpler: a purpose the client holds, all excluded, is rare;
    // instead check an empty CSV/Parquet through the encoders' finish on a real extract of one field.
    const parquet = await requestExtract(app, { fields: ['Customer.segment'], format: 'parquet' }, as);
    const buffer = parquet.bytes.buffer.slice(parquet.bytes.byteOffset, parquet.bytes.byteOffset + parquet.bytes.byteLength);
    const read = await parquetReadObjects({ file: buffer as ArrayBuffer });
    const m = await manifest(app, parquet.id!, 'churn-model-training');
    expect(read.length).toBe(m.body.rows);
  });
});

describe('manifest', () => {
  it('accounts for the content: rows, lineage, exclusions by reason, checksum, decisions', async () => {
    const extract = await requestExtract(
      app,
      { fields: ['Customer.churnScore', 'Customer.email', 'Customer.healthInterests'], format: 'csv' },
      { client: 'churn-model-training', purpose: 'ai_training' },
    );
    expect(extract.status).toBe(200);
    expect(extract.headers.get('x-extract-manifest')).toBe(`/extracts/${extract.id}/manifest`);
    const { status, body } = await manifest(app, extract.id!, 'churn-model-training');
    expect(status).toBe(200);
    const lines = parseCsv(extract.bytes.toString('utf8')).length - 1;
    const members = await app.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM extract_member WHERE extract_id = $1', [
      extract.id,
    ]);
    expect(body).toMatchObject({
      id: extract.id,
      status: 'COMPLETE',
      client: 'churn-model-training',
      purpose: { key: 'ai_training', version: 1 },
      policyVersion: expect.stringMatching(/^\d{4}-\d{2}-\d{2}\.\d+$/),
      format: 'csv',
      columns: ['subject', 'churnScore', 'email', 'healthInterests'],
      rows: lines,
      sha256: extract.sha256,
      bytes: extract.bytes.length,
    });
    expect(members.rows[0].n).toBe(lines);
    expect(body.fields.map((f: any) => [f.field, f.decision])).toEqual([
      ['Customer.churnScore', 'CLEAR'],
      ['Customer.email', 'MASKED'],
      ['Customer.healthInterests', 'CLEAR_WITH_SENSITIVE_CONSENT'],
    ]);
    // email does not serve ai_training: masked on every row.
    expect(body.fields[1].maskedRows).toBe(lines);
    const reasons = Object.values(body.excluded.byReason as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(reasons).toBe(body.excluded.total);
    expect(Object.keys(body.excluded.byReason)).toContain('NO_CONSENT');
    expect(new Date(body.consentSnapshotAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
    if (inject('databaseKind') === 'pglite') {
      // Test files take turns on PGlite: nobody adds customers meanwhile.
      const all = await app.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM customer');
      expect(body.rows + body.excluded.total).toBe(all.rows[0].n);
    }
  });

  it('is shown to the client that made the extract and to admins only', async () => {
    const extract = await requestExtract(app, { fields: ['Customer.segment'] }, { client: 'churn-model-training', purpose: 'ai_training' });
    expect((await manifest(app, extract.id!, 'schema-admin')).status).toBe(200);
    const other = await manifest(app, extract.id!, 'analytics-app');
    expect(other.status).toBe(404);
    expect(other.body.errors[0].extensions.code).toBe('NOT_FOUND');
    expect((await manifest(app, '999999999', 'churn-model-training')).status).toBe(404);
    expect((await manifest(app, '%zz', 'churn-model-training')).status).toBe(404);
  });

  it('is reproducible: the same extract at the same consent gives the same bytes and checksum', async () => {
    for (const format of ['ndjson', 'csv', 'parquet']) {
      const spec = { fields: FIELDS, format };
      const as = { client: 'churn-model-training', purpose: 'ai_training' };
      const first = await requestExtract(app, spec, as);
      const second = await requestExtract(app, spec, as);
      expect(first.id).not.toBe(second.id);
      expect(second.sha256, format).toBe(first.sha256);
      const [a, b] = [await manifest(app, first.id!, as.client), await manifest(app, second.id!, as.client)];
      expect(a.body.sha256).toBe(first.sha256);
      expect(b.body.sha256).toBe(first.sha256);
    }
  });
});

describe('refusals', () => {
  const ok = { fields: ['Customer.churnScore'] };
  const cases: [string, unknown, { client?: string; purpose?: string; headers?: Record<string, string> }, number, string][] = [
    ['no key', ok, { purpose: 'ai_training' }, 401, 'UNAUTHENTICATED'],
    ['an unknown key', ok, { purpose: 'ai_training', headers: { authorization: 'Bearer nope' } }, 401, 'UNAUTHENTICATED'],
    ['no purpose', ok, { client: 'churn-model-training' }, 400, 'PURPOSE_REQUIRED'],
    ['an unknown purpose', ok, { client: 'churn-model-training', purpose: 'astrology' }, 400, 'UNKNOWN_PURPOSE'],
    [
      'a purpose the client is not registered for',
      ok,
      { client: 'churn-model-training', purpose: 'marketing' },
      403,
      'PURPOSE_NOT_ALLOWED',
    ],
    ['a consent recorder', ok, { client: 'consent-center', purpose: 'consent_management' }, 403, 'FORBIDDEN'],
    [
      'an unknown field',
      { fields: ['Customer.shoeSize'] },
      { client: 'churn-model-training', purpose: 'ai_training' },
      400,
      'BAD_USER_INPUT',
    ],
    ['an untagged field', { fields: ['Purpose.title'] }, { client: 'churn-model-training', purpose: 'ai_training' }, 400, 'BAD_USER_INPUT'],
    ['the surrogate id', { fields: ['Customer.id'] }, { client: 'churn-model-training', purpose: 'ai_training' }, 400, 'BAD_USER_INPUT'],
    ['a relation', { fields: ['Customer.orders'] }, { client: 'churn-model-training', purpose: 'ai_training' }, 400, 'BAD_USER_INPUT'],
    ['no fields', { fields: [] }, { client: 'churn-model-training', purpose: 'ai_training' }, 400, 'BAD_USER_INPUT'],
    ['an unknown format', { ...ok, format: 'xlsx' }, { client: 'churn-model-training', purpose: 'ai_training' }, 400, 'BAD_USER_INPUT'],
    [
      'records the purpose is not served (orders, marketing)',
      { fields: ['Order.total'] },
      { client: 'email-platform-sync', purpose: 'marketing' },
      400,
      'BAD_USER_INPUT',
    ],
    [
      'records of two types',
      { fields: ['Order.total', 'WebEvent.kind'] },
      { client: 'analytics-app', purpose: 'analytics' },
      400,
      'BAD_USER_INPUT',
    ],
  ];
  for (const [what, body, options, status, code] of cases) {
    it(`${what}: ${status} ${code}, and nothing is extracted`, async () => {
      const before = await app.db.prisma.extract.count();
      const response = await requestExtract(app, body, options);
      expect(response.status).toBe(status);
      expect(response.json.errors[0].extensions.code).toBe(code);
      expect(response.json.errors[0].extensions.http).toBeUndefined();
      expect(response.id).toBeNull();
      expect(await app.db.prisma.extract.count()).toBe(before);
    });
  }

  it('says what it expected: the valid purposes, the extractable fields', async () => {
    const purpose = await requestExtract(
      app,
      { fields: ['Customer.churnScore'] },
      { client: 'churn-model-training', purpose: 'astrology' },
    );
    expect(purpose.json.errors[0].extensions.validPurposes).toContain('ai_training');
    const field = await requestExtract(app, { fields: ['Customer.shoeSize'] }, { client: 'churn-model-training', purpose: 'ai_training' });
    expect(field.json.errors[0].message).toContain('Customer.churnScore');
    expect(field.json.errors[0].extensions.validFields).toEqual(ALL_FIELDS);
  });

  it('answers other methods with 405', async () => {
    const response = await app.fetch('/extracts', { method: 'GET' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });
});

describe('concurrency', () => {
  it('runs at most CONSENTQL_MAX_EXTRACTS at once per instance; one more is RATE_LIMITED, and a slot frees when an extract ends', async () => {
    const limited = await createTestApp({ env: { CONSENTQL_MAX_EXTRACTS: '1' } });
    try {
      const as = { client: 'churn-model-training', purpose: 'ai_training' };
      const first = await startExtract(limited, { fields: ['Customer.segment'] }, as);
      expect(first.status).toBe(200);
      const refused = await requestExtract(limited, { fields: ['Customer.segment'] }, as);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('30');
      expect(refused.json.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', running: 1, maxExtracts: 1 });
      await readExtract(first);
      expect((await requestExtract(limited, { fields: ['Customer.segment'] }, as)).status).toBe(200);
      // A client that goes away frees its slot too.
      const abandoned = await startExtract(limited, { fields: ['Customer.segment'] }, as);
      await abandoned.body!.cancel();
      const after = await requestExtract(limited, { fields: ['Customer.segment'] }, as);
      expect(after.status).toBe(200);
      const m = await manifest(limited, abandoned.headers.get('x-extract-id')!, as.client);
      expect(m.body.status).toBe('FAILED');
      expect(m.body.failure).toBe('the client closed the connection');
    } finally {
      await limited.close();
    }
  });
});
