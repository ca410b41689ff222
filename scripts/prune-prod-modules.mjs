#!/usr/bin/env node
// Deletes from node_modules/.pnpm every package the given workspace packages cannot reach through
// their production dependencies, not counting SKIPPED optional peers. pnpm installs optional peers
// it finds in the lockfile (the Prisma CLI and TypeScript, for @prisma/client), which production
// never loads: they made the API image 400 MB larger.
// usage (in an image build, after `pnpm install --prod --filter`): prune-prod-modules.mjs DIR...
import { existsSync, readdirSync, realpathSync, rmSync } from "node:fs";
import path from "node:path";

const SKIPPED = new Set(["prisma", "typescript"]);
const store = path.resolve("node_modules/.pnpm");

/** The `node_modules/<name>` symlinks in a directory, scoped names included. */
function linked(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) =>
    name.startsWith("@")
      ? readdirSync(path.join(dir, name)).map((scoped) => `${name}/${scoped}`)
      : name.startsWith(".")
        ? []
        : [name],
  );
}

const reachable = new Set();
const queue = process.argv.slice(2).map((dir) => path.resolve(dir, "node_modules"));
while (queue.length > 0) {
  const modules = queue.pop();
  for (const name of linked(modules)) {
    if (SKIPPED.has(name)) continue;
    const real = realpathSync(path.join(modules, name));
    if (!real.startsWith(store + path.sep)) continue; // a workspace package: bundled already
    const entry = real.slice(store.length + 1).split(path.sep)[0];
    if (reachable.has(entry)) continue;
    reachable.add(entry);
    queue.push(path.join(store, entry, "node_modules"));
  }
}
let removed = 0;
for (const entry of readdirSync(store))
  if (
    !reachable.has(entry) &&
    entry !== "node_modules" &&
    !entry.startsWith(".") &&
    !entry.endsWith(".yaml")
  ) {
    rmSync(path.join(store, entry), { recursive: true, force: true });
    removed++;
  }
console.log(`prune-prod-modules: kept ${reachable.size} packages, removed ${removed}`);
