// Holds the import rules of ARCHITECTURE.md: each folder of src/ may import only the layers
// listed for it, and reaches another folder through its index.ts. Run by `npm run lint`.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

const root = resolve(import.meta.dirname, "..", "src");

/** Layer name of a file under src/ (sip sublayers count separately). */
function layerOf(file: string): string {
  const parts = relative(root, file).split(sep);
  if (parts.length === 1) return parts[0]!.replace(/\.ts$/, "");
  if (parts[0] === "sip" && parts.length > 2) return `sip/${parts[1]}`;
  if (parts[0] === "storage" && parts.length > 2) return "storage";
  return parts[0]!;
}

const allowed: Record<string, readonly string[]> = {
  main: ["*"],
  cli: ["main", "config", "lib", "observability", "domain", "storage", "ports"],
  // The provisioning section is converted to domain types and compiled while the config loads.
  config: ["lib", "domain"],
  lib: [],
  observability: ["lib"],
  "sip/message": ["lib"],
  "sip/transport": ["sip/message", "lib"],
  "sip/transaction": ["sip/transport", "sip/message", "lib"],
  "sip/dialog": ["sip/transaction", "sip/transport", "sip/message", "lib"],
  "sip/auth": ["sip/message", "lib"],
  sip: ["sip/message", "sip/transport", "sip/transaction", "sip/dialog", "sip/auth", "lib"],
  sdp: ["lib"],
  media: ["sdp", "lib"],
  domain: ["lib"],
  ports: ["domain", "lib"],
  call: ["domain", "ports", "sip", "sdp", "media", "lib", "observability"],
  storage: ["ports", "domain", "lib"],
  http: ["call", "domain", "ports", "lib", "observability"],
};

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else if (p.endsWith(".ts") && !p.endsWith(".test.ts")) yield p;
  }
}

const importRe = /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;
const problems: string[] = [];

for (const file of walk(root)) {
  const from = layerOf(file);
  const rules = allowed[from];
  if (rules === undefined) {
    problems.push(`${relative(root, file)}: folder "${from}" has no rule in scripts/check-layers.ts`);
    continue;
  }
  const text = readFileSync(file, "utf8");
  for (const m of text.matchAll(importRe)) {
    const spec = m[1] ?? m[2];
    if (spec === undefined || !spec.startsWith(".")) continue;
    const target = resolve(dirname(file), spec);
    if (!target.startsWith(root)) continue;
    const to = layerOf(target);
    if (to === from) continue;
    if (!rules.includes("*") && !rules.includes(to)) {
      problems.push(`${relative(root, file)}: layer "${from}" may not import "${to}" (${spec})`);
      continue;
    }
    // Another layer is entered through its index.ts, so its insides can change freely
    // (main is a one-file layer, entered through main.ts itself).
    const entry = to === "main" || target.endsWith(`${sep}index.ts`);
    if (!rules.includes("*") && !entry) {
      problems.push(`${relative(root, file)}: import "${spec}" reaches into "${to}"; use its index.ts`);
    }
  }
}

if (problems.length > 0) {
  console.error(problems.join("\n"));
  console.error(`${problems.length} import rule violation(s)`);
  process.exit(1);
}
console.log("layers: ok");
