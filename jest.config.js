// Jest for the whole workspace: TypeScript through SWC (fast, no type checking: `npm run typecheck`
// does that), CommonJS output like tsconfig.base.json.
const { existsSync } = require("node:fs");
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

// ESM-only packages that must be compiled to CommonJS to be required (pnpm keeps packages under
// node_modules/.pnpm/<name>@<version>/node_modules/<name>, hence the `.pnpm` exception).
const esmOnly = ["@octokit", "universal-user-agent", "before-after-hook", "universal-github-app-jwt"];

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
  transformIgnorePatterns: [`/node_modules/(?!(\\.pnpm|${esmOnly.join("|")})(/|\\+))`],
  moduleFileExtensions: ["ts", "js", "mjs", "cjs", "json", "node"],
  testTimeout: 30_000,
  maxWorkers: 2,
};
