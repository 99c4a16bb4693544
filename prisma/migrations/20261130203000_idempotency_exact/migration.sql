-- Idempotency keys matched exactly, beside the ledger rather than in it.
--
-- Until now each keyed event stored "<client id>:<key>:<purpose>" in
-- consent_event.idempotency_key, and a retry was found with a prefix match
-- (LIKE '<client id>:<key>:%'), in which "_" and "%" of a client's key were
-- wildcards: a key could match another request's events (a withdrawal answered
-- as a replay of an earlier one, and never recorded), and the match was a
-- sequential scan of the ledger under the ledger lock. The keys now live in
-- "consent_idempotency", one row per event of a keyed request, under a primary
-- key (client_id, idempotency_key, purpose_key): a retry is one probe of that
-- index, with "=" only. "fingerprint" is the SHA-256 of the canonical request
-- (src/consent/idempotency.ts, requestFingerprint), so that a key reused for a
-- different request is refused rather than replayed.

-- CreateTable
CREATE TABLE "consent_idempotency" (
    "client_id" TEXT NOT NULL,
    "idempotency_key" TEXT NOT NULL,
    "purpose_key" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "event_id" BIGINT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "consent_idempotency_pkey" PRIMARY KEY ("client_id","idempotency_key","purpose_key")
);

-- CreateIndex
CREATE UNIQUE INDEX "consent_idempotency_event_id_key" ON "consent_idempotency"("event_id");

-- AddForeignKey
ALTER TABLE "consent_idempotency" ADD CONSTRAINT "consent_idempotency_event_id_fkey" FOREIGN KEY ("event_id") REFERENCES "consent_event"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Backfill: the keys already recorded keep replaying.
--
-- The client id (a UUID, or the consent center page's name) and the purpose
-- key hold no colon, so the client is what precedes the first colon, the
-- purpose what follows the last, and the client's key (which may hold colons)
-- everything between. A stored value of any other shape cannot have been
-- written by the ledger, and the old prefix match could not find it for its
-- own key either: it is left out.
--
-- One request recorded one event per purpose, all with the same choice; the
-- fingerprint is computed over the request as the ledger sees it on a retry:
-- these lines, joined by a line feed (requestFingerprint builds the same):
--   consentql.idempotency.v1
--   the subject's id (lower-case UUID)
--   the purpose keys, sorted (byte order), joined by ","
--   action, source, sensitive ("true"/"false")
--   noticeVersion as a JSON string, or null
--   expiresAt as ISO-8601 UTC with milliseconds (Date.prototype.toISOString), or null
-- to_json(text) escapes exactly as JSON.stringify does for text a database
-- can hold (", \, \b \f \n \r \t, other control characters as \u00xx).
WITH keyed AS (
    SELECT e."id", e."purpose_key", e."recorded_at",
           split_part(e."idempotency_key", ':', 1) AS "client_id",
           substring(e."idempotency_key" FROM '^[^:]+:(.+):[^:]+$') AS "key"
      FROM "consent_event" e
     WHERE e."idempotency_key" ~ '^[^:]+:.+:[^:]+$'
),
request AS (
    SELECT k."client_id", k."key",
           min(k."id") AS "first_id",
           string_agg(k."purpose_key", ',' ORDER BY k."purpose_key" COLLATE "C") AS "purposes"
      FROM keyed k
     GROUP BY k."client_id", k."key"
),
fingerprinted AS (
    SELECT r."client_id", r."key",
           encode(sha256(convert_to(concat_ws(E'\n',
               'consentql.idempotency.v1',
               f."customer_id"::text,
               r."purposes",
               f."action"::text,
               f."source"::text,
               CASE WHEN f."sensitive" THEN 'true' ELSE 'false' END,
               COALESCE(to_json(f."notice_version")::text, 'null'),
               COALESCE(to_char(f."expires_at", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'null')
           ), 'UTF8')), 'hex') AS "fingerprint"
      FROM request r
      JOIN "consent_event" f ON f."id" = r."first_id"
)
INSERT INTO "consent_idempotency" ("client_id", "idempotency_key", "purpose_key", "fingerprint", "event_id", "created_at")
SELECT k."client_id", k."key", k."purpose_key", p."fingerprint", k."id", k."recorded_at"
  FROM keyed k
  JOIN fingerprinted p ON p."client_id" = k."client_id" AND p."key" = k."key";

-- DropIndex
DROP INDEX "consent_event_idempotency_key_key";

-- AlterTable
ALTER TABLE "consent_event" DROP COLUMN "idempotency_key";
