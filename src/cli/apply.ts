// `trunkline apply -f file.yaml`: validates a provisioning section, shows what would change
// against the configured database (by id) and, unless --dry-run, stores it. The server reads
// provisioning at start; the API applies changes to a running server at once.
import { readFile } from "node:fs/promises";
import { formatConfigIssue, parseConfigText, type Config } from "../config/index.ts";
import { hashProvisioningSecrets } from "../domain/index.ts";
import type { ProvisioningRepository } from "../ports/index.ts";
import { openStorage } from "../storage/index.ts";

/** The whole provisioning set, as the repository stores it. */
type Provisioning = Awaited<ReturnType<ProvisioningRepository["load"]>>;

/** One entry that differs, named by its kind and id (a rate deck by its carrier's id). */
export interface DiffEntry {
  readonly kind: "customer" | "carrier" | "route" | "rate deck";
  readonly id: string;
}

/** What applying a set would change. */
export interface ProvisioningDiff {
  readonly added: readonly DiffEntry[];
  readonly removed: readonly DiffEntry[];
  readonly changed: readonly DiffEntry[];
}

/** JSON with sorted keys: two equal entries compare equal whatever order their fields were written in. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The entries added, removed and changed from before to after, in list order. */
export function diffProvisioning(before: Provisioning, after: Provisioning): ProvisioningDiff {
  const added: DiffEntry[] = [];
  const removed: DiffEntry[] = [];
  const changed: DiffEntry[] = [];
  const keyed = (items: ReadonlyArray<{ readonly id: string } | { readonly carrierId: string }>): Map<string, string> =>
    new Map(items.map((x) => ["id" in x ? x.id : x.carrierId, canonical(x)]));
  const lists = [
    ["customer", before.customers, after.customers],
    ["carrier", before.carriers, after.carriers],
    ["route", before.routes, after.routes],
    ["rate deck", before.rateDecks, after.rateDecks],
  ] as const;
  for (const [kind, from, to] of lists) {
    const old = keyed(from);
    const next = keyed(to);
    for (const [id, text] of next) {
      const was = old.get(id);
      if (was === undefined) added.push({ kind, id });
      else if (was !== text) changed.push({ kind, id });
    }
    for (const id of old.keys()) if (!next.has(id)) removed.push({ kind, id });
  }
  return { added, removed, changed };
}

/** `+ customer acme` / `~ route +1` / `- carrier old` lines and a summary. */
export function formatDiff(diff: ProvisioningDiff): string {
  const lines = [
    ...diff.added.map((e) => `+ ${e.kind} ${e.id}`),
    ...diff.changed.map((e) => `~ ${e.kind} ${e.id}`),
    ...diff.removed.map((e) => `- ${e.kind} ${e.id}`),
  ];
  const n = lines.length;
  if (n === 0) return "no changes\n";
  return `${lines.join("\n")}\n${n} change${n === 1 ? "" : "s"}: ${diff.added.length} added, ${diff.changed.length} changed, ${diff.removed.length} removed\n`;
}

/** What `trunkline apply` came to: the text to print, or the errors (one per line) that stopped it. */
export type ApplyOutcome = { readonly ok: true; readonly text: string; readonly diff: ProvisioningDiff } | { readonly ok: false; readonly errors: readonly string[] };

/** Reads and validates the file, diffs it against the stored set and, unless dryRun, stores it. */
export async function runApplyCommand(config: Config, file: string, dryRun: boolean): Promise<ApplyOutcome> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    const reason = cause instanceof Error && "code" in cause ? String(cause.code) : String(cause);
    return { ok: false, errors: [`${file}: cannot read the file (${reason})`] };
  }
  // The same schema as the config's provisioning section, so every error names its path.
  const parsed = parseConfigText(text, file);
  if (!parsed.ok) return { ok: false, errors: parsed.error.map(formatConfigIssue) };
  const given = parsed.value.provisioning;
  if (given === undefined) return { ok: false, errors: [`${file}: no provisioning: section (customers, carriers, routes)`] };
  // Hashed in the server's realm as the server stores them, so re-applying the same passwords
  // compares equal to the stored hashes (no change) and no password is stored.
  const next = hashProvisioningSecrets(given, config.calls.realm);

  const storage = await openStorage({ ...config.storage, realm: config.calls.realm });
  try {
    const diff = diffProvisioning(await storage.provisioning.load(), next);
    let out = formatDiff(diff);
    const changes = diff.added.length + diff.changed.length + diff.removed.length;
    if (dryRun) out += "dry run: nothing stored\n";
    else if (changes > 0) {
      await storage.provisioning.replace(next);
      out += `stored in ${config.storage.path}; a running server uses it from its next start (the HTTP API applies changes at once)\n`;
    }
    return { ok: true, text: out, diff };
  } finally {
    await storage.close();
  }
}
