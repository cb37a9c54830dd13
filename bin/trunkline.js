#!/usr/bin/env -S node --max-semi-space-size=4
// --max-semi-space-size=4 (MiB): V8's young generation otherwise grows to 3 x 16 MiB under call
// load and stays there, a third of the resident memory of a server holding thousands of calls;
// at 4 MiB the measured CPU per call did not change (bench:cps). `npm start` and bench:cps pass
// the same flags, read from this line.
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
