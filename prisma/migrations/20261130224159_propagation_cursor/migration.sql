-- Where a sink that follows the outbox in id order (the NATS JetStream sink)
-- stands: advanced only after the broker acknowledged everything up to it, so
-- a failed or interrupted publish is published again, never skipped.
-- CreateTable
CREATE TABLE "propagation_cursor" (
    "name" TEXT NOT NULL,
    "position" BIGINT NOT NULL DEFAULT 0,
    "holder" TEXT,
    "leased_until" TIMESTAMP(3),
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "propagation_cursor_pkey" PRIMARY KEY ("name")
);
