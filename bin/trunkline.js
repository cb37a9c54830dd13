#!/usr/bin/env node
// The `trunkline` command. A published package runs the compiled dist/; a git clone without a
// build runs the TypeScript sources through tsx, so `npx trunkline start` works either way.
// After editing src/ in a clone that was built once, rebuild (npm run build) or delete dist/.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const built = new URL("../dist/cli/index.js", import.meta.url);
if (existsSync(fileURLToPath(built))) {
  await import(built.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(new URL("../src/cli/index.ts", import.meta.url).href);
}
