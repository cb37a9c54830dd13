// `trunkline bans [list | add IP [--seconds N] [--reason TEXT] | lift IP | suspensions | unsuspend CUSTOMER
// | locks | unlock ACCOUNT]`: a client of the running server's ban, fraud-suspension and account-lock
// API (/api/v1/bans, /api/v1/suspensions, /api/v1/account-locks at http.listen). The server holds
// them, so it must be running with http.enabled.
import { readFile } from "node:fs/promises";
import { parseHostPort, type Config } from "../config/index.ts";

export interface BansCommandOptions {
  readonly action: string | undefined;
  readonly address: string | undefined;
  readonly seconds?: string | undefined;
  readonly reason?: string | undefined;
  /** A file holding an API token (admin for add/lift); needed when http.tokens is configured. */
  readonly tokenFile?: string | undefined;
}

export type BansRequest =
  | { readonly method: "GET"; readonly path: "/api/v1/bans" }
  | { readonly method: "POST"; readonly path: "/api/v1/bans"; readonly body: { address: string; seconds?: number; reason?: string } }
  | { readonly method: "DELETE"; readonly path: string }
  | { readonly method: "GET"; readonly path: "/api/v1/suspensions" }
  | { readonly method: "GET"; readonly path: "/api/v1/account-locks" };

/** Checks the arguments; the request to send, or what is wrong. */
export function parseBansOptions(o: BansCommandOptions): { ok: true; value: BansRequest } | { ok: false; error: string } {
  const action = o.action ?? "list";
  if (action === "list") {
    if (o.address !== undefined) return { ok: false, error: `bans list takes no address` };
    return { ok: true, value: { method: "GET", path: "/api/v1/bans" } };
  }
  if (action === "suspensions") {
    if (o.address !== undefined) return { ok: false, error: "bans suspensions takes no argument" };
    return { ok: true, value: { method: "GET", path: "/api/v1/suspensions" } };
  }
  if (action === "unsuspend") {
    if (o.address === undefined) return { ok: false, error: "bans unsuspend needs a customer id" };
    return { ok: true, value: { method: "DELETE", path: `/api/v1/suspensions/${encodeURIComponent(o.address)}` } };
  }
  if (action === "locks") {
    if (o.address !== undefined) return { ok: false, error: "bans locks takes no argument" };
    return { ok: true, value: { method: "GET", path: "/api/v1/account-locks" } };
  }
  if (action === "unlock") {
    if (o.address === undefined) return { ok: false, error: "bans unlock needs an account (digest username)" };
    return { ok: true, value: { method: "DELETE", path: `/api/v1/account-locks/${encodeURIComponent(o.address)}` } };
  }
  if (action !== "add" && action !== "lift") {
    return { ok: false, error: `bans: unknown action "${action}" (list, add IP, lift IP, suspensions, unsuspend CUSTOMER, locks or unlock ACCOUNT)` };
  }
  if (o.address === undefined) return { ok: false, error: `bans ${action} needs an IP address` };
  if (action === "lift") {
    if (o.seconds !== undefined || o.reason !== undefined) return { ok: false, error: "--seconds and --reason are options of bans add" };
    return { ok: true, value: { method: "DELETE", path: `/api/v1/bans/${encodeURIComponent(o.address)}` } };
  }
  let seconds: number | undefined;
  if (o.seconds !== undefined) {
    if (!/^\d{1,8}$/.test(o.seconds) || Number(o.seconds) < 1) return { ok: false, error: "--seconds: expected a whole number of seconds greater than 0" };
    seconds = Number(o.seconds);
  }
  return {
    ok: true,
    value: { method: "POST", path: "/api/v1/bans", body: { address: o.address, ...(seconds !== undefined ? { seconds } : {}), ...(o.reason !== undefined ? { reason: o.reason } : {}) } },
  };
}

interface BanRow {
  readonly address: string;
  readonly rule: string;
  readonly reason: string;
  readonly expiresAt: number | null;
}

/** A tab-separated table with its header line, or `empty` when there are no rows. */
function tsvTable<T>(items: readonly T[], empty: string, header: readonly string[], row: (item: T) => readonly (string | number)[]): string {
  if (items.length === 0) return `${empty}\n`;
  return `${[header, ...items.map(row)].map((cells) => cells.join("\t")).join("\n")}\n`;
}

function formatBans(items: readonly BanRow[]): string {
  return tsvTable(items, "no bans", ["address", "expires", "rule", "reason"], (b) => [
    b.address,
    b.expiresAt === null ? "until lifted" : new Date(b.expiresAt).toISOString(),
    b.rule,
    b.reason,
  ]);
}

interface SuspensionRow {
  readonly customerId: string;
  readonly at: number;
  readonly rule: string;
  readonly reason: string;
}

function formatSuspensions(items: readonly SuspensionRow[]): string {
  return tsvTable(items, "no suspensions", ["customer", "since", "rule", "reason"], (s) => [s.customerId, new Date(s.at).toISOString(), s.rule, s.reason]);
}

interface AccountLockRow {
  readonly account: string;
  readonly until: number;
  readonly lockCount: number;
  readonly failures: number;
  readonly reason: string;
}

function formatAccountLocks(items: readonly AccountLockRow[]): string {
  return tsvTable(items, "no account locks", ["account", "until", "failures", "locks", "reason"], (l) => [
    l.account,
    new Date(l.until).toISOString(),
    l.failures,
    l.lockCount,
    l.reason,
  ]);
}

/** The line printed after a successful DELETE, by the collection it went to. */
function liftedText(path: string): string {
  if (path.startsWith("/api/v1/suspensions/")) return "suspension lifted\n";
  if (path.startsWith("/api/v1/account-locks/")) return "account unlocked\n";
  return "ban lifted\n";
}

/** Sends the request to the server named by config.http; the text to print, or an error. */
export async function runBansCommand(config: Config, request: BansRequest, tokenFile: string | undefined): Promise<{ ok: boolean; text: string }> {
  if (!config.http.enabled) return { ok: false, text: "http.enabled is false: bans are managed through the HTTP API of the running server\n" };
  const listen = parseHostPort(config.http.listen);
  if (listen === undefined) return { ok: false, text: `http.listen is not host:port: ${config.http.listen}\n` };
  const host = listen.address === "0.0.0.0" ? "127.0.0.1" : listen.address === "::" ? "::1" : listen.address;
  const url = `${config.http.tls === undefined ? "http" : "https"}://${host.includes(":") ? `[${host}]` : host}:${listen.port}${request.path}`;
  const headers: Record<string, string> = {};
  if (tokenFile !== undefined) headers["authorization"] = `Bearer ${(await readFile(tokenFile, "utf8")).trim()}`;
  if (request.method === "POST") headers["content-type"] = "application/json";
  const res = await fetch(url, { method: request.method, headers, ...(request.method === "POST" ? { body: JSON.stringify(request.body) } : {}), signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      const parsed = JSON.parse(text) as { error?: { message?: string } };
      message = parsed.error?.message ?? text;
    } catch {
      // not JSON: print as it came
    }
    return { ok: false, text: `server answered ${res.status}: ${message}\n` };
  }
  if (request.method === "GET" && request.path === "/api/v1/suspensions") return { ok: true, text: formatSuspensions((JSON.parse(text) as { items: SuspensionRow[] }).items) };
  if (request.method === "GET" && request.path === "/api/v1/account-locks") return { ok: true, text: formatAccountLocks((JSON.parse(text) as { items: AccountLockRow[] }).items) };
  if (request.method === "GET") return { ok: true, text: formatBans((JSON.parse(text) as { items: BanRow[] }).items) };
  if (request.method === "POST") {
    const ban = JSON.parse(text) as BanRow;
    return { ok: true, text: `banned ${ban.address} ${ban.expiresAt === null ? "until lifted" : `until ${new Date(ban.expiresAt).toISOString()}`}\n` };
  }
  return { ok: true, text: liftedText(request.path) };
}
