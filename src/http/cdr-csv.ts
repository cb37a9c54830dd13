// CSV export of CDRs: one header row, one row per record, RFC 4180 quoting, times in ISO 8601.
import type { CallDetailRecord } from "../ports/index.ts";

const COLUMNS = [
  "id",
  "callId",
  "direction",
  "customerId",
  "carrierId",
  "callerRaw",
  "calleeRaw",
  "callerE164",
  "calleeE164",
  "startedAt",
  "answeredAt",
  "endedAt",
  "durationMs",
  "finalStatus",
  "q850Cause",
  "disposition",
  "hangupBy",
  "endReason",
  "ratePerMinute",
  "cost",
  "currency",
] as const satisfies readonly (keyof CallDetailRecord)[];

const TIMES = new Set<string>(["startedAt", "answeredAt", "endedAt"]);

function cell(value: unknown, column: string): string {
  if (value === null || value === undefined) return "";
  const text = TIMES.has(column) && typeof value === "number" ? new Date(value).toISOString() : String(value);
  // Quote what a spreadsheet would split on, and a leading =+-@ that it would run as a formula.
  const safe = /^[=+\-@]/.test(text) && !/^[+-]?\d/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The records as CSV text with a header row. */
export function cdrsToCsv(rows: readonly CallDetailRecord[]): string {
  const lines = [COLUMNS.join(",")];
  for (const r of rows) lines.push(COLUMNS.map((c) => cell(r[c], c)).join(","));
  return `${lines.join("\r\n")}\r\n`;
}
