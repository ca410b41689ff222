// ESLint for the workspace: typescript-eslint's recommended rules (syntax only: `npm run typecheck`
// does the type checking) on TypeScript, Node globals on the plain-JS scripts.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: ["**/generated/", "**/node_modules/", "tools/", "**/dist/", ".optio/", "coverage/"],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2023 },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["**/*.test.ts", "**/test/**/*.ts"],
    languageOptions: { globals: { ...globals.jest } },
  },
  {
    files: ["**/*.js", "**/*.cjs"],
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
