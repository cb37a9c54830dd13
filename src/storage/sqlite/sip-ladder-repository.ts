// SIP ladders in the SQLite table `sip_ladders`: one row per ended call, its messages as one BLOB,
// so a call costs one insert however many messages it had. The BLOB is
//   metadata length (uint32 BE) | metadata (JSON array, one tuple per message) | raw bytes, concatenated
// which costs a quarter of JSON with base64 inside (measured ~26 vs ~100 us for a 14-message call)
// and keeps the bytes as they were. Writes go through the same group-commit writer as CDRs
// (cdr-writer.ts: a worker thread for a file database, so SQLite never stalls SIP), with their
// own statement and thread, but with synchronous=NORMAL: a ladder is diagnostics, not worth an
// fsync per commit (the recorder hands ladders over in batches, so commits are few anyway); a
// power cut may lose the last ladders, never a CDR (those commit FULL).
import type BetterSqlite3 from "better-sqlite3";
import type { SipLadderMessage, SipLadderRepository } from "../../ports/index.ts";
import { StorageError } from "../errors.ts";
import { GroupCommitQueue, InlineCdrWriter, WorkerCdrWriter } from "./cdr-writer.ts";

/** One message's metadata: at, direction, leg, protocol, local address and port, remote address and port, byte length. */
type StoredMeta = [number, "in" | "out", "a" | "b", "UDP" | "TCP" | "TLS", string, number, string, number, number];

/** Where ladder rows are committed: a worker for a file database, inline for `:memory:`. */
export interface SqliteSipLadderOptions {
  readonly path?: string;
  readonly busyTimeoutMs?: number;
}

/** Packs a ladder into one BLOB (see the top of this file). */
export function encodeLadder(messages: readonly SipLadderMessage[]): Buffer {
  const meta: StoredMeta[] = messages.map((m) => [m.at, m.direction, m.leg, m.protocol, m.local.address, m.local.port, m.remote.address, m.remote.port, m.raw.byteLength]);
  const metaBytes = Buffer.from(JSON.stringify(meta), "utf8");
  const head = Buffer.alloc(4);
  head.writeUInt32BE(metaBytes.length, 0);
  return Buffer.concat([head, metaBytes, ...messages.map((m) => m.raw)]);
}

/** Unpacks what encodeLadder wrote; each message's raw bytes are a view of the BLOB. */
export function decodeLadder(blob: Buffer): SipLadderMessage[] {
  const metaLength = blob.readUInt32BE(0);
  const meta = JSON.parse(blob.toString("utf8", 4, 4 + metaLength)) as StoredMeta[];
  let off = 4 + metaLength;
  return meta.map(([at, direction, leg, protocol, localAddress, localPort, remoteAddress, remotePort, length]) => {
    const raw = blob.subarray(off, off + length);
    off += length;
    return { at, direction, leg, protocol, local: { address: localAddress, port: localPort }, remote: { address: remoteAddress, port: remotePort }, raw };
  });
}

function guarded<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (cause) {
    throw new StorageError("STORAGE_QUERY_FAILED", `SIP ladders: ${what} failed`, { cause });
  }
}

/** SIP ladders in SQLite with group commit. */
export class SqliteSipLadderRepository implements SipLadderRepository {
  private readonly writes: GroupCommitQueue;
  private readonly getStmt: BetterSqlite3.Statement<[string], { messages: Buffer }>;
  private readonly pruneStmt: BetterSqlite3.Statement<[number]>;

  constructor(db: BetterSqlite3.Database, options: SqliteSipLadderOptions = {}) {
    const sql = "INSERT OR REPLACE INTO sip_ladders (call_id, saved_at, messages) VALUES (?, ?, ?)";
    const writer = options.path === undefined ? new InlineCdrWriter(db, sql) : new WorkerCdrWriter(options.path, sql, options.busyTimeoutMs ?? 5000, "NORMAL");
    this.writes = new GroupCommitQueue(writer, "SIP ladder");
    this.getStmt = db.prepare("SELECT messages FROM sip_ladders WHERE call_id = ?");
    this.pruneStmt = db.prepare("DELETE FROM sip_ladders WHERE saved_at < ?");
  }

  save(callId: string, savedAt: number, messages: readonly SipLadderMessage[]): Promise<void> {
    // Encoded now, so a caller changing its messages afterwards cannot change the row.
    return this.writes.push([callId, Math.floor(savedAt), encodeLadder(messages)]);
  }

  /** Hands every queued save to the writer; resolves once all saves so far are committed. */
  flush(): Promise<void> {
    return this.writes.flush();
  }

  async get(callId: string): Promise<SipLadderMessage[] | undefined> {
    await this.flush();
    return guarded("get", () => {
      const row = this.getStmt.get(callId);
      return row === undefined ? undefined : decodeLadder(row.messages);
    });
  }

  async prune(before: number): Promise<number> {
    await this.flush();
    return guarded("prune", () => this.pruneStmt.run(Math.floor(before)).changes);
  }

  /** Commits what is queued and lets go of the writer; storage close calls it. */
  shutdown(): Promise<void> {
    return this.writes.close();
  }
}
