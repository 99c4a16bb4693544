import { PURPOSES } from '../../policy/taxonomy.ts';
import { DEMO_CLIENTS, hashApiKey } from '../demo-clients.ts';
import type { SeedClient } from './client.ts';
import { SEED_NAME } from './constants.ts';
import { pgTextArray } from './format.ts';
import { Rng } from './random.ts';

// Reference rows that code defines (purposes, demo API clients): upserted by the
// seed and again on every server start, so the database follows the code.

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

/** Upserts the DEMO_CLIENTS into api_client (by name), storing only the hash of each key. */
export async function syncDemoClients(client: SeedClient, options: { now?: Date } = {}): Promise<void> {
  // Each id derives from the client's name, not its place in the list: a demo
  // client added later must not take an existing client's id.
  const idOf = (name: string) => new Rng(`${SEED_NAME}:client:${name}`).uuid();
  await client.query(
    `INSERT INTO "api_client" ("id", "name", "key_hash", "role", "allowed_purposes", "can_explain", "created_at", "updated_at")
     SELECT i, n, h, r::"ClientRole", p::text[], e, ts, ts
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bool[]) AS u(i, n, h, r, p, e),
            LATERAL (SELECT COALESCE($7::timestamp, now() AT TIME ZONE 'UTC') AS ts) AS n
     ON CONFLICT ("name") DO UPDATE
        SET "key_hash" = EXCLUDED."key_hash", "role" = EXCLUDED."role",
            "allowed_purposes" = EXCLUDED."allowed_purposes", "can_explain" = EXCLUDED."can_explain"`,
    [
      DEMO_CLIENTS.map((c) => idOf(c.name)),
      DEMO_CLIENTS.map((c) => c.name),
      DEMO_CLIENTS.map((c) => hashApiKey(c.apiKey)),
      DEMO_CLIENTS.map((c) => c.role),
      DEMO_CLIENTS.map((c) => pgTextArray(c.allowedPurposes)),
      DEMO_CLIENTS.map((c) => c.canExplain),
      options.now ? options.now.toISOString() : null,
    ],
  );
}
