import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.ts';
import { isolatedDatabase } from '../support/scratch.ts';
import { CustomerEmailsDocument, CustomerProfileDocument, CustomerTicketsDocument, TrainingSetDocument } from '../generated/operations.ts';

let app: TestApp;
let database: Awaited<ReturnType<typeof isolatedDatabase>>;
const ids = new Map<string, string>();

beforeAll(async () => {
  // On PostgreSQL, a database of this file's own: its oracles read every customer, and other files
  // running at the same time add customers (imports, extracts, erasures) between two of its queries.
  database = await isolatedDatabase('api_enforcement');
  app = await createTestApp({ databaseUrl: database.url });
  const { rows } = await app.db.pool.query<{ id: string; external_id: string }>(
    `SELECT id, external_id FROM customer WHERE external_id LIKE 'CRM-%' AND external_id NOT SIMILAR TO 'CRM-[0-9]%'`,
  );
  for (const row of rows) ids.set(row.external_id, row.id);
});
afterAll(async () => {
  await app?.close();
  await database?.drop();
});

const persona = (externalId: string) => {
  const id = ids.get(externalId);
  if (!id) throw new Error(`persona ${externalId} is not in the demo data`);
  return id;
};

describe('a request reads each field under its declared purpose', () => {
  it('lets the support chatbot read a ticket conversation under "support"', async () => {
    const { status, body } = await app.graphql(CustomerTicketsDocument, {
      client: 'support-chatbot',
      purpose: 'support',
      variables: { id: persona('CRM-EU-NO-MARKETING') },
    });
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    const customer = body.data!.customer!;
    const ticket = customer.tickets![0];
    expect(customer.firstName).toEqual(expect.any(String));
    expect(ticket.subject).not.toBe('[REDACTED]');
    expect(ticket.messages!.length).toBeGreaterThan(0);
    expect(ticket.messages![0].body).toEqual(expect.any(String));
    expect(ticket.messages![0].body).not.toBe('[REDACTED]');
    expect(body.extensions.consent).toMatchObject({ purpose: 'support', maskedFields: 0 });
  });

  it('gives the analytics app stable, purpose-bound HMAC tokens instead of emails', async () => {
    const read = () => app.graphql(CustomerEmailsDocument, { client: 'analytics-app', purpose: 'analytics', variables: { first: 5 } });
    const first = await read();
    const second = await read();
    const tokens = first.body.data!.customers!.edges!.map((e) => e!.node!.email);
    for (const token of tokens) expect(token).toMatch(/^hmac:[\w-]+:[\w-]+$/);
    expect(second.body.data!.customers!.edges!.map((e) => e!.node!.email)).toEqual(tokens);
    const { rows } = await app.db.pool.query('SELECT email FROM customer WHERE id = ANY($1)', [
      first.body.data!.customers!.edges!.map((e) => e!.node!.id),
    ]);
    for (const { email } of rows) expect(tokens).not.toContain(email);
    expect(first.body.extensions.consent).toMatchObject({ subjects: 5, maskedFields: 5 });
  });

  it('leaves out an EU customer without marketing consent and shows a Californian who never opted out', async () => {
    const eu = await app.graphql(CustomerProfileDocument, {
      client: 'email-platform-sync',
      purpose: 'marketing',
      variables: { id: persona('CRM-EU-NO-MARKETING') },
    });
    // No legal basis: not even a token or a partial value (finding 4).
    expect(eu.body.data!.customer).toBeNull();
    expect(eu.body.errors).toBeUndefined();
    const ca = await app.graphql(CustomerProfileDocument, {
      client: 'email-platform-sync',
      purpose: 'marketing',
      variables: { id: persona('CRM-CA-DEFAULT') },
    });
    expect(ca.body.data!.customer).toMatchObject({ email: expect.stringMatching(/@/), firstName: expect.any(String), country: 'US' });
  });

  it('shares nothing of a Californian with a GPC opt-out under "ad_sharing", but serves "marketing"', async () => {
    const id = persona('CRM-CA-GPC');
    const query = `query($id: ID!) { customer(id: $id) { id subjectKey country segment } }`;
    const sharing = await app.graphql(query, { client: 'ad-partner-export', purpose: 'ad_sharing', variables: { id } });
    expect(sharing.body.data.customer).toBeNull();
    const marketing = await app.graphql(query, { client: 'email-platform-sync', purpose: 'marketing', variables: { id } });
    expect(marketing.body.data.customer).toEqual({
      id,
      subjectKey: expect.stringMatching(/^hmac:/),
      country: 'US',
      segment: expect.any(String),
    });
    // Finding 4: the ad partner's list holds no one who opted out, in any form.
    const list = await app.graphql(`{ customers(first: 1000) { totalCount edges { node { id subjectKey } } } }`, {
      client: 'ad-partner-export',
      purpose: 'ad_sharing',
    });
    const all = JSON.stringify(list.body);
    expect(all).not.toContain(id);
    expect(all).not.toContain(marketing.body.data.customer.subjectKey.replace(/^hmac:[\w-]+:/, ''));
  });

  it('leaves customers without an ai_training grant out of the list and its count', async () => {
    const { body } = await app.graphql(TrainingSetDocument, {
      client: 'churn-model-training',
      purpose: 'ai_training',
      variables: { first: 1000 },
    });
    const returned = new Set(body.data!.customers!.edges!.map((e) => e!.node!.id));
    const { rows } = await app.db.pool.query<{ id: string }>(
      `SELECT DISTINCT customer_id AS id FROM consent_state
        WHERE purpose_key = 'ai_training' AND action IN ('GRANT','OPT_IN') AND NOT sensitive
          AND (expires_at IS NULL OR expires_at > now()) AND purpose_version = 1`,
    );
    const granted = new Set(rows.map((r) => r.id));
    expect(granted.size).toBeGreaterThan(0);
    expect(body.data!.customers!.totalCount).toBe(granted.size);
    expect(returned.size).toBe(granted.size);
    // How many were left out is itself about them: only a client that may explain is told.
    expect(body.extensions.consent).toMatchObject({ subjects: granted.size, excludedRows: null });
    const { rows: all } = await app.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM customer');
    const explained = await app.graphql(`{ customers(first: 1) { totalCount } }`, {
      client: 'schema-admin',
      purpose: 'ai_training',
      headers: { 'x-consent-explain': '1' },
    });
    expect(explained.body.extensions.consent.excludedRows).toBe(all[0].n - granted.size);
    for (const id of returned) expect(granted.has(id)).toBe(true);
    expect(returned.has(persona('CRM-EU-NO-MARKETING'))).toBe(false);
    expect(returned.has(persona('CRM-EU-AI-TRAINING'))).toBe(true);
    const single = await app.graphql(CustomerProfileDocument, {
      client: 'churn-model-training',
      purpose: 'ai_training',
      variables: { id: persona('CRM-EU-NO-MARKETING') },
    });
    expect(single.body.data!.customer).toBeNull();
  });

  it('explains each masked path when a permitted client asks', async () => {
    const { body } = await app.graphql(CustomerProfileDocument, {
      client: 'schema-admin',
      purpose: 'marketing',
      variables: { id: persona('CRM-CA-DEFAULT') },
      headers: { 'x-consent-explain': '1' },
    });
    expect(body.errors).toBeUndefined();
    expect(body.extensions.consent.masked).toContainEqual({ path: 'customer.preciseLocation', reason: 'PURPOSE_NOT_SERVED' });
    expect(body.extensions.consent.masked.map((m: { path: string }) => m.path)).not.toContain('customer.email');
  });
});

describe('jurisdiction and sensitivity', () => {
  const explainFor = async (externalId: string, purpose: string) => {
    const { body } = await app.graphql(CustomerProfileDocument, {
      client: 'schema-admin',
      purpose,
      variables: { id: persona(externalId) },
      headers: { 'x-consent-explain': '1' },
    });
    return { customer: body.data!.customer!, masked: body.extensions.consent.masked as { path: string; reason: string }[] };
  };

  const customerUnder = async (externalId: string, purpose: string) => {
    const { body } = await app.graphql(CustomerProfileDocument, {
      client: 'schema-admin',
      purpose,
      variables: { id: persona(externalId) },
    });
    expect(body.errors).toBeUndefined();
    return body.data!.customer;
  };

  it('masks sensitive data of a Virginian without a sensitive-data opt-in, but not their ordinary data', async () => {
    const { customer, masked } = await explainFor('CRM-VA-SENSITIVE', 'personalization');
    expect(customer.healthInterests).toBeNull();
    expect(customer.preciseLocation).toMatch(/^-?\d+,-?\d+$/);
    expect(masked).toContainEqual({ path: 'customer.healthInterests', reason: 'SENSITIVE_REQUIRES_OPT_IN' });
    expect(masked).toContainEqual({ path: 'customer.preciseLocation', reason: 'SENSITIVE_REQUIRES_OPT_IN' });
    expect(masked.map((m) => m.path)).not.toContain('customer.segment');
  });

  it('requires an opt-in from a Californian under 16 for ad sharing', async () => {
    expect(await customerUnder('CRM-CA-MINOR', 'ad_sharing')).toBeNull();
    expect(await customerUnder('CRM-CA-MINOR', 'marketing')).not.toBeNull();
  });

  it('treats an unknown jurisdiction as the strictest regime', async () => {
    expect(await customerUnder('CRM-UNKNOWN', 'marketing')).toBeNull();
    expect(await customerUnder('CRM-UNKNOWN', 'support')).not.toBeNull();
  });

  it('treats everyone as GDPR in strictest-everywhere mode', async () => {
    const strict = await createTestApp({ env: { CONSENTQL_MODE: 'strictest' } });
    try {
      const { body } = await strict.graphql(CustomerProfileDocument, {
        client: 'email-platform-sync',
        purpose: 'marketing',
        variables: { id: persona('CRM-CA-DEFAULT') },
      });
      expect(body.data!.customer).toBeNull();
    } finally {
      await strict.close();
    }
  });
});

describe('side channels', () => {
  it('confines a filter to subjects who let the purpose see the filtered field', async () => {
    const { body } = await app.graphql(
      `{ customers(first: 1000, filter: { segment: "vip" }) { totalCount edges { node { segment email } } } }`,
      { client: 'email-platform-sync', purpose: 'marketing' },
    );
    expect(body.errors).toBeUndefined();
    const nodes = body.data.customers.edges.map((e: any) => e.node);
    expect(nodes.length).toBeGreaterThan(0);
    // Every row the filter matched shows the value it matched on: no masked row leaks through the filter.
    for (const node of nodes) expect(node.segment).toBe('vip');
    expect(body.data.customers.totalCount).toBe(nodes.length);
    const { rows } = await app.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM customer WHERE segment = 'vip'`);
    expect(nodes.length).toBeLessThan(rows[0].n);
  });

  it('confines sorting the same way', async () => {
    const { body } = await app.graphql(
      `{ customers(first: 50, orderBy: { field: CHURN_SCORE, direction: DESC }) { edges { node { churnScore } } } }`,
      { client: 'email-platform-sync', purpose: 'marketing' },
    );
    const scores = body.data.customers.edges.map((e: any) => e.node.churnScore);
    // Masked scores would read as null: none may be sorted in among the visible ones.
    expect(scores.every((s: number | null) => typeof s === 'number')).toBe(true);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
  });
});
