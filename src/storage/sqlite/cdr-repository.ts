// CDRs in the SQLite table `cdrs`: one column per scalar field (indexed where search filters),
// attempts and trace as JSON.
//
// Durability vs speed: the database runs with synchronous=FULL, so a commit is an fsync and a
// committed CDR survives a power cut, not only a process kill. One commit per write cannot keep
// up with 2,000 calls/s (open + close), so writes are group-committed instead of weakening the
// sync mode: open() and close() queue the record and resolve only once the transaction holding
// it has committed; the queue is handed to the writer on the next turn of the event loop
// (setImmediate), so everything written while the loop was busy shares one fsync. The writer
// commits from a worker thread for a file database (see cdr-writer.ts): the fsync no longer
// stalls SIP, and batches that arrive during one fsync share the next.
import type BetterSqlite3 from "better-sqlite3";
import { DISPOSITIONS, type CallDetailRecord, type CallMediaQuality, type CdrAttempt, type CdrQuery, type CdrRepository, type Disposition, type TraceEntry } from "../../ports/index.ts";
import { DEFAULT_CDR_PAGE, interruptedRecord } from "../cdr-rules.ts";
import { StorageError } from "../errors.ts";
import { GroupCommitQueue, InlineCdrWriter, WorkerCdrWriter, type RowParams } from "./cdr-writer.ts";

interface CdrRow {
  id: string;
  call_id: string;
  direction: string;
  customer_id: string | null;
  carrier_id: string | null;
  caller_raw: string;
  callee_raw: string;
  caller_e164: string | null;
  callee_e164: string | null;
  started_at: number;
  ringing_at: number | null;
  answered_at: number | null;
  ended_at: number | null;
  duration_ms: number;
  final_status: number | null;
  q850_cause: number | null;
  disposition: string | null;
  hangup_by: string | null;
  end_reason: string | null;
  rate_per_minute: number | null;
  cost: number | null;
  currency: string | null;
  attempts: string;
  trace: string;
  closed: number;
}


const DISPOSITION_SET: ReadonlySet<string> = new Set(DISPOSITIONS);

function isDisposition(value: string): value is Disposition {
  return DISPOSITION_SET.has(value);
}

// Positional, in COLUMNS order: an array of primitives is the cheapest thing to hand to the writer
// thread (structured clone copies no property names).
function toParams(r: CallDetailRecord, closed: boolean): RowParams {
  return [
    r.id, r.callId, r.direction, r.customerId, r.carrierId, r.callerRaw, r.calleeRaw, r.callerE164, r.calleeE164,
    r.startedAt, r.ringingAt, r.answeredAt, r.endedAt, r.durationMs, r.finalStatus, r.q850Cause, r.disposition,
    r.hangupBy, r.endReason, r.ratePerMinute, r.cost, r.currency, attemptsColumn(r), JSON.stringify(r.trace), closed ? 1 : 0,
  ];
}

function toRecord(row: CdrRow): CallDetailRecord {
  // The CHECK constraints guarantee these; the guards keep the types honest without casts.
  const direction = row.direction === "inbound" || row.direction === "outbound" ? row.direction : undefined;
  const hangupBy = row.hangup_by === null || row.hangup_by === "caller" || row.hangup_by === "callee" || row.hangup_by === "system" ? row.hangup_by : undefined;
  const disposition = row.disposition === null || isDisposition(row.disposition) ? row.disposition : undefined;
  if (direction === undefined || hangupBy === undefined || disposition === undefined) {
    throw new StorageError("STORAGE_QUERY_FAILED", `corrupt CDR row ${row.id}`);
  }
  // The attempts column holds the attempt list, or { attempts, media } for a relayed call (no migration needed).
  const stored: unknown = JSON.parse(row.attempts);
  const withMedia = !Array.isArray(stored) && typeof stored === "object" && stored !== null ? (stored as { attempts: CdrAttempt[]; media?: CallMediaQuality }) : null;
  const attempts: CdrAttempt[] = withMedia !== null ? withMedia.attempts : (stored as CdrAttempt[]);
  const trace: TraceEntry[] = JSON.parse(row.trace);
  return {
    id: row.id,
    callId: row.call_id,
    direction,
    customerId: row.customer_id,
    carrierId: row.carrier_id,
    attempts,
    callerRaw: row.caller_raw,
    calleeRaw: row.callee_raw,
    callerE164: row.caller_e164,
    calleeE164: row.callee_e164,
    startedAt: row.started_at,
    ringingAt: row.ringing_at,
    answeredAt: row.answered_at,
    endedAt: row.ended_at,
    durationMs: row.duration_ms,
    finalStatus: row.final_status,
    q850Cause: row.q850_cause,
    disposition,
    hangupBy,
    endReason: row.end_reason,
    ratePerMinute: row.rate_per_minute,
    cost: row.cost,
    currency: row.currency,
    trace,
    ...(withMedia?.media !== undefined ? { media: withMedia.media } : {}),
  };
}

/** The attempts column: the list alone, or with the call's media quality beside it. */
function attemptsColumn(r: CallDetailRecord): string {
  return JSON.stringify(r.media === undefined ? r.attempts : { attempts: r.attempts, media: r.media });
}

const COLUMNS = [
  "id", "call_id", "direction", "customer_id", "carrier_id", "caller_raw", "callee_raw", "caller_e164", "callee_e164",
  "started_at", "ringing_at", "answered_at", "ended_at", "duration_ms", "final_status", "q850_cause", "disposition",
  "hangup_by", "end_reason", "rate_per_minute", "cost", "currency", "attempts", "trace", "closed",
] as const;

/** Where the CDR rows are committed; see the comment at the top of this file. */
export interface SqliteCdrOptions {
  /** The database file; a worker thread commits to it. Omitted (`:memory:`): commits inline on `db`. */
  readonly path?: string;
  readonly busyTimeoutMs?: number;
}

/** CDRs in SQLite with group commit; see the comment at the top of this file. */
export class SqliteCdrRepository implements CdrRepository {
  private readonly write: BetterSqlite3.Statement<[RowParams]>;
  private readonly writes: GroupCommitQueue;
  private readonly getStmt: BetterSqlite3.Statement<[string], CdrRow>;
  private readonly openRows: BetterSqlite3.Statement<[], CdrRow>;
  private readonly interrupt: BetterSqlite3.Transaction<(now: number) => number>;

  constructor(
    private readonly db: BetterSqlite3.Database,
    options: SqliteCdrOptions = {},
  ) {
    // REPLACE: close() overwrites the open row; a close() with no open() before it still lands.
    const sql = `INSERT OR REPLACE INTO cdrs (${COLUMNS.join(", ")}) VALUES (${COLUMNS.map(() => "?").join(", ")})`;
    this.write = db.prepare(sql);
    const writer = options.path === undefined ? new InlineCdrWriter(db, sql) : new WorkerCdrWriter(options.path, sql, options.busyTimeoutMs ?? 5000);
    this.writes = new GroupCommitQueue(writer, "CDR");
    this.getStmt = db.prepare("SELECT * FROM cdrs WHERE id = ?");
    this.openRows = db.prepare("SELECT * FROM cdrs WHERE closed = 0");
    this.interrupt = db.transaction((now: number) => {
      const rows = this.openRows.all();
      for (const row of rows) this.write.run(toParams(interruptedRecord(toRecord(row), now), true));
      return rows.length;
    });
  }

  open(record: CallDetailRecord): Promise<void> {
    return this.enqueue(record, false);
  }

  close(record: CallDetailRecord): Promise<void> {
    return this.enqueue(record, true);
  }

  private enqueue(record: CallDetailRecord, closed: boolean): Promise<void> {
    // Serialized when its batch leaves, and not at all when a later write of the same CDR replaced
    // it meanwhile (the open row of a short call). The call layer hands over a fresh record() copy
    // it never changes, so the row is the record as it was when written.
    return this.writes.push(() => toParams(record, closed), record.id);
  }

  /** Hands every queued write to the writer now; resolves once all writes so far are committed. */
  flush(): Promise<void> {
    return this.writes.flush();
  }

  /** Commits what is queued and lets go of the writer; storage close calls it before closing the database. */
  shutdown(): Promise<void> {
    return this.writes.close();
  }

  async closeInterrupted(now: number): Promise<number> {
    await this.flush();
    return guarded("closeInterrupted", () => this.interrupt.immediate(now));
  }

  async get(id: string): Promise<CallDetailRecord | undefined> {
    // Reads see every write already made, committed or still queued.
    await this.flush();
    return guarded("get", () => {
      const row = this.getStmt.get(id);
      return row === undefined ? undefined : toRecord(row);
    });
  }

  async search(query: CdrQuery): Promise<{ readonly rows: CallDetailRecord[]; readonly total: number }> {
    await this.flush();
    const where: string[] = [];
    const params: Record<string, string | number> = {};
    if (query.from !== undefined) {
      where.push("started_at >= @from");
      params["from"] = query.from;
    }
    if (query.to !== undefined) {
      where.push("started_at < @to");
      params["to"] = query.to;
    }
    if (query.trunkId !== undefined) {
      where.push("(customer_id = @trunk OR carrier_id = @trunk)");
      params["trunk"] = query.trunkId;
    }
    if (query.disposition !== undefined) {
      where.push("disposition = @disposition");
      params["disposition"] = query.disposition;
    }
    if (query.number !== undefined) {
      // instr, not LIKE: a plain, case-sensitive substring with no wildcard characters to escape.
      where.push("(instr(caller_raw, @number) > 0 OR instr(callee_raw, @number) > 0 OR instr(caller_e164, @number) > 0 OR instr(callee_e164, @number) > 0)");
      params["number"] = query.number;
    }
    const filter = where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`;
    params["limit"] = query.limit ?? DEFAULT_CDR_PAGE;
    params["offset"] = query.offset ?? 0;
    return guarded("search", () => {
      const read = this.db.transaction(() => {
        const total = this.db.prepare<[Record<string, string | number>], { n: number }>(`SELECT count(*) AS n FROM cdrs ${filter}`).get(params)?.n ?? 0;
        const rows = this.db
          .prepare<[Record<string, string | number>], CdrRow>(`SELECT * FROM cdrs ${filter} ORDER BY started_at DESC, id DESC LIMIT @limit OFFSET @offset`)
          .all(params)
          .map(toRecord);
        return { rows, total };
      });
      return read.deferred();
    });
  }
}

function guarded<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (cause) {
    if (cause instanceof StorageError) throw cause;
    throw new StorageError("STORAGE_QUERY_FAILED", `CDRs: ${what} failed`, { cause });
  }
}
