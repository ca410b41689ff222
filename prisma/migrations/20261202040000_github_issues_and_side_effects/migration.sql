-- One live task per issue of a repository: assigning an issue twice finds the first task.
-- Prisma cannot express a partial unique index; it lives here only (keep it in later migrations).
CREATE UNIQUE INDEX "tasks_live_issue_idx" ON "tasks"("repo_url", (("metadata"->>'issueNumber')))
    WHERE "metadata" ? 'issueNumber' AND "state" NOT IN ('completed', 'cancelled');

-- CreateTable
CREATE TABLE "side_effects" (
    "task_id" UUID NOT NULL,
    "purpose" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'pending',
    "input" JSONB NOT NULL DEFAULT '{}',
    "result" JSONB,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "side_effects_pkey" PRIMARY KEY ("task_id","purpose")
);

-- CreateIndex
CREATE INDEX "side_effects_state_next_attempt_at_idx" ON "side_effects"("state", "next_attempt_at");

-- AddForeignKey
ALTER TABLE "side_effects" ADD CONSTRAINT "side_effects_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "tasks"("id") ON DELETE CASCADE ON UPDATE CASCADE;
