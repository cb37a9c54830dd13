#!/usr/bin/env node
// The `trunkline` command. In a clone (src/ present) it runs the TypeScript sources through tsx,
// so an edit takes effect without a rebuild; an installed package without src/ runs dist/.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const source = new URL("../src/cli/index.ts", import.meta.url);
if (existsSync(fileURLToPath(source))) {
  const { register } = await import("tsx/esm/api");
  register();
  await import(source.href);
} else {
  await import(new URL("../dist/cli/index.js", import.meta.url).href);
}
