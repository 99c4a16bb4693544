-- AlterEnum
ALTER TYPE "ClientRole" ADD VALUE 'CONSENT_RECORDER';

-- AlterTable
ALTER TABLE "outbox_event" ADD COLUMN     "dispatched_at" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "webhook_delivery" ADD COLUMN     "last_attempt_at" TIMESTAMP(3),
ADD COLUMN     "last_status" INTEGER;

-- AlterTable
ALTER TABLE "webhook_subscription" ADD COLUMN     "description" TEXT;

-- CreateIndex
CREATE INDEX "outbox_event_dispatched_at_id_idx" ON "outbox_event"("dispatched_at", "id");
