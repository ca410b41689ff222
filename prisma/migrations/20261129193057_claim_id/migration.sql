-- AlterTable
ALTER TABLE "runs" ADD COLUMN     "claim_id" UUID;

-- CreateIndex
CREATE UNIQUE INDEX "runs_claim_id_key" ON "runs"("claim_id");

