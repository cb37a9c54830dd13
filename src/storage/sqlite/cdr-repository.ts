// CDRs in the SQLite table `cdrs`: one column per scalar field (indexed where search filters),
// attempts and trace as JSON.
//
// Durability vs speed: the database runs with synchronous=FULL, so a commit is an fsync and a
// committed CDR survives a power cut, not only a process kill. Measured on the build machine, one
// commit per write reached ~3,800 commits/s with nothing else running, below the ~4,000/s that
// 2,000 calls/s (open + close) need, and better-sqlite3 is synchronous: every fsync would stall
// the event loop that also carries SIP. So writes are group-committed instead of weakening the
// sync mode: open() and close() queue the record and resolve only once the transaction holding
// it has committed; the queue is flushed in one transaction on the next turn of the event loop
// (setImmediate), so everything written while the loop was busy shares one fsync. Under load the
// batches grow by themselves; when idle a write waits one loop turn, not a timer.
import type BetterSqlite3 from "better-sqlite3";
import { DISPOSITIONS, type CallDetailRecord, type CdrAttempt, type CdrQuery, type CdrRepository, type Disposition, type TraceEntry } from "../../ports/index.ts";
import { DEFAULT_CDR_PAGE, interruptedRecord } from "../cdr-rules.ts";
import { StorageError } from "../errors.ts";

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

type RowParams = Record<string, string | number | null>;


const DISPOSITION_SET: ReadonlySet<string> = new Set(DISPOSITIONS);

function isDisposition(value: string): value is Disposition {
  return DISPOSITION_SET.has(value);
}

function toParams(r: CallDetailRecord, closed: boolean): RowParams {
  return {
    id: r.id,
    call_id: r.callId,
    direction: r.direction,
    customer_id: r.customerId,
    carrier_id: r.carrierId,
    caller_raw: r.callerRaw,
    callee_raw: r.calleeRaw,
    caller_e164: r.callerE164,
    callee_e164: r.calleeE164,
    started_at: r.startedAt,
    ringing_at: r.ringingAt,
    answered_at: r.answeredAt,
    ended_at: r.endedAt,
    duration_ms: r.durationMs,
    final_status: r.finalStatus,
    q850_cause: r.q850Cause,
    disposition: r.disposition,
    hangup_by: r.hangupBy,
    end_reason: r.endReason,
    rate_per_minute: r.ratePerMinute,
    cost: r.cost,
    currency: r.currency,
    attempts: JSON.stringify(r.attempts),
    trace: JSON.stringify(r.trace),
    closed: closed ? 1 : 0,
  };
}

function toRecord(row: CdrRow): CallDetailRecord {
  // The CHECK constraints guarantee these; the guards keep the types honest without casts.
  const direction = row.direction === "inbound" || row.direction === "outbound" ? row.direction : undefined;
  const hangupBy = row.hangup_by === null || row.hangup_by === "caller" || row.hangup_by === "callee" || row.hangup_by === "system" ? row.hangup_by : undefined;
  const disposition = row.disposition === null || isDisposition(row.disposition) ? row.disposition : undefined;
  if (direction === undefined || hangupBy === undefined || disposition === undefined) {
    throw new StorageError("STORAGE_QUERY_FAILED", `corrupt CDR row ${row.id}`);
  }
  const attempts: CdrAttempt[] = JSON.parse(row.attempts);
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
  };
}

const COLUMNS = [
  "id", "call_id", "direction", "customer_id", "carrier_id", "caller_raw", "callee_raw", "caller_e164", "callee_e164",
  "started_at", "ringing_at", "answered_at", "ended_at", "duration_ms", "final_status", "q850_cause", "disposition",
  "hangup_by", "end_reason", "rate_per_minute", "cost", "currency", "attempts", "trace", "closed",
] as const;

interface Pending {
  readonly params: RowParams;
  resolve(): void;
  reject(error: unknown): void;
}

/** CDRs in SQLite with group commit; see the comment at the top of this file. */
export class SqliteCdrRepository implements CdrRepository {
  private readonly write: BetterSqlite3.Statement<[RowParams]>;
  private readonly writeBatch: BetterSqlite3.Transaction<(batch: readonly Pending[]) => void>;
  private readonly getStmt: BetterSqlite3.Statement<[string], CdrRow>;
  private readonly openRows: BetterSqlite3.Statement<[], CdrRow>;
  private readonly interrupt: BetterSqlite3.Transaction<(now: number) => number>;
  private queue: Pending[] = [];
  private scheduled: NodeJS.Immediate | undefined;

  constructor(private readonly db: BetterSqlite3.Database) {
    // REPLACE: close() overwrites the open row; a close() with no open() before it still lands.
    this.write = db.prepare(`INSERT OR REPLACE INTO cdrs (${COLUMNS.join(", ")}) VALUES (${COLUMNS.map((c) => `@${c}`).join(", ")})`);
    this.writeBatch = db.transaction((batch: readonly Pending[]) => {
      for (const p of batch) this.write.run(p.params);
    });
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
    // Serialized now, so a caller changing its object after the call cannot change the row.
    const params = toParams(record, closed);
    return new Promise((resolve, reject) => {
      this.queue.push({ params, resolve, reject });
      this.scheduled ??= setImmediate(() => this.flush());
    });
  }

  /** Commits every queued write now, in one transaction; storage close and reads call it. */
  flush(): void {
    if (this.scheduled !== undefined) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    try {
      this.writeBatch.immediate(batch);
      for (const p of batch) p.resolve();
    } catch {
      // One bad record (or a full disk) must not fail the others: retry each alone so only the
      // ones that cannot be written reject.
      for (const p of batch) {
        try {
          this.writeBatch.immediate([p]);
          p.resolve();
        } catch (cause) {
          p.reject(new StorageError("STORAGE_QUERY_FAILED", `CDR ${String(p.params["id"])}: write failed`, { cause }));
        }
      }
    }
  }

  async closeInterrupted(now: number): Promise<number> {
    this.flush();
    return guarded("closeInterrupted", () => this.interrupt.immediate(now));
  }

  async get(id: string): Promise<CallDetailRecord | undefined> {
    // Reads see every write already made, committed or still queued.
    this.flush();
    return guarded("get", () => {
      const row = this.getStmt.get(id);
      return row === undefined ? undefined : toRecord(row);
    });
  }

  async search(query: CdrQuery): Promise<{ readonly rows: CallDetailRecord[]; readonly total: number }> {
    this.flush();
    const where: string[] = [];
    const params: RowParams = {};
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
        const total = this.db.prepare<[RowParams], { n: number }>(`SELECT count(*) AS n FROM cdrs ${filter}`).get(params)?.n ?? 0;
        const rows = this.db
          .prepare<[RowParams], CdrRow>(`SELECT * FROM cdrs ${filter} ORDER BY started_at DESC, id DESC LIMIT @limit OFFSET @offset`)
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
