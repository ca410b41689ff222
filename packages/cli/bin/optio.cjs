#!/usr/bin/env node
// The `optio` command: runs the TypeScript sources through tsx, so neither a clone nor a global
// install (`npm install -g ./packages/cli`) needs a build step.
require("tsx/cjs");
require("../src/main.ts");
