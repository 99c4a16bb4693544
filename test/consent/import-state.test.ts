import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.ts';
import { eventLine, importLines, ndjson, statesOf } from './import-support.ts';
import { createSubject, GRANT, OPT_IN, OPT_OUT, WITHDRAW } from './support.ts';

// Imported events arrive in any order, in one import or several, one batch or
// several: the state they leave must be the one recording them one by one, in
// the order they happened, through the ledger would leave.

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp({ env: { CONSENTQL_IMPORT_BATCH_SIZE: '3' } });
});
afterAll(() => app.close());

interface Choice {
  purpose: string;
  action: 'GRANT' | 'WITHDRAW' | 'OPT_OUT' | 'OPT_IN';
  source: string;
  noticeVersion: string | null;
  sensitive: boolean;
  expiresAt: string | null;
}

// A subject's history, oldest first (grants with expiries in the future, which the ledger requires).
const HISTORY: Choice[] = [
  { purpose: 'marketing', action: 'GRANT', source: 'CRM', noticeVersion: 'n-1', sensitive: false, expiresAt: null },
  { purpose: 'analytics', action: 'GRANT', source: 'CRM', noticeVersion: 'n-1', sensitive: false, expiresAt: '2031-01-01T00:00:00.000Z' },
  { purpose: 'marketing', action: 'WITHDRAW', source: 'EMAIL_LINK', noticeVersion: null, sensitive: false, expiresAt: null },
  { purpose: 'personalization', action: 'GRANT', source: 'CHATBOT', noticeVersion: 'bot-2', sensitive: true, expiresAt: null },
  {
    purpose: 'marketing',
    action: 'GRANT',
    source: 'CONSENT_CENTER',
    noticeVersion: 'n-2',
    sensitive: false,
    expiresAt: '2032-06-30T00:00:00.000Z',
  },
  { purpose: 'analytics', action: 'OPT_OUT', source: 'API', noticeVersion: null, sensitive: false, expiresAt: null },
  { purpose: 'personalization', action: 'WITHDRAW', source: 'CONSENT_CENTER', noticeVersion: null, sensitive: false, expiresAt: null },
  { purpose: 'analytics', action: 'OPT_IN', source: 'CONSENT_CENTER', noticeVersion: 'n-3', sensitive: false, expiresAt: null },
  { purpose: 'ai_training', action: 'GRANT', source: 'CRM', noticeVersion: 'n-3', sensitive: false, expiresAt: null },
  { purpose: 'personalization', action: 'GRANT', source: 'API', noticeVersion: 'n-3', sensitive: true, expiresAt: null },
  { purpose: 'ai_training', action: 'WITHDRAW', source: 'CRM', noticeVersion: null, sensitive: false, expiresAt: null },
];
const MUTATION = { GRANT, WITHDRAW, OPT_OUT, OPT_IN };

/** A Park–Miller generator: the same permutations on every run. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  let state = seed;
  const next = () => {
    state = (state * 48271) % 2147483647;
    return state / 2147483647;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const STATUS = `query($s: SubjectInput!) { consentStatus(subject: $s) { purpose regime permitted reason } }`;
const statusOf = async (customerId: string) =>
  (await app.graphql(STATUS, { client: 'consent-center', purpose: 'consent_management', variables: { s: { id: customerId } } })).body.data
    .consentStatus;

describe('state from events imported out of order', () => {
  let expected: Awaited<ReturnType<typeof statesOf>>;
  let expectedStatus: unknown;

  beforeAll(async () => {
    // The reference: the history recorded through the ledger, in time order.
    const inOrder = await createSubject(app.db, { country: 'DE' });
    for (const c of HISTORY) {
      const { body } = await app.graphql(MUTATION[c.action], {
        client: 'consent-center',
        purpose: 'consent_management',
        variables: {
          input: {
            subject: { id: inOrder.id },
            purposes: [c.purpose],
            source: c.source,
            noticeVersion: c.noticeVersion,
            sensitive: c.sensitive,
            expiresAt: c.expiresAt,
          },
        },
      });
      expect(body.errors).toBeUndefined();
    }
    expected = await statesOf(app, inOrder.id);
    expectedStatus = await statusOf(inOrder.id);
    expect(expected.length).toBeGreaterThan(3);
  });

  for (const seed of [1, 7, 42, 1234, 99_991]) {
    it(`leaves the state recording them in time order would (permutation ${seed})`, async () => {
      const subject = await createSubject(app.db, { country: 'DE' });
      const start = Date.UTC(2024, 0, 1);
      const lines = HISTORY.map((c, i) =>
        eventLine(
          { id: subject.id },
          {
            ...c,
            recordedAt: new Date(start + i * 86_400_000).toISOString(),
            proof: c.action === 'GRANT' || c.action === 'OPT_IN' ? { reference: `proof-${i}` } : undefined,
          },
        ),
      );
      // In a random order, split into imports of random sizes (each again in batches of 3).
      const order = shuffled(lines, seed);
      let recorded = 0;
      for (let at = 0; at < order.length; ) {
        const size = 1 + Math.floor(shuffled([0, 1, 2, 3, 4, 5], seed + at)[0]);
        const { body } = await importLines(app, ndjson(order.slice(at, at + size)));
        expect(body.rejections).toEqual([]);
        recorded += body.recorded;
        at += size;
      }
      expect(recorded).toBe(HISTORY.length);
      expect(await statesOf(app, subject.id)).toEqual(expected);
      expect(await statusOf(subject.id)).toEqual(expectedStatus);
      // Each scope's state carries the time of the latest event in it.
      const { rows } = await app.db.pool.query(
        `SELECT bool_and(s.updated_at = (SELECT max(e.recorded_at) FROM consent_event e
                 WHERE e.customer_id = s.customer_id AND e.purpose_key = s.purpose_key AND e.sensitive = s.sensitive)) AS latest
           FROM consent_state s WHERE s.customer_id = $1`,
        [subject.id],
      );
      expect(rows[0].latest).toBe(true);
    });
  }
});
