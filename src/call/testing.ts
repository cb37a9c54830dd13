// Test helpers for the call layer (not exported from index.ts): an in-memory CDR repository.
import type { CallDetailRecord, CdrQuery, CdrRepository } from "../ports/index.ts";

/** CDRs in a Map, with waitClosed() so tests can await the row a call writes when it ends. */
export class MemoryCdrRepository implements CdrRepository {
  readonly rows = new Map<string, CallDetailRecord>();
  private waiters: Array<() => void> = [];

  async open(record: CallDetailRecord): Promise<void> {
    this.rows.set(record.id, record);
  }

  async close(record: CallDetailRecord): Promise<void> {
    this.rows.set(record.id, record);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  async closeInterrupted(now: number): Promise<number> {
    let n = 0;
    for (const [id, r] of this.rows) {
      if (r.endedAt !== null) continue;
      this.rows.set(id, { ...r, endedAt: now, disposition: "interrupted" });
      n++;
    }
    return n;
  }

  async get(id: string): Promise<CallDetailRecord | undefined> {
    return this.rows.get(id);
  }

  async search(query: CdrQuery): Promise<{ readonly rows: CallDetailRecord[]; readonly total: number }> {
    const rows = [...this.rows.values()]
      .filter((r) => query.trunkId === undefined || r.customerId === query.trunkId || r.carrierId === query.trunkId)
      .filter((r) => query.disposition === undefined || r.disposition === query.disposition)
      .sort((a, b) => b.startedAt - a.startedAt);
    const offset = query.offset ?? 0;
    return { rows: rows.slice(offset, offset + (query.limit ?? 100)), total: rows.length };
  }

  /** Closed rows, oldest first. */
  closed(): CallDetailRecord[] {
    return [...this.rows.values()].filter((r) => r.endedAt !== null).sort((a, b) => a.startedAt - b.startedAt);
  }

  /** Resolves once `count` rows are closed, or rejects after ms. */
  async waitClosed(count: number, ms = 10_000): Promise<CallDetailRecord[]> {
    const deadline = Date.now() + ms;
    while (this.closed().length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} closed CDRs, have ${this.closed().length}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
    return this.closed();
  }
}
