import type { CallDetailRecord, CdrQuery, CdrRepository } from "../../ports/index.ts";
import { DEFAULT_CDR_PAGE, interruptedRecord, matchesCdrQuery, newestFirst } from "../cdr-rules.ts";

/** CDRs in process memory: for tests and setups that accept losing them on restart. */
export class MemoryCdrRepository implements CdrRepository {
  private readonly rows = new Map<string, { record: CallDetailRecord; open: boolean }>();

  async open(record: CallDetailRecord): Promise<void> {
    // Copies in and out, so callers mutating their objects cannot change what is stored (as with SQL).
    this.rows.set(record.id, { record: structuredClone(record), open: true });
  }

  async close(record: CallDetailRecord): Promise<void> {
    this.rows.set(record.id, { record: structuredClone(record), open: false });
  }

  async closeInterrupted(now: number): Promise<number> {
    let n = 0;
    for (const [id, row] of this.rows) {
      if (!row.open) continue;
      this.rows.set(id, { record: interruptedRecord(row.record, now), open: false });
      n++;
    }
    return n;
  }

  async get(id: string): Promise<CallDetailRecord | undefined> {
    const row = this.rows.get(id);
    return row === undefined ? undefined : structuredClone(row.record);
  }

  async search(query: CdrQuery): Promise<{ readonly rows: CallDetailRecord[]; readonly total: number }> {
    const all = [...this.rows.values()].map((r) => r.record).filter((r) => matchesCdrQuery(r, query)).sort(newestFirst);
    const offset = query.offset ?? 0;
    return { rows: all.slice(offset, offset + (query.limit ?? DEFAULT_CDR_PAGE)).map((r) => structuredClone(r)), total: all.length };
  }
}
