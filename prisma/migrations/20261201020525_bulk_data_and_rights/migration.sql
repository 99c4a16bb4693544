-- Bulk data and data-subject rights (issue #11): extracts and their lineage,
-- per-subject access rows, erasure requests and proofs, imported consent events.
-- CreateEnum
CREATE TYPE "ExtractStatus" AS ENUM ('RUNNING', 'COMPLETE', 'FAILED');

-- CreateEnum
CREATE TYPE "ErasureStatus" AS ENUM ('PENDING', 'DONE');

-- AlterTable (subject_ids is dropped below, once access_subject holds its contents)
ALTER TABLE "access_record" ADD COLUMN     "fields_returned" TEXT[],
ADD COLUMN     "subjects" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "consent_event" ADD COLUMN     "imported_at" TIMESTAMP(3),
ADD COLUMN     "proof_reference" TEXT;

-- CreateTable
CREATE TABLE "access_subject" (
    "record_id" BIGINT NOT NULL,
    "customer_id" UUID NOT NULL,
    "returned" TEXT[],
    "masked" TEXT[],
    "occurred_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "access_subject_pkey" PRIMARY KEY ("customer_id","occurred_at","record_id")
);

-- Access records written before this migration named their subjects in access_record.subject_ids:
-- each becomes an access_subject row, with the fields returned and masked unknown (NULL).
INSERT INTO "access_subject" ("record_id", "customer_id", "returned", "masked", "occurred_at")
SELECT a."id", s.id::uuid, NULL, NULL, a."occurred_at"
  FROM "access_record" a, unnest(a."subject_ids") AS s(id)
ON CONFLICT DO NOTHING;
UPDATE "access_record" SET "subjects" = cardinality("subject_ids") WHERE cardinality("subject_ids") > 0;
ALTER TABLE "access_record" DROP COLUMN "subject_ids";

-- CreateTable
CREATE TABLE "extract" (
    "id" BIGSERIAL NOT NULL,
    "client_id" UUID,
    "purpose_key" TEXT NOT NULL,
    "purpose_version" INTEGER NOT NULL,
    "policy_version" TEXT NOT NULL,
    "snapshot_at" TIMESTAMP(3) NOT NULL,
    "format" TEXT NOT NULL,
    "fields" TEXT[],
    "status" "ExtractStatus" NOT NULL DEFAULT 'RUNNING',
    "manifest" JSONB,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completed_at" TIMESTAMP(3),

    CONSTRAINT "extract_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "extract_member" (
    "customer_id" UUID NOT NULL,
    "extract_id" BIGINT NOT NULL,

    CONSTRAINT "extract_member_pkey" PRIMARY KEY ("customer_id","extract_id")
);

-- CreateTable
CREATE TABLE "erasure" (
    "id" BIGSERIAL NOT NULL,
    "subject_hash" TEXT NOT NULL,
    "customer_id" UUID,
    "status" "ErasureStatus" NOT NULL DEFAULT 'PENDING',
    "source" TEXT NOT NULL,
    "requested_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completed_at" TIMESTAMP(3),

    CONSTRAINT "erasure_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "access_subject_occurred_at_idx" ON "access_subject"("occurred_at");

-- CreateIndex
CREATE INDEX "extract_purpose_key_created_at_idx" ON "extract"("purpose_key", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "erasure_subject_hash_key" ON "erasure"("subject_hash");

-- CreateIndex
CREATE INDEX "erasure_status_idx" ON "erasure"("status");

-- CreateIndex
CREATE INDEX "access_record_client_id_occurred_at_idx" ON "access_record"("client_id", "occurred_at");

-- CreateIndex
CREATE INDEX "access_record_purpose_key_occurred_at_idx" ON "access_record"("purpose_key", "occurred_at");
