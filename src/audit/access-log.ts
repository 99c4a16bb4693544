import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import type { Context } from '../schema/context.ts';

/**
 * Records who read whose data for which purpose, after the response is
 * decided and without delaying it: the write is not awaited. A failed write
 * is logged, never surfaced to the client whose read already succeeded.
 */
export function recordAccess(db: Database, logger: Logger, ctx: Context, operationName: string | undefined): void {
  const consent = ctx.consent;
  if (!consent) return;
  const summary = {
    clientId: ctx.client?.id ?? null,
    purposeKey: consent.purpose.key,
    operation: operationName ?? null,
    subjectIds: consent.subjectIds(),
    fieldsMasked: consent.maskedFields,
    rowsExcluded: consent.excludedRows,
  };
  db.pool
    .query(
      `INSERT INTO access_record (client_id, purpose_key, operation, subject_ids, fields_masked, rows_excluded)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [summary.clientId, summary.purposeKey, summary.operation, summary.subjectIds, summary.fieldsMasked, summary.rowsExcluded],
    )
    .catch((error: unknown) => logger.error({ err: error, audit: summary }, 'could not record access'));
}
