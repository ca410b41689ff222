-- DropIndex
DROP INDEX "runs_claim_id_key";

-- AlterTable
ALTER TABLE "repos" ADD COLUMN     "required_labels" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "runners" ADD COLUMN     "pool" JSONB;

-- AlterTable
ALTER TABLE "tasks" ADD COLUMN     "required_labels" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- CreateIndex
CREATE INDEX "runs_claim_id_idx" ON "runs"("claim_id");

