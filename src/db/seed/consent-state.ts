import type { SeedClient } from './client.ts';

/**
 * (Re)derives consent_state from the ledger: the latest event (by recorded_at,
 * then id) per customer × purpose × regime × scope becomes the state row.
 * Limited to `customerIds` when given; otherwise every subject.
 */
export async function deriveConsentState(client: SeedClient, options: { customerIds?: readonly string[] } = {}): Promise<void> {
  const filter = options.customerIds ? 'WHERE "customer_id" = ANY($1::uuid[])' : '';
  await client.query(
    `INSERT INTO "consent_state"
       ("customer_id", "purpose_key", "regime", "sensitive", "action", "purpose_version", "expires_at", "source", "last_event_id", "updated_at")
     SELECT DISTINCT ON ("customer_id", "purpose_key", "regime", "sensitive")
            "customer_id", "purpose_key", "regime", "sensitive", "action", "purpose_version", "expires_at", "source", "id", "recorded_at"
       FROM "consent_event" ${filter}
      ORDER BY "customer_id", "purpose_key", "regime", "sensitive", "recorded_at" DESC, "id" DESC
     ON CONFLICT ("customer_id", "purpose_key", "regime", "sensitive") DO UPDATE
        SET "action" = EXCLUDED."action", "purpose_version" = EXCLUDED."purpose_version",
            "expires_at" = EXCLUDED."expires_at", "source" = EXCLUDED."source",
            "last_event_id" = EXCLUDED."last_event_id", "updated_at" = EXCLUDED."updated_at"`,
    options.customerIds ? [options.customerIds] : undefined,
  );
}
