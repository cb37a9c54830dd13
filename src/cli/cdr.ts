// `trunkline cdr`: lists and exports call detail records from the configured database.
import { existsSync } from "node:fs";
import type { Config } from "../config/index.ts";
import { DISPOSITIONS, type CallDetailRecord, type CdrQuery, type Disposition } from "../ports/index.ts";
import { openStorage } from "../storage/index.ts";

/** Options of `trunkline cdr`, as parsed from the command line (strings, unvalidated). */
export interface CdrCommandOptions {
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly trunk?: string | undefined;
  readonly number?: string | undefined;
  readonly disposition?: string | undefined;
  readonly limit?: string | undefined;
  readonly offset?: string | undefined;
  readonly format?: string | undefined;
  readonly withTrace?: boolean | undefined;
}

/** What `trunkline cdr` will do, once its options are checked. */
export interface CdrCommand {
  readonly query: CdrQuery;
  readonly format: "csv" | "json";
  readonly withTrace: boolean;
}

/** Default and largest --limit: a page an operator can read, and an export that still fits in memory. */
export const CDR_DEFAULT_LIMIT = 100;
export const CDR_MAX_LIMIT = 1_000_000;

function isDisposition(value: string): value is Disposition {
  return (DISPOSITIONS as readonly string[]).includes(value);
}

function parseTime(flag: string, text: string): number | string {
  // Date.parse accepts many shapes; requiring an ISO date keeps "05/06" from meaning two things.
  if (!/^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) return `--${flag}: expected an ISO date or time such as 2026-01-31 or 2026-01-31T12:00:00Z`;
  const t = Date.parse(text);
  return Number.isNaN(t) ? `--${flag}: ${text} is not a valid date` : t;
}

function parseCount(flag: string, text: string, min: number): number | string {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  return Number.isSafeInteger(n) && n >= min && n <= CDR_MAX_LIMIT ? n : `--${flag}: expected a whole number from ${min} to ${CDR_MAX_LIMIT}`;
}

/** Checks the options; returns the command or the usage errors, one per bad option. */
export function parseCdrOptions(o: CdrCommandOptions): { ok: true; value: CdrCommand } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  const query: { -readonly [K in keyof CdrQuery]: CdrQuery[K] } = { limit: CDR_DEFAULT_LIMIT };
  const take = <T>(v: T | string, set: (v: T) => void): void => {
    if (typeof v === "string") errors.push(v);
    else set(v);
  };
  if (o.from !== undefined) take(parseTime("from", o.from), (t) => (query.from = t));
  if (o.to !== undefined) take(parseTime("to", o.to), (t) => (query.to = t));
  if (o.limit !== undefined) take(parseCount("limit", o.limit, 1), (n) => (query.limit = n));
  if (o.offset !== undefined) take(parseCount("offset", o.offset, 0), (n) => (query.offset = n));
  if (o.trunk !== undefined) query.trunkId = o.trunk;
  if (o.number !== undefined) query.number = o.number;
  if (o.disposition !== undefined) {
    if (isDisposition(o.disposition)) query.disposition = o.disposition;
    else errors.push(`--disposition: expected one of ${DISPOSITIONS.join(", ")}`);
  }
  const format = o.format ?? "csv";
  if (format !== "csv" && format !== "json") errors.push("--format: expected csv or json");
  if (errors.length > 0 || (format !== "csv" && format !== "json")) return { ok: false, errors };
  return { ok: true, value: { query, format, withTrace: o.withTrace === true } };
}

const CSV_COLUMNS = [
  "id", "call_id", "direction", "customer_id", "carrier_id", "caller", "callee", "caller_e164", "callee_e164",
  "started_at", "ringing_at", "answered_at", "ended_at", "duration_ms", "final_status", "q850_cause", "disposition",
  "hangup_by", "end_reason", "rate_per_minute", "cost", "currency", "attempts",
] as const;

function iso(t: number | null): string {
  return t === null ? "" : new Date(t).toISOString();
}

/**
 * One CSV field (RFC 4180 quoting). Caller numbers and reasons come from the network, so a value
 * a spreadsheet would run as a formula gets a leading apostrophe; +E.164 numbers are left alone.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return "";
  let text = String(value);
  if (/^[=@\t\r]/.test(text) || /^[+-](?![0-9]+$)/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvRow(r: CallDetailRecord, withTrace: boolean): string {
  const fields: (string | number | null)[] = [
    r.id, r.callId, r.direction, r.customerId, r.carrierId, r.callerRaw, r.calleeRaw, r.callerE164, r.calleeE164,
    iso(r.startedAt), iso(r.ringingAt), iso(r.answeredAt), iso(r.endedAt), r.durationMs, r.finalStatus, r.q850Cause, r.disposition,
    r.hangupBy, r.endReason, r.ratePerMinute, r.cost, r.currency, r.attempts.length,
  ];
  if (withTrace) fields.push(JSON.stringify(r.trace));
  return fields.map(csvField).join(",");
}

/** Renders records as CSV (header row first) or as a JSON array; traces only when asked. */
export function formatCdrs(rows: readonly CallDetailRecord[], format: "csv" | "json", withTrace: boolean): string {
  if (format === "json") {
    const out = rows.map((r) => {
      if (withTrace) return r;
      const { trace: _omitted, ...rest } = r;
      return rest;
    });
    return `${JSON.stringify(out, null, 2)}\n`;
  }
  const header = withTrace ? [...CSV_COLUMNS, "trace"] : [...CSV_COLUMNS];
  return [header.join(","), ...rows.map((r) => csvRow(r, withTrace))].map((l) => `${l}\r\n`).join("");
}

/** Error of `trunkline cdr` with a stable code. */
export class CdrCommandError extends Error {
  override readonly name = "CdrCommandError";
  constructor(
    readonly code: "CDR_NO_DATABASE",
    message: string,
  ) {
    super(message);
  }
}

/** Opens the configured database, runs the search, and returns the rendered text and counts. */
export async function runCdrCommand(config: Config, command: CdrCommand): Promise<{ text: string; shown: number; total: number }> {
  const path = config.storage.path;
  // Listing must not leave an empty database behind when the path is wrong.
  if (path !== ":memory:" && !existsSync(path)) throw new CdrCommandError("CDR_NO_DATABASE", `no database at ${path} (check storage.path or --config)`);
  const storage = await openStorage({ ...config.storage, realm: config.calls.realm });
  try {
    const { rows, total } = await storage.cdrs.search(command.query);
    return { text: formatCdrs(rows, command.format, command.withTrace), shown: rows.length, total };
  } finally {
    await storage.close();
  }
}
