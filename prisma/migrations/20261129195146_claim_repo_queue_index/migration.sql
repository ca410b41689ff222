-- CreateIndex
CREATE INDEX "tasks_repo_queue_idx" ON "tasks"("state", "repo_url", "priority", "position", "created_at");

