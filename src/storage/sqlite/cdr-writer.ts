// Where CDR batches are committed. With synchronous=FULL a commit is an fsync (~2-5 ms on the
// build machine), and better-sqlite3 is synchronous: on the event loop that also carries SIP,
// each group commit stalled every call in flight (a quarter of the main thread's time at 800
// calls/s in a CPU profile). A file database therefore commits from a worker thread with its
// own connection; WAL lets the main connection keep reading meanwhile. A `:memory:` database
// is private to its connection, so it keeps committing inline.
import { createRequire } from "node:module";
import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import type BetterSqlite3 from "better-sqlite3";
import { StorageError } from "../errors.ts";

/** One row's values in the statement's column order (a Uint8Array is a BLOB). */
export type RowParams = readonly (string | number | null | Uint8Array)[];

/** Why one row of a batch could not be written (the driver's message and code). */
export interface RowFailure {
  readonly message: string;
  readonly code: string | undefined;
}

/** Commits batches of rows with one statement; resolves once they are durable. */
export interface CdrWriter {
  /** One entry per row: null when committed, the failure otherwise. */
  write(rows: readonly RowParams[]): Promise<(RowFailure | null)[]>;
  /** Waits for every write handed over so far, then lets go of the connection. */
  close(): Promise<void>;
}

function failureOf(e: unknown): RowFailure {
  const code = typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined;
  return { message: e instanceof Error ? e.message : String(e), code };
}

/**
 * Runs the batch in one transaction; when it fails, retries each row alone so only the rows the
 * database refuses fail (one bad record or a full disk must not take its batch-mates down).
 * Shared by both writers: the worker gets this function's source text (and failureOf's).
 */
function commitBatch(
  db: { transaction(fn: (rows: readonly RowParams[]) => void): { immediate(rows: readonly RowParams[]): void } },
  stmt: { run(params: RowParams): unknown },
  rows: readonly RowParams[],
): (RowFailure | null)[] {
  const tx = db.transaction((batch: readonly RowParams[]) => {
    for (const r of batch) stmt.run(r);
  });
  try {
    tx.immediate(rows);
    return rows.map(() => null);
  } catch {
    return rows.map((r) => {
      try {
        tx.immediate([r]);
        return null;
      } catch (e) {
        return failureOf(e);
      }
    });
  }
}

/** Commits on the caller's connection, synchronously (`:memory:` databases). */
export class InlineCdrWriter implements CdrWriter {
  private readonly stmt: BetterSqlite3.Statement<[RowParams]>;

  constructor(private readonly db: BetterSqlite3.Database, sql: string) {
    this.stmt = db.prepare(sql);
  }

  write(rows: readonly RowParams[]): Promise<(RowFailure | null)[]> {
    try {
      return Promise.resolve(commitBatch(this.db, this.stmt, rows));
    } catch (e) {
      return Promise.resolve(rows.map(() => failureOf(e)));
    }
  }

  async close(): Promise<void> {}
}

interface WriteRequest {
  readonly id: number;
  readonly rows: readonly RowParams[];
}

interface WriteReply {
  readonly id: number;
  readonly results: (RowFailure | null)[];
}

// Plain JavaScript evaluated in the worker: a source file would need the TypeScript loader in
// the worker too, which `bin/trunkline.js` (tsx registered by API) does not pass on.
// Every request waiting on the port is taken before committing, so requests that arrived during
// the previous fsync share the next one (group commit, as on the main thread before).
const WORKER_SOURCE = `
const { workerData, receiveMessageOnPort } = require("node:worker_threads");
const __name = (fn) => fn; // the TypeScript loader may name functions with this helper
const Database = require(workerData.driver);
const failureOf = ${failureOf.toString()};
const commitBatch = ${commitBatch.toString()};
const db = new Database(workerData.path);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = " + workerData.synchronous);
db.pragma("busy_timeout = " + workerData.busyTimeoutMs);
const stmt = db.prepare(workerData.sql);
const port = workerData.port;
port.on("message", (first) => {
  if (first === "close") { db.close(); port.postMessage("closed"); port.close(); return; }
  const requests = [first];
  let closing = false;
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
    if (m.message === "close") { closing = true; break; }
    requests.push(m.message);
  }
  const rows = requests.flatMap((r) => r.rows);
  const results = commitBatch(db, stmt, rows);
  let at = 0;
  for (const r of requests) {
    port.postMessage({ id: r.id, results: results.slice(at, at + r.rows.length) });
    at += r.rows.length;
  }
  if (closing) { db.close(); port.postMessage("closed"); port.close(); }
});
`;

/** Commits from a worker thread with its own connection to the same file. */
export class WorkerCdrWriter implements CdrWriter {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly waiting = new Map<number, { readonly count: number; resolve(results: (RowFailure | null)[]): void }>();
  private nextId = 1;
  private closed: Promise<void> | null = null;
  private failure: RowFailure | null = null;

  /**
   * `synchronous` FULL (default) makes each commit durable with an fsync; NORMAL (WAL) leaves the
   * fsync to checkpoints, for rows whose loss in a power cut is acceptable (SIP ladders).
   */
  constructor(path: string, sql: string, busyTimeoutMs: number, synchronous: "FULL" | "NORMAL" = "FULL") {
    const { port1, port2 } = new MessageChannel();
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { path, sql, busyTimeoutMs, synchronous, driver, port: port2 },
      transferList: [port2],
      // It only holds batches in flight: a small young generation keeps its resident memory down.
      resourceLimits: { maxYoungGenerationSizeMb: 4 },
    });
    this.port = port1;
    this.port.on("message", (reply: WriteReply | "closed") => {
      if (reply === "closed") return;
      const done = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      done?.resolve(reply.results);
      if (this.waiting.size === 0) this.port.unref();
    });
    // A worker that dies (cannot open the file, out of memory) fails what it still owed and
    // everything after, instead of leaving callers waiting.
    this.worker.on("error", (e: unknown) => this.fail(failureOf(e)));
    this.worker.on("exit", () => this.fail({ message: "CDR writer thread exited", code: undefined }));
    // Nothing pending must keep the process alive (a crash test lets the database go without close()).
    this.worker.unref();
    this.port.unref();
  }

  write(rows: readonly RowParams[]): Promise<(RowFailure | null)[]> {
    const failure = this.failure;
    if (failure !== null || this.closed !== null) {
      return Promise.resolve(rows.map(() => failure ?? { message: "CDR writer closed", code: undefined }));
    }
    const id = this.nextId++;
    const request: WriteRequest = { id, rows };
    return new Promise((resolve) => {
      this.waiting.set(id, { count: rows.length, resolve });
      this.port.ref();
      this.port.postMessage(request);
    });
  }

  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      if (this.failure !== null) {
        resolve();
        return;
      }
      this.port.ref();
      this.worker.once("exit", () => resolve());
      this.port.on("message", (reply: WriteReply | "closed") => {
        if (reply === "closed") void this.worker.terminate();
      });
      this.port.postMessage("close");
    });
    return this.closed;
  }

  private fail(failure: RowFailure): void {
    this.failure ??= failure;
    for (const done of this.waiting.values()) done.resolve(Array.from({ length: done.count }, () => failure));
    this.waiting.clear();
  }
}

/** A row's values, or what makes them when the row is handed to the writer. */
export type RowSource = RowParams | (() => RowParams);

interface PendingRow {
  source: RowSource;
  /** Callers waiting on this slot: more than one when a later row of the same key replaced it. */
  readonly waiters: { resolve(): void; reject(error: unknown): void }[];
}

/**
 * Group commit in front of a writer: push() queues a row and resolves only once the transaction
 * holding it has committed. One batch is with the writer at a time: rows pushed while it commits
 * wait here and go together as the next batch once it is done (the writer could not have started
 * them sooner), so a busy second costs a few hand-overs rather than one per turn of the event
 * loop. With nothing in flight, the queue is handed over on the next turn. `what` names the rows
 * in errors.
 *
 * A row pushed with a key replaces a row of the same key still waiting here, for a statement that
 * is an INSERT OR REPLACE on that key: one write instead of two, the same table after. A short
 * call's CDR is opened and closed within one commit, so half of its rows go; and a row given as
 * a function is only built if it is still wanted when the batch leaves.
 */
export class GroupCommitQueue {
  private queue: PendingRow[] = [];
  /** Queue slot of each key pushed since the last hand-over. */
  private readonly slots = new Map<string, PendingRow>();
  private scheduled: NodeJS.Immediate | undefined;
  /** Batches handed to the writer and not yet committed; reads wait for them. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly writer: CdrWriter,
    private readonly what: string,
  ) {}

  /** Queues one row; resolves once it is committed, rejects with STORAGE_QUERY_FAILED otherwise. */
  push(source: RowSource, key?: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const queued = key === undefined ? undefined : this.slots.get(key);
      if (queued !== undefined) {
        queued.source = source;
        queued.waiters.push({ resolve, reject });
        return;
      }
      const row: PendingRow = { source, waiters: [{ resolve, reject }] };
      this.queue.push(row);
      if (key !== undefined) this.slots.set(key, row);
      if (this.inFlight.size === 0) this.scheduled ??= setImmediate(() => void this.flush());
    });
  }

  /** Hands every queued row to the writer now; resolves once all rows so far are committed. */
  async flush(): Promise<void> {
    this.handOver();
    // Only what is in flight now: rows pushed later must not keep a reader waiting under load.
    await Promise.all([...this.inFlight]);
  }

  /** Commits what is queued, then lets go of the writer. */
  async close(): Promise<void> {
    await this.flush();
    await this.writer.close();
  }

  private failed(p: PendingRow, label: string, cause: unknown): void {
    const error = new StorageError("STORAGE_QUERY_FAILED", `${this.what} ${label}: write failed`, { cause });
    for (const w of p.waiters) w.reject(error);
  }

  private handOver(): void {
    if (this.scheduled !== undefined) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const queued = this.queue;
    if (queued.length === 0) return;
    this.queue = [];
    this.slots.clear();
    const batch: PendingRow[] = [];
    const rows: RowParams[] = [];
    for (const p of queued) {
      try {
        rows.push(typeof p.source === "function" ? p.source() : p.source);
        batch.push(p);
      } catch (cause) {
        this.failed(p, "(unbuilt row)", cause);
      }
    }
    if (batch.length === 0) return;
    const done = this.writer.write(rows).then((results) => {
      batch.forEach((p, i) => {
        const failure = results[i];
        if (failure === null) {
          for (const w of p.waiters) w.resolve();
          return;
        }
        this.failed(p, String(rows[i]?.[0]), Object.assign(new Error(failure?.message ?? "not written"), { code: failure?.code }));
      });
    });
    this.inFlight.add(done);
    void done.finally(() => {
      this.inFlight.delete(done);
      // What queued up during this commit goes now, as one batch.
      if (this.inFlight.size === 0 && this.queue.length > 0) this.handOver();
    });
  }
}
