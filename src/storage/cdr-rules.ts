// CDR rules every implementation shares, so memory and SQLite cannot drift apart: what an
// interrupted record looks like, and (for memory) how a query filters and orders.
import type { CallDetailRecord, CdrQuery } from "../ports/index.ts";

/** Rows per search page when the query names no limit. */
export const DEFAULT_CDR_PAGE = 100;

/** Why an interrupted record ended, when it had no reason yet. */
export const INTERRUPTED_REASON = "Trunkline stopped before the call ended";

/**
 * The record of a call the process lost track of (crash, kill, power cut). It ends at `now`, the
 * first moment we know it was over; the answered duration is left as last written because the
 * real end is unknown and billing must not invent minutes.
 */
export function interruptedRecord(record: CallDetailRecord, now: number): CallDetailRecord {
  return { ...record, endedAt: now, disposition: "interrupted", hangupBy: "system", endReason: record.endReason ?? INTERRUPTED_REASON };
}

/** True when the record passes every filter of the query (paging aside). */
export function matchesCdrQuery(r: CallDetailRecord, q: CdrQuery): boolean {
  if (q.from !== undefined && r.startedAt < q.from) return false;
  if (q.to !== undefined && r.startedAt >= q.to) return false;
  if (q.trunkId !== undefined && r.customerId !== q.trunkId && r.carrierId !== q.trunkId) return false;
  if (q.disposition !== undefined && r.disposition !== q.disposition) return false;
  if (q.number !== undefined) {
    const n = q.number;
    const hit = [r.callerRaw, r.calleeRaw, r.callerE164, r.calleeE164].some((v) => v !== null && v.includes(n));
    if (!hit) return false;
  }
  return true;
}

/** Newest first; equal start times by id descending (as SQLite orders ASCII ids). */
export function newestFirst(a: CallDetailRecord, b: CallDetailRecord): number {
  if (a.startedAt !== b.startedAt) return b.startedAt - a.startedAt;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}
