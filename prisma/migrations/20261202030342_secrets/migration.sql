-- CreateTable
CREATE TABLE "secrets" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "scope" TEXT NOT NULL,
    "repo_id" UUID,
    "encrypted" TEXT NOT NULL,
    "created_by" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "secrets_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "secrets_repo_id_idx" ON "secrets"("repo_id");

-- CreateIndex
CREATE UNIQUE INDEX "secrets_name_scope_key" ON "secrets"("name", "scope");

-- AddForeignKey
ALTER TABLE "secrets" ADD CONSTRAINT "secrets_repo_id_fkey" FOREIGN KEY ("repo_id") REFERENCES "repos"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- Hand-written: scope names the repo exactly when repo_id is set.
ALTER TABLE "secrets" ADD CONSTRAINT "secrets_scope_check" CHECK ("scope" = COALESCE("repo_id"::text, 'global'));
