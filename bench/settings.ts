// What one `npm run bench` uses: its mode and sizes, the request it measures,
// and the demo clients it acts as. Read once, by every section.

export const quick = process.argv.includes('--quick');
export const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? (quick ? 5000 : 100_000));
/** Rounds and durations (s) of each measurement: the quick mode only checks that everything runs. */
export const T = quick
  ? { rounds: 2, seconds: 2, warm: 1, soak: 10, embedded: 3, propSeconds: 2, blocks: 6, perBlock: 10, floorRounds: 1 }
  : { rounds: 10, seconds: 2, warm: 3, soak: 60, embedded: 10, propSeconds: 5, blocks: 40, perBlock: 15, floorRounds: 5 };

/** Every server of the run masks with this key, so hashed values are comparable across them. */
export const HMAC_KEYS = 'bench:consentql-benchmark-only-secret-0123456789abcdef';
/** Production servers also need the key that hashes IPs in proofs of consent. */
export const PROOF_KEY = 'bench-proof-key-of-at-least-32-characters';

// The analytics app under "analytics": 10 tagged fields of 100 customers; email
// (hmac), phone (partial) and firstName (null) are not served for analytics, so
// 30 % are masked. Subjects without a legal basis for analytics (no consent in
// the EU, an opt-out in the US) are not selected at all, on every server of the
// run (the row filter is in SQL; the baseline switches off field decisions only):
// the page is the first 100 customers analytics may process.
/** The 11 columns of every page section 1 measures (10 tagged fields and the id), the floor's too. */
export const COLUMNS = 'id email phone firstName city segment churnScore riskBand lifetimeValue country createdAt';
export const QUERY = `query AnalyticsPage($first: Int!) {
  customers(first: $first) {
    edges { node { ${COLUMNS} } }
  }
}`;
export const HEADERS = { 'content-type': 'application/json', authorization: 'Bearer dev-analytics-app-key', 'x-purpose': 'analytics' };
export const PAGE_SIZE = 100;
export const BODY = JSON.stringify({ query: QUERY, variables: { first: PAGE_SIZE } });
export const FIELDS_PER_PAGE = PAGE_SIZE * 10;
/** A page of customers with their latest orders and tickets: two nested lists per row. */
export const NESTED_QUERY = `query NestedPage($first: Int!) {
  customers(first: $first) {
    edges { node { ${COLUMNS} orders(first: 5) { id status total placedAt } tickets(first: 2) { id status channel openedAt } } }
  }
}`;
/** The pages section 1 compares with the floor (bench/floor.ts): the same rows and columns on every server. */
export const FLOOR_PAGES = [
  { key: '100', label: '100-row page', size: PAGE_SIZE, body: BODY },
  { key: '1000', label: '1,000-row page', size: 1000, body: JSON.stringify({ query: QUERY, variables: { first: 1000 } }) },
  {
    key: 'nested',
    label: 'nested page (100 customers, ≤ 5 orders and ≤ 2 tickets each)',
    size: PAGE_SIZE,
    body: JSON.stringify({ query: NESTED_QUERY, variables: { first: PAGE_SIZE } }),
  },
] as const;

// A consent change, as the consent center records it (sections 2 and 3).
export const ADMIN = 'Bearer dev-admin-key';
export const RECORDER = 'Bearer dev-consent-center-key';
/**
 * Recording consent returns consent events (personal data), and reading consent
 * as the consent center or an admin is done for this purpose: the consent
 * center's key is registered for it, the admin's for every purpose.
 */
export const CONSENT_MANAGEMENT = 'consent_management';
export const RECORDER_HEADERS = { authorization: RECORDER, 'x-purpose': CONSENT_MANAGEMENT };
export const GRANT = `mutation($input: ConsentChoiceInput!) { grantConsent(input: $input) { events { id } } }`;
export const grantInput = (customerId: string, purpose: string) => ({
  input: { subject: { id: customerId }, purposes: [purpose], source: 'API', noticeVersion: 'bench-1' },
});

const started = performance.now();
export const elapsedSeconds = () => (performance.now() - started) / 1000;
export const log = (msg: string) => console.log(`[bench ${elapsedSeconds().toFixed(0).padStart(3)} s] ${msg}`);
