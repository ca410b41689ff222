-- AlterTable
ALTER TABLE "runs" ADD COLUMN     "last_report_seq" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "runners" (
    "id" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "driver" TEXT NOT NULL,
    "isolated" BOOLEAN NOT NULL,
    "slots_total" INTEGER NOT NULL,
    "slots_busy" INTEGER NOT NULL,
    "agent_types" TEXT[],
    "labels" TEXT[],
    "stopping" BOOLEAN NOT NULL DEFAULT false,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "last_heartbeat_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "runners_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "runners_last_heartbeat_at_idx" ON "runners"("last_heartbeat_at");

