// Loading the Node-API addons that scripts/build-native.mjs builds under native/ at npm install.
// Each is optional (node:dgram is the fallback), so a missing or broken one is a reason, not a throw.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { type Result, err, ok } from "./result.ts";

const require = createRequire(import.meta.url);

/** The addon built in native/<name> (its Release .node file), or why it does not load. */
export function loadNativeAddon<T>(name: string, file: string): Result<T, string> {
  const path = fileURLToPath(new URL(`../../native/${name}/build/Release/${file}`, import.meta.url));
  if (!existsSync(path)) return err(`${path} not built (npm install builds it; see scripts/build-native.mjs)`);
  try {
    return ok(require(path) as T);
  } catch (e) {
    return err(e instanceof Error ? e.message : String(e));
  }
}
