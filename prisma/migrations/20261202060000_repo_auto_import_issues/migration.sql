-- AlterTable
ALTER TABLE "repos" ADD COLUMN     "auto_import_issues" BOOLEAN NOT NULL DEFAULT false;
