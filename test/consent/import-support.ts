import { randomUUID } from 'node:crypto';
import { keyOf, type TestApp } from '../support/app.ts';

// Imports through POST /consent/import, as a CRM sends them.

export const IMPORT_PATH = '/consent/import';
export const RECORDER_HEADERS = {
  authorization: `Bearer ${keyOf('consent-center')}`,
  'x-purpose': 'consent_management',
  'content-type': 'application/x-ndjson',
};

export interface ImportResponse {
  status: number;
  body: any;
}

/** One event line; `overrides` replace fields (undefined removes one). */
export function eventLine(subject: { id?: string; externalId?: string }, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const line: Record<string, unknown> = {
    eventId: `crm-${randomUUID()}`,
    subject,
    purpose: 'marketing',
    action: 'GRANT',
    recordedAt: '2025-03-01T12:00:00Z',
    source: 'CRM',
    noticeVersion: 'privacy-2025-01',
    proof: { reference: 'form-submission-4711' },
    ...overrides,
  };
  for (const key of Object.keys(line)) if (line[key] === undefined) delete line[key];
  return line;
}

export const ndjson = (lines: readonly (Record<string, unknown> | string)[]) =>
  `${lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n')}\n`;

export async function importLines(
  app: TestApp,
  body: string | ReadableStream<Uint8Array>,
  headers: Record<string, string> = RECORDER_HEADERS,
): Promise<ImportResponse> {
  const response = await app.fetch(IMPORT_PATH, {
    method: 'POST',
    headers,
    body,
    // @ts-expect-error Node's fetch needs this for a streamed body; missing from the DOM types.
    duplex: 'half',
  });
  return { status: response.status, body: await response.json() };
}

/** The consent_event rows of a subject, oldest first by id. */
export async function eventsOf(app: TestApp, customerId: string) {
  const { rows } = await app.db.pool.query(
    `SELECT purpose_key AS purpose, action::text AS action, source::text AS source, notice_version AS "noticeVersion",
            (recorded_at AT TIME ZONE 'UTC') AS "recordedAt", (imported_at AT TIME ZONE 'UTC') AS "importedAt",
            proof_reference AS "proofReference", ip_hash AS "ipHash", user_agent AS "userAgent", regime::text AS regime
       FROM consent_event WHERE customer_id = $1 ORDER BY id`,
    [customerId],
  );
  return rows;
}

/** The consent_state rows of a subject, without the ids and times that depend on when they were written. */
export async function statesOf(app: TestApp, customerId: string) {
  const { rows } = await app.db.pool.query(
    `SELECT purpose_key AS purpose, regime::text AS regime, sensitive, action::text AS action, purpose_version AS "purposeVersion",
            (expires_at AT TIME ZONE 'UTC') AS "expiresAt", source::text AS source
       FROM consent_state WHERE customer_id = $1 ORDER BY purpose_key, regime, sensitive`,
    [customerId],
  );
  return rows;
}

export async function outboxOf(app: TestApp, customerId: string) {
  const { rows } = await app.db.pool.query(`SELECT id, payload FROM outbox_event WHERE customer_id = $1 ORDER BY id`, [customerId]);
  return rows as { id: string; payload: Record<string, unknown> }[];
}
