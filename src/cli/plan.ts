// `trunkline plan`: channels (Erlang B) and RTP bandwidth per trunk, from figures given on the
// command line or from the busy hour of the stored CDRs, with a warning where a limit is too small.
import { existsSync } from "node:fs";
import type { Config } from "../config/index.ts";
import { loadConfigOrReport } from "./load-config.ts";
import {
  PLAN_CODECS,
  callUsageOf,
  formatPercent,
  offeredTraffic,
  planTrunk,
  planTrunksFromUsage,
  ptimeError,
  type BandwidthLayer,
  type CallUsage,
  type PlanCodec,
  type PlanSettings,
  type TrunkPlanRow,
} from "../domain/index.ts";
import { openStorage } from "../storage/index.ts";

/** Options of `trunkline plan`, as parsed from the command line (strings, unvalidated). */
export interface PlanCommandOptions {
  readonly calls?: string | undefined;
  readonly duration?: string | undefined;
  readonly blocking?: string | undefined;
  readonly codec?: string | undefined;
  readonly ptime?: string | undefined;
  readonly layer?: string | undefined;
  readonly channels?: string | undefined;
  readonly days?: string | undefined;
}

// The plan of every trunk from CDRs is computed in the domain (planTrunksFromUsage), the same code
// GET /api/v1/plan runs; this file parses the command line and renders text.
export { callUsageOf, type TrunkPlanRow } from "../domain/index.ts";

/** What `trunkline plan` will do, once its options are checked. */
export type PlanCommand =
  | (PlanSettings & { readonly mode: "figures"; readonly calls: number; readonly durationSeconds: number; readonly channels: number | undefined })
  | (PlanSettings & { readonly mode: "cdrs"; readonly days: number });

export const PLAN_DEFAULT_BLOCKING = 0.01;
export const PLAN_DEFAULT_PTIME_MS = 20;
export const PLAN_DEFAULT_DAYS = 7;
export const PLAN_MAX_DAYS = 366;

/** G.711, g711, PCMU, PCMA, G.722, G729, opus, ... to the planner's codec name. */
export function parsePlanCodec(text: string): PlanCodec | undefined {
  const t = text.replace(/\./g, "").toUpperCase();
  if (t === "PCMU" || t === "PCMA") return "G711";
  if (t === "OPUS") return "opus";
  return PLAN_CODECS.find((c) => c === t);
}

function parseNumber(flag: string, text: string, min: number, max: number): number | string {
  const n = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  return Number.isFinite(n) && n >= min && n <= max ? n : `--${flag}: expected a number from ${min} to ${max}`;
}

function parseWhole(flag: string, text: string, min: number, max: number): number | string {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : `--${flag}: expected a whole number from ${min} to ${max}`;
}

/** 0.01 or 1% */
function parseBlocking(text: string): number | string {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text);
  const p = m === null ? NaN : Number(m[1]) / (m[2] === "%" ? 100 : 1);
  return p > 0 && p < 1 ? p : "--blocking: expected a probability between 0 and 1, such as 0.01 or 1%";
}

/** Checks the options; returns the command or the usage errors, one per bad option. */
export function parsePlanOptions(o: PlanCommandOptions): { ok: true; value: PlanCommand } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  const pick = <T>(v: T | string): T | undefined => {
    if (typeof v === "string") {
      errors.push(v);
      return undefined;
    }
    return v;
  };
  const blocking = o.blocking === undefined ? PLAN_DEFAULT_BLOCKING : pick(parseBlocking(o.blocking));
  const codec = o.codec === undefined ? "G711" : parsePlanCodec(o.codec);
  if (codec === undefined) errors.push(`--codec: expected one of ${PLAN_CODECS.join(", ")} (PCMU and PCMA are G711)`);
  const ptimeMs = o.ptime === undefined ? PLAN_DEFAULT_PTIME_MS : pick(parseWhole("ptime", o.ptime, 1, 1000));
  if (codec !== undefined && ptimeMs !== undefined) {
    const problem = ptimeError(codec, ptimeMs);
    if (problem !== undefined) errors.push(`--ptime: ${problem}`);
  }
  const layer = o.layer ?? "ethernet";
  if (layer !== "ip" && layer !== "ethernet") errors.push("--layer: expected ip or ethernet");

  const figures = o.calls !== undefined || o.duration !== undefined || o.channels !== undefined;
  if (figures && o.days !== undefined) errors.push("--days plans from the stored CDRs; it does not go with --calls, --duration or --channels");
  if (figures && (o.calls === undefined || o.duration === undefined)) errors.push("--calls and --duration go together (busy-hour calls and their mean duration in seconds)");
  const calls = o.calls === undefined ? undefined : pick(parseNumber("calls", o.calls, 0, 1e9));
  const durationSeconds = o.duration === undefined ? undefined : pick(parseNumber("duration", o.duration, 0, 86_400));
  const channels = o.channels === undefined ? undefined : pick(parseWhole("channels", o.channels, 0, 1_000_000));
  const days = o.days === undefined ? PLAN_DEFAULT_DAYS : pick(parseWhole("days", o.days, 1, PLAN_MAX_DAYS));

  if (errors.length > 0 || blocking === undefined || codec === undefined || ptimeMs === undefined || (layer !== "ip" && layer !== "ethernet")) return { ok: false, errors };
  const settings: PlanSettings = { blocking, codec, ptimeMs, layer };
  if (figures) {
    if (calls === undefined || durationSeconds === undefined) return { ok: false, errors };
    return { ok: true, value: { ...settings, mode: "figures", calls, durationSeconds, channels } };
  }
  if (days === undefined) return { ok: false, errors };
  return { ok: true, value: { ...settings, mode: "cdrs", days } };
}

// ---------------------------------------------------------------------------------------------
// Rendering

function kbps(bitsPerSecond: number): string {
  return `${(bitsPerSecond / 1000).toFixed(1)} kbit/s`;
}

function layerWords(layer: BandwidthLayer): string {
  return layer === "ethernet" ? "Ethernet frames: IPv4/UDP/RTP 40 bytes + Ethernet header and FCS 18 bytes" : "IP packets: IPv4/UDP/RTP 40 bytes";
}

function settingsLine(s: PlanSettings): string {
  return `${formatPercent(s.blocking)} blocking, ${s.codec} at ${s.ptimeMs} ms, bandwidth of ${layerWords(s.layer)}, each way, RTCP not included`;
}

/** The figures of one plan, as `label  value` lines. */
export function formatFiguresPlan(command: Extract<PlanCommand, { mode: "figures" }>): string {
  const traffic = offeredTraffic(command.calls, command.durationSeconds);
  const p = planTrunk({ ...command, trafficErlangs: traffic, configuredChannels: command.channels });
  const rows: [string, string][] = [
    ["Traffic", `${traffic.toFixed(2)} E (${command.calls} calls x ${command.durationSeconds} s in the busy hour)`],
    ["Blocking", `${formatPercent(command.blocking)} target; ${formatPercent(p.blockingAtChannels)} with ${p.channels} channels`],
    ["Channels", String(p.channels)],
    ["Codec", `${p.perCall.codec} at ${p.perCall.ptimeMs} ms: ${p.perCall.payloadBytes}-byte payload, ${p.perCall.packetBytes}-byte ${p.perCall.layer === "ethernet" ? "frames" : "packets"}, ${p.perCall.packetsPerSecond} packets/s`],
    ["Per call", `${kbps(p.perCall.bitsPerSecond)} each way (${layerWords(p.perCall.layer)})`],
    ["All channels", `${kbps(p.bitsPerSecond)} each way (${p.channels} x ${kbps(p.perCall.bitsPerSecond)})`],
  ];
  if (p.configuredChannels !== null) {
    rows.push(["Limit", `${p.configuredChannels} channels: ${p.warning === null ? `enough (${formatPercent(p.blockingAtConfigured ?? 0)} blocking)` : "too few"}`]);
  }
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  const text = rows.map(([l, v]) => `${l.padEnd(width)}${v}\n`).join("");
  return p.warning === null ? text : `${text}\nwarning: ${p.warning}\n`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[], rightAligned: ReadonlySet<number>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].map((l) => `${l}\n`).join("");
}

/** The table of a CDR-based plan, then one warning line per trunk whose limit is too small. */
export function formatTrunkPlans(rows: readonly TrunkPlanRow[], settings: PlanSettings, period: { from: number; to: number; days: number }): string {
  const head =
    `Busy hour per trunk over the last ${period.days} day${period.days === 1 ? "" : "s"} ` +
    `(${new Date(period.from).toISOString()} to ${new Date(period.to).toISOString()}), answered calls by start hour (UTC)\n` +
    `${settingsLine(settings)}\n\n`;
  if (rows.length === 0) return `${head}No trunks are provisioned and no answered calls were found.\n`;
  const body = table(
    ["TRUNK", "KIND", "BUSY HOUR (UTC)", "CALLS", "MEAN S", "ERLANGS", "CHANNELS", "LIMIT", "KBIT/S"],
    rows.map((r) => [
      r.trunkId,
      r.kind,
      r.busyHour === undefined ? "-" : new Date(r.busyHour.hourStart).toISOString().slice(0, 16).replace("T", " "),
      String(r.busyHour?.calls ?? 0),
      r.busyHour === undefined ? "-" : r.busyHour.meanDurationSeconds.toFixed(0),
      r.plan.trafficErlangs.toFixed(2),
      String(r.plan.channels),
      r.plan.configuredChannels === null ? "none" : String(r.plan.configuredChannels),
      (r.plan.bitsPerSecond / 1000).toFixed(1),
    ]),
    new Set([3, 4, 5, 6, 7, 8]),
  );
  const warnings = rows.filter((r) => r.plan.warning !== null).map((r) => `warning: ${r.trunkId} (${r.kind}): ${r.plan.warning ?? ""}\n`);
  return `${head}${body}${warnings.length > 0 ? `\n${warnings.join("")}` : ""}`;
}

// ---------------------------------------------------------------------------------------------
// Running

/** Rows read per CDR page. */
const PAGE = 10_000;
const DAY_MS = 86_400_000;

/** Error of `trunkline plan` with a stable code. */
export class PlanCommandError extends Error {
  override readonly name = "PlanCommandError";
  constructor(
    readonly code: "PLAN_NO_DATABASE",
    message: string,
  ) {
    super(message);
  }
}

/**
 * Plans every provisioned trunk (and any trunk seen in CDRs but no longer provisioned) from the
 * answered CDRs of the last `days` days before `now`, with limits from the stored provisioning.
 */
export async function planFromStorage(config: Config, command: Extract<PlanCommand, { mode: "cdrs" }>, now: number): Promise<{ text: string; rows: TrunkPlanRow[] }> {
  const path = config.storage.path;
  // Planning must not leave an empty database behind when the path is wrong.
  if (path !== ":memory:" && !existsSync(path)) throw new PlanCommandError("PLAN_NO_DATABASE", `no database at ${path} (check storage.path or --config)`);
  const from = now - command.days * DAY_MS;
  const storage = await openStorage({ ...config.storage, realm: config.calls.realm });
  const usage: CallUsage[] = [];
  let provisioning;
  try {
    provisioning = await storage.provisioning.load();
    for (let offset = 0; ; offset += PAGE) {
      const { rows } = await storage.cdrs.search({ from, to: now, limit: PAGE, offset });
      for (const r of rows) usage.push(callUsageOf(r));
      if (rows.length < PAGE) break;
    }
  } finally {
    await storage.close();
  }

  const trunks = [
    ...provisioning.customers.map((c) => ({ trunkId: c.id, kind: "customer" as const, limits: c.limits })),
    ...provisioning.carriers.map((c) => ({ trunkId: c.id, kind: "carrier" as const, limits: c.limits })),
  ];
  const settings: PlanSettings = { blocking: command.blocking, codec: command.codec, ptimeMs: command.ptimeMs, layer: command.layer };
  const rows = planTrunksFromUsage({ trunks, usage, period: { from, to: now }, settings });
  return { text: formatTrunkPlans(rows, command, { from, to: now, days: command.days }), rows };
}

/** Where the command writes; the same shape as the CLI's. */
interface PlanIo {
  out(text: string): void;
  err(text: string): void;
}

function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = "code" in e && typeof e.code === "string" ? `${e.code}: ` : "";
  const cause = e.cause instanceof Error ? ` (${e.cause.message})` : "";
  return `${code}${e.message}${cause}`;
}

/**
 * Runs `trunkline plan` and resolves with the exit code: 0 done (warnings included), 1 bad
 * configuration or storage failure, 2 wrong usage (after printing `usage`).
 */
export async function runPlanCommand(configPath: string | undefined, options: PlanCommandOptions, io: PlanIo, usage: string, now: number = Date.now()): Promise<number> {
  const command = parsePlanOptions(options);
  if (!command.ok) {
    for (const e of command.errors) io.err(`trunkline: ${e}\n`);
    io.err(`\n${usage}`);
    return 2;
  }
  if (command.value.mode === "figures") {
    io.out(formatFiguresPlan(command.value));
    return 0;
  }
  const config = await loadConfigOrReport(configPath, io);
  if (config === null) return 1;
  try {
    const { text } = await planFromStorage(config, command.value, now);
    io.out(text);
    return 0;
  } catch (e) {
    io.err(`trunkline: cannot plan: ${describeError(e)}\n`);
    return 1;
  }
}
