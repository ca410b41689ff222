-- AlterTable
ALTER TABLE "repos" ADD COLUMN     "cautious_mode" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "max_auto_resumes" INTEGER NOT NULL DEFAULT 3,
ADD COLUMN     "merge_method" TEXT NOT NULL DEFAULT 'squash',
ADD COLUMN     "require_approval" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "review_trigger" TEXT NOT NULL DEFAULT 'on_ci_pass';

-- CreateTable
CREATE TABLE "pr_watches" (
    "task_id" UUID NOT NULL,
    "pr_number" INTEGER NOT NULL,
    "observed" JSONB,
    "observed_version" INTEGER NOT NULL DEFAULT 0,
    "observed_at" TIMESTAMPTZ(3),
    "handled" JSONB,
    "handled_version" INTEGER NOT NULL DEFAULT 0,
    "handled_at" TIMESTAMPTZ(3),
    "auto_resumes" INTEGER NOT NULL DEFAULT 0,
    "review_task_id" UUID,
    "review_sha" TEXT,
    "review_status" TEXT,
    "review_body" TEXT,
    "review_posted" BOOLEAN NOT NULL DEFAULT false,
    "close_requested" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "pr_watches_pkey" PRIMARY KEY ("task_id")
);

-- CreateTable
CREATE TABLE "webhook_deliveries" (
    "id" TEXT NOT NULL,
    "event" TEXT NOT NULL,
    "action" TEXT,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "webhook_deliveries_received_at_idx" ON "webhook_deliveries"("received_at");

-- AddForeignKey
ALTER TABLE "pr_watches" ADD CONSTRAINT "pr_watches_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "tasks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

