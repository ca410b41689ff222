#!/usr/bin/env node
// Compiles the services' TypeScript into one CommonJS file per entrypoint for production images,
// so images carry production dependencies only (no tsx, no TypeScript). Workspace packages
// (@optio/*) and the generated Prisma client are bundled in; every npm dependency stays external
// and is installed with `pnpm install --prod`.
// Each bundle sits in its service's `dist/`, one level below `src/`, so `__dirname`-relative reads
// (the API's package.json, prisma/migrations) resolve as they do from the sources.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export const ENTRYPOINTS = {
  "services/api/dist/main.js": "services/api/src/main.ts",
  "services/api/dist/migrate.js": "services/api/scripts/migrate.ts",
  "services/runner/dist/main.js": "services/runner/src/main.ts",
};

/** Every npm dependency of a workspace package: resolved at run time from node_modules. */
function externals() {
  const names = new Set();
  for (const dir of [
    "services/api",
    "services/runner",
    "packages/contracts",
    "packages/core",
    "packages/agents",
  ]) {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, dir, "package.json"), "utf8"));
    for (const name of Object.keys(pkg.dependencies ?? {})) if (!name.startsWith("@optio/")) names.add(name);
  }
  return [...names].flatMap((name) => [name, `${name}/*`]);
}

export async function buildDist() {
  const external = externals();
  for (const [outfile, entry] of Object.entries(ENTRYPOINTS))
    await build({
      entryPoints: [path.join(repoRoot, entry)],
      outfile: path.join(repoRoot, outfile),
      bundle: true,
      platform: "node",
      target: "node20",
      format: "cjs",
      external,
      sourcemap: "linked",
      logLevel: "warning",
    });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  buildDist().catch((error) => {
    console.error(error.message);
    process.exit(1);
  });
