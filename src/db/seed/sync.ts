import { DEMO_CLIENTS, hashApiKey } from '../demo-clients.ts';
import type { SeedClient } from './client.ts';
import { SEED_NAME } from './constants.ts';
import { pgTextArray } from './format.ts';
import { Rng } from './random.ts';

// The demo API clients: upserted by the seed and again on every development
// start, so the demo database follows the code (purposes: src/db/purposes.ts).

export { syncPurposes } from '../purposes.ts';

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
