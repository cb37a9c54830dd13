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
 * Shared by both writers: the worker gets this function's source text.
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
        const code = typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined;
        return { message: e instanceof Error ? e.message : String(e), code };
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

interface PendingRow {
  readonly params: RowParams;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Group commit in front of a writer: push() queues a row and resolves only once the transaction
 * holding it has committed; the queue is handed over on the next turn of the event loop, so every
 * row pushed while the loop was busy shares one commit. `what` names the rows in errors.
 */
export class GroupCommitQueue {
  private queue: PendingRow[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  /** Batches handed to the writer and not yet committed; reads wait for them. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly writer: CdrWriter,
    private readonly what: string,
  ) {}

  /** Queues one row; resolves once it is committed, rejects with STORAGE_QUERY_FAILED otherwise. */
  push(params: RowParams): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ params, resolve, reject });
      this.scheduled ??= setImmediate(() => void this.flush());
    });
  }

  /** Hands every queued row to the writer now; resolves once all rows so far are committed. */
  async flush(): Promise<void> {
    if (this.scheduled !== undefined) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const batch = this.queue;
    if (batch.length > 0) {
      this.queue = [];
      const done = this.writer.write(batch.map((p) => p.params)).then((results) => {
        batch.forEach((p, i) => {
          const failure = results[i];
          if (failure === null) {
            p.resolve();
            return;
          }
          const cause = Object.assign(new Error(failure?.message ?? "not written"), { code: failure?.code });
          p.reject(new StorageError("STORAGE_QUERY_FAILED", `${this.what} ${String(p.params[0])}: write failed`, { cause }));
        });
      });
      this.inFlight.add(done);
      void done.finally(() => this.inFlight.delete(done));
    }
    await Promise.all(this.inFlight);
  }

  /** Commits what is queued, then lets go of the writer. */
  async close(): Promise<void> {
    await this.flush();
    await this.writer.close();
  }
}
