// The operator's number-range file (security.fraud.rangesFile): YAML or JSON holding
// { version?, replace?, highRisk?: [{ prefix, label, note? }], premium?: [...], remove?: [prefix] }.
// It extends the shipped list (or replaces it with `replace: true`). A file that fails to load
// never replaces a good list: the engine keeps the one it has and the error is logged.
import { readFile } from "node:fs/promises";
import { unwatchFile, watchFile } from "node:fs";
import { parse } from "yaml";
import { DEFAULT_FRAUD_RANGES, createFraudRanges, mergeFraudRanges, type FraudRangeOverride, type FraudRanges, type RangeEntry } from "../domain/index.ts";
import { err, ok, type Result } from "../lib/index.ts";
import type { Logger } from "../observability/index.ts";

function entries(value: unknown, name: string, errors: string[]): RangeEntry[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    errors.push(`${name}: expected a list of { prefix, label }`);
    return undefined;
  }
  const out: RangeEntry[] = [];
  value.forEach((e: unknown, i) => {
    const o = (typeof e === "object" && e !== null ? e : {}) as Record<string, unknown>;
    const prefix = typeof o["prefix"] === "number" ? String(o["prefix"]) : o["prefix"];
    if (typeof prefix !== "string" || typeof o["label"] !== "string") {
      errors.push(`${name}[${i}]: expected { prefix: "+882", label: "..." }`);
      return;
    }
    out.push({ prefix, label: o["label"], ...(typeof o["note"] === "string" ? { note: o["note"] } : {}) });
  });
  return out;
}

/** Reads the override of a range file's text; errors name the field. */
export function parseFraudRangesText(text: string): Result<FraudRangeOverride, string[]> {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    return err([`not YAML or JSON: ${e instanceof Error ? e.message : String(e)}`]);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return err(["expected a mapping with highRisk, premium, remove, replace or version"]);
  const o = doc as Record<string, unknown>;
  const errors: string[] = [];
  for (const key of Object.keys(o)) if (!["version", "replace", "highRisk", "premium", "remove"].includes(key)) errors.push(`${key}: unknown field`);
  if (o["version"] !== undefined && typeof o["version"] !== "string") errors.push("version: expected a string");
  if (o["replace"] !== undefined && typeof o["replace"] !== "boolean") errors.push("replace: expected true or false");
  const remove = o["remove"];
  if (remove !== undefined && (!Array.isArray(remove) || !remove.every((p) => typeof p === "string"))) errors.push("remove: expected a list of prefixes");
  const highRisk = entries(o["highRisk"], "highRisk", errors);
  const premium = entries(o["premium"], "premium", errors);
  if (errors.length > 0) return err(errors);
  return ok({
    ...(typeof o["version"] === "string" ? { version: o["version"] } : {}),
    ...(o["replace"] === true ? { replace: true } : {}),
    ...(highRisk !== undefined ? { highRisk } : {}),
    ...(premium !== undefined ? { premium } : {}),
    ...(Array.isArray(remove) ? { remove: remove as string[] } : {}),
  });
}

/** Loads a range file onto the shipped list; errors are prefixed with the path. */
export async function loadFraudRangesFile(path: string): Promise<Result<FraudRanges, string[]>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    return err([`${path}: ${e instanceof Error ? e.message : String(e)}`]);
  }
  const override = parseFraudRangesText(text);
  if (!override.ok) return err(override.error.map((m) => `${path}: ${m}`));
  const ranges = createFraudRanges(mergeFraudRanges(DEFAULT_FRAUD_RANGES, override.value));
  return ranges.ok ? ranges : err(ranges.error.map((m) => `${path}: ${m}`));
}

/** A watched range file: reload() on demand (SIGHUP), and by itself when the file changes. */
export interface FraudRangesWatch {
  reload(): Promise<boolean>;
  stop(): void;
}

/**
 * Watches `path` (by polling its stat every `intervalMs`: works on every file system and across
 * an editor's rename-and-replace) and hands each good load to `apply`.
 */
export function watchFraudRangesFile(path: string, apply: (ranges: FraudRanges) => void, logger: Logger, intervalMs = 2000): FraudRangesWatch {
  const reload = async (): Promise<boolean> => {
    const loaded = await loadFraudRangesFile(path);
    if (!loaded.ok) {
      logger.error({ file: path, errors: loaded.error }, "fraud ranges file not loaded; the previous list stays in force");
      return false;
    }
    apply(loaded.value);
    logger.info({ file: path, version: loaded.value.version }, "fraud ranges loaded");
    return true;
  };
  const onChange = (): void => void reload();
  watchFile(path, { interval: intervalMs, persistent: false }, onChange);
  return {
    reload,
    stop: () => unwatchFile(path, onChange),
  };
}
