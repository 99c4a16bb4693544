-- The life cycle of API clients (issue 9, finding 6): created, changed,
-- rotated, expired and revoked through admin mutations or `npm run client`
-- (src/clients/manage.ts), every change audited.
--
-- api_client gains:
--   "previous_key_hash", "previous_key_expires_at": after a rotation, the
--     SHA-256 of the old key and the instant it stops working (the overlap
--     during which its holders switch to the new key). Unique, like
--     "key_hash": authentication looks a key up in either, one indexed probe.
--   "expires_at": the key is refused from then on (null: no expiry).
--   "revoked_at": revoked, refused from then on, for good.
--   "updated_at", "created_by", "updated_by": when it last changed, and which
--     admin client created and changed it (null for seeded clients and for
--     `npm run client`). Existing rows take the time of this migration.
--
-- client_audit: one row per change, with who (the admin client's id, or the
-- command line), what, which client, when and the changed fields, never a key
-- or a hash. No foreign keys: the trail outlives the rows it names.

-- CreateEnum
CREATE TYPE "ClientAuditAction" AS ENUM ('CREATE', 'UPDATE', 'ROTATE_KEY', 'SET_EXPIRY', 'REVOKE');

-- AlterTable
ALTER TABLE "api_client" ADD COLUMN     "created_by" UUID,
ADD COLUMN     "expires_at" TIMESTAMP(3),
ADD COLUMN     "previous_key_expires_at" TIMESTAMP(3),
ADD COLUMN     "previous_key_hash" TEXT,
ADD COLUMN     "revoked_at" TIMESTAMP(3),
ADD COLUMN     "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
ADD COLUMN     "updated_by" UUID;

-- CreateTable
CREATE TABLE "client_audit" (
    "id" BIGSERIAL NOT NULL,
    "actor_client_id" UUID,
    "actor" TEXT NOT NULL,
    "action" "ClientAuditAction" NOT NULL,
    "client_id" UUID NOT NULL,
    "client_name" TEXT NOT NULL,
    "changes" JSONB NOT NULL,
    "occurred_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "client_audit_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "client_audit_client_id_occurred_at_idx" ON "client_audit"("client_id", "occurred_at");

-- CreateIndex
CREATE INDEX "client_audit_occurred_at_idx" ON "client_audit"("occurred_at");

-- CreateIndex
CREATE UNIQUE INDEX "api_client_previous_key_hash_key" ON "api_client"("previous_key_hash");
