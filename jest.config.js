// Jest for the whole workspace: TypeScript through SWC (fast, no type checking: `npm run typecheck`
// does that), CommonJS output like tsconfig.base.json.
const { existsSync, readdirSync, readFileSync } = require("node:fs");
const path = require("node:path");

const swc = (syntax) => [
  "@swc/jest",
  {
    jsc: {
      parser: syntax === "typescript" ? { syntax: "typescript", tsx: false } : { syntax: "ecmascript" },
      target: "es2022",
    },
    module: { type: "commonjs" },
    sourceMaps: "inline",
  },
];

/**
 * ESM-only packages in the pnpm store (`"type": "module"` and no `require` export): jest's CommonJS
 * runtime cannot require() them, so SWC compiles them to CommonJS. Found by scanning, so a new
 * dependency needs no edit here.
 */
function esmOnlyPackages() {
  const store = path.join(__dirname, "node_modules", ".pnpm");
  const found = new Set();
  if (!existsSync(store)) return found;
  const subdirs = (dir) => {
    try {
      return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory());
    } catch {
      return [];
    }
  };
  for (const entry of subdirs(store)) {
    const modules = path.join(store, entry.name, "node_modules");
    for (const child of subdirs(modules)) {
      const names = child.name.startsWith("@")
        ? subdirs(path.join(modules, child.name)).map((d) => `${child.name}/${d.name}`)
        : [child.name];
      for (const name of names) {
        try {
          const pkg = JSON.parse(readFileSync(path.join(modules, name, "package.json"), "utf8"));
          if (pkg.type === "module" && !JSON.stringify(pkg.exports ?? {}).includes('"require"'))
            found.add(name);
        } catch {
          // not a package
        }
      }
    }
  }
  return found;
}

// CommonJS packages that import() an ESM-only one: jest's runtime cannot run import() without
// --experimental-vm-modules, and SWC turns it into require().
const dynamicImporters = ["@fastify/cookie"];

const escape = (name) => name.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
const transformed = [...esmOnlyPackages(), ...dynamicImporters].map(escape);

/** @type {import('jest').Config} */
module.exports = {
  // Only source folders: .optio/ holds Postgres files other users may not read.
  roots: ["services", "packages", "bench", "scripts"]
    .map((dir) => path.join(__dirname, dir))
    .filter((dir) => existsSync(dir)),
  testEnvironment: "node",
  testMatch: ["**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "/dist/", "<rootDir>/tools/", "/generated/"],
  modulePathIgnorePatterns: ["<rootDir>/tools/", "<rootDir>/.optio/", "/dist/"],
  transform: {
    "^.+\\.ts$": swc("typescript"),
    "^.+\\.m?js$": swc("ecmascript"),
  },
  // pnpm keeps a package in node_modules/.pnpm/<name>@<version>/node_modules/<name>: hence `.pnpm`.
  transformIgnorePatterns: [`/node_modules/(?!(\\.pnpm|${transformed.join("|")})/)`],
  moduleFileExtensions: ["ts", "js", "mjs", "cjs", "json", "node"],
  testTimeout: 30_000,
  // A test that leaks a handle (socket, timer) must not hang `npm test` and CI: jest still prints
  // "Force exiting Jest", so the leak stays visible.
  forceExit: true,
  maxWorkers: 2,
};
