import { PURPOSES } from '../policy/taxonomy.ts';
import type { SeedClient } from './seed/client.ts';

// The purpose rows are defined by code (src/policy/taxonomy.ts) and upserted
// on every server start, so the database follows the code. Kept apart from the
// demo-data generator, which a production process never loads.

/**
 * Upserts the `purpose` rows from PURPOSES (src/policy/taxonomy.ts). Called by
 * the seed and on every server start; a row changes (and gets a new
 * updated_at) only when its title, description or version changed. Purposes
 * no longer in the taxonomy are left alone: the ledger still refers to them.
 */
export async function syncPurposes(client: SeedClient, options: { now?: Date } = {}): Promise<{ changed: string[] }> {
  const { rows } = await client.query(
    `INSERT INTO "purpose" ("key", "title", "description", "version", "created_at", "updated_at")
     SELECT k, t, d, v, ts, ts
       FROM unnest($1::text[], $2::text[], $3::text[], $4::int4[]) AS u(k, t, d, v),
            LATERAL (SELECT COALESCE($5::timestamp, now() AT TIME ZONE 'UTC') AS ts) AS n
     ON CONFLICT ("key") DO UPDATE
        SET "title" = EXCLUDED."title", "description" = EXCLUDED."description",
            "version" = EXCLUDED."version", "updated_at" = EXCLUDED."updated_at"
      WHERE ("purpose"."title", "purpose"."description", "purpose"."version")
            IS DISTINCT FROM (EXCLUDED."title", EXCLUDED."description", EXCLUDED."version")
     RETURNING "key"`,
    [
      PURPOSES.map((p) => p.key),
      PURPOSES.map((p) => p.title),
      PURPOSES.map((p) => p.description),
      PURPOSES.map((p) => p.version),
      options.now ? options.now.toISOString() : null,
    ],
  );
  return { changed: rows.map((r) => r.key as string) };
}
