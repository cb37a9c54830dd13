import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { GroupCommitQueue, WorkerCdrWriter, type CdrWriter, type RowFailure, type RowParams } from "./cdr-writer.ts";

/** A writer that records each batch and commits when told to. */
function manualWriter(): CdrWriter & { batches: RowParams[][]; commit(failure?: RowFailure): void } {
  const waiting: { rows: readonly RowParams[]; resolve(results: (RowFailure | null)[]): void }[] = [];
  return {
    batches: [],
    write(rows) {
      this.batches.push([...rows]);
      return new Promise((resolve) => waiting.push({ rows, resolve }));
    },
    commit(failure) {
      const next = waiting.shift();
      next?.resolve(next.rows.map(() => failure ?? null));
    },
    async close() {},
  };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("GroupCommitQueue", () => {
  it("replaces a queued row by a later row of the same key and resolves both pushes", async () => {
    const writer = manualWriter();
    const queue = new GroupCommitQueue(writer, "CDR");
    const open = queue.push(["c1", "open"], "c1");
    const other = queue.push(["c2", "open"], "c2");
    const close = queue.push(["c1", "closed"], "c1");
    await turn();
    assert.deepEqual(writer.batches, [[["c1", "closed"], ["c2", "open"]]]);
    writer.commit();
    await Promise.all([open, other, close]);
  });

  it("builds a row given as a function only when its batch leaves, and not once replaced", async () => {
    const writer = manualWriter();
    const queue = new GroupCommitQueue(writer, "CDR");
    let built = 0;
    const row = (values: RowParams) => (): RowParams => {
      built++;
      return values;
    };
    const pushes = [queue.push(row(["c1", "open"]), "c1"), queue.push(row(["c1", "closed"]), "c1")];
    assert.equal(built, 0);
    await turn();
    assert.equal(built, 1);
    assert.deepEqual(writer.batches, [[["c1", "closed"]]]);
    writer.commit();
    await Promise.all(pushes);
  });

  it("keeps every row pushed without a key", async () => {
    const writer = manualWriter();
    const queue = new GroupCommitQueue(writer, "ladder");
    const pushes = [queue.push(["c1", 1]), queue.push(["c1", 2])];
    await turn();
    assert.deepEqual(writer.batches, [[["c1", 1], ["c1", 2]]]);
    writer.commit();
    await Promise.all(pushes);
  });

  it("holds rows pushed during a commit and hands them over as one batch when it is done", async () => {
    const writer = manualWriter();
    const queue = new GroupCommitQueue(writer, "CDR");
    const first = queue.push(["c1", "open"], "c1");
    await turn();
    const later = [queue.push(["c2", "open"], "c2"), queue.push(["c1", "closed"], "c1"), queue.push(["c2", "closed"], "c2")];
    await turn();
    assert.equal(writer.batches.length, 1, "nothing more while the first batch commits");
    writer.commit();
    await first;
    await turn();
    assert.deepEqual(writer.batches[1], [["c2", "closed"], ["c1", "closed"]]);
    writer.commit();
    await Promise.all(later);
  });

  it("rejects every push merged into a row that fails", async () => {
    const writer = manualWriter();
    const queue = new GroupCommitQueue(writer, "CDR");
    const open = queue.push(["c1", "open"], "c1");
    const close = queue.push(["c1", "closed"], "c1");
    await turn();
    writer.commit({ message: "disk full", code: "SQLITE_FULL" });
    await assert.rejects(open, { code: "STORAGE_QUERY_FAILED" });
    await assert.rejects(close, { code: "STORAGE_QUERY_FAILED" });
  });

  it("flush hands over at once, even with a batch in flight, and waits for both", async () => {
    const writer = manualWriter();
    const queue = new GroupCommitQueue(writer, "CDR");
    void queue.push(["c1", "open"], "c1");
    await turn();
    void queue.push(["c2", "open"], "c2");
    let flushed = false;
    const flushing = queue.flush().then(() => (flushed = true));
    assert.equal(writer.batches.length, 2);
    writer.commit();
    await turn();
    assert.equal(flushed, false);
    writer.commit();
    await flushing;
  });
});

describe("WorkerCdrWriter", () => {
  it("fails only the row the database refuses, with the driver's code, from its thread (the worker runs commitBatch's source text)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "trunkline-writer-"));
    const path = join(dir, "w.db");
    const db = new Database(path);
    try {
      db.pragma("journal_mode = WAL");
      db.exec("CREATE TABLE t (id TEXT PRIMARY KEY, v INTEGER NOT NULL)");
      const writer = new WorkerCdrWriter(path, "INSERT INTO t (id, v) VALUES (?, ?)", 5000);
      const results = await writer.write([["a", 1], ["b", null], ["c", 3]]);
      await writer.close();
      assert.equal(results[0], null);
      assert.equal(results[1]?.code, "SQLITE_CONSTRAINT_NOTNULL");
      assert.equal(results[2], null);
      assert.deepEqual(db.prepare("SELECT id FROM t ORDER BY id").all(), [{ id: "a" }, { id: "c" }]);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
