import { formatConfigIssue, loadConfig, type Config } from "../config/index.ts";

/**
 * Loads the configuration every command needs; on failure writes each error with its path to
 * stderr and returns null (the caller exits 1).
 */
export async function loadConfigOrReport(configPath: string | undefined, io: { err(text: string): void }): Promise<Config | null> {
  const loaded = await loadConfig({ path: configPath });
  if (loaded.ok) return loaded.value;
  io.err(`trunkline: invalid configuration (${loaded.error.length} error${loaded.error.length === 1 ? "" : "s"}):\n`);
  for (const issue of loaded.error) io.err(`  ${formatConfigIssue(issue)}\n`);
  return null;
}
