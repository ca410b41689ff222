// Gets a checkout ready to run: pnpm, installed dependencies, the generated Prisma client.
// Each step keeps a stamp (a hash of its inputs) next to its output and is skipped, silently,
// while the stamp matches. Run directly (`node scripts/lib/bootstrap.mjs`) or import bootstrap().
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { commandExists, log, run } from "./system.mjs";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

function hashFiles(files) {
  const hash = createHash("sha256");
  for (const file of files) {
    hash.update(file);
    hash.update(existsSync(file) ? readFileSync(file) : "(missing)");
  }
  return hash.digest("hex");
}

function stampMatches(stampFile, value) {
  return existsSync(stampFile) && readFileSync(stampFile, "utf8").trim() === value;
}

function ensurePnpm() {
  if (commandExists("pnpm")) return;
  log("installing pnpm (npm i -g pnpm@10)");
  run("npm", ["install", "--global", "--no-fund", "--no-audit", "--loglevel=error", "pnpm@10"]);
}

function ensureDependencies() {
  const inputs = ["pnpm-lock.yaml", "pnpm-workspace.yaml"].map((f) => path.join(repoRoot, f));
  const stamp = path.join(repoRoot, "node_modules", ".optio-install-stamp");
  const value = hashFiles(inputs);
  if (stampMatches(stamp, value) && existsSync(path.join(repoRoot, "node_modules", ".modules.yaml"))) return;
  ensurePnpm();
  log("installing dependencies (pnpm install --frozen-lockfile)");
  run("pnpm", ["install", "--frozen-lockfile", "--reporter=append-only"], { cwd: repoRoot });
  writeFileSync(stamp, `${value}\n`);
}

function ensurePrismaClient() {
  const schema = path.join(repoRoot, "prisma", "schema.prisma");
  const output = path.join(repoRoot, "services", "api", "src", "generated");
  const prismaPackage = path.join(repoRoot, "node_modules", "prisma", "package.json");
  const stamp = path.join(output, ".optio-generate-stamp");
  const value = hashFiles([schema, path.join(repoRoot, "prisma.config.ts"), prismaPackage]);
  if (stampMatches(stamp, value) && existsSync(path.join(output, "prisma", "client.ts"))) return;
  log("generating the Prisma client");
  run(path.join(repoRoot, "node_modules", ".bin", "prisma"), ["generate"], {
    cwd: repoRoot,
    stdio: ["ignore", "ignore", "inherit"],
    env: {
      ...process.env,
      // The native schema engine cannot be downloaded here; generate only needs the path to exist.
      PRISMA_SCHEMA_ENGINE_BINARY: path.join(repoRoot, "scripts", "no-schema-engine.sh"),
      PRISMA_HIDE_UPDATE_MESSAGE: "1",
      CHECKPOINT_DISABLE: "1",
    },
  });
  writeFileSync(stamp, `${value}\n`);
}

export function bootstrap() {
  ensureDependencies();
  ensurePrismaClient();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    bootstrap();
  } catch (error) {
    console.error(`[optio] bootstrap failed: ${error.message}`);
    process.exit(1);
  }
}
