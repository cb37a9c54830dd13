import type BetterSqlite3 from "better-sqlite3";
import type { Binding, BindingRepository, BindingTransport } from "../../ports/index.ts";
import { compareBindings } from "../binding-order.ts";
import { StorageError } from "../errors.ts";

interface BindingRow {
  aor: string;
  contact: string;
  expires_at: number;
  received_address: string;
  received_port: number;
  received_transport: string;
  call_id: string;
  cseq: number;
  q: number | null;
}

const TRANSPORTS: ReadonlySet<string> = new Set<BindingTransport>(["udp", "tcp", "tls", "ws", "wss"]);

function toBinding(row: BindingRow): Binding {
  // The CHECK constraint guarantees this; the guard keeps the type honest without a cast.
  if (!TRANSPORTS.has(row.received_transport)) throw new Error(`corrupt binding row: transport ${row.received_transport}`);
  return {
    aor: row.aor,
    contact: row.contact,
    expiresAt: row.expires_at,
    receivedFrom: { address: row.received_address, port: row.received_port, transport: row.received_transport as BindingTransport },
    callId: row.call_id,
    cseq: row.cseq,
    ...(row.q === null ? {} : { q: row.q }),
  };
}

function guarded<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (cause) {
    throw new StorageError("STORAGE_QUERY_FAILED", `registrar bindings: ${what} failed`, { cause });
  }
}

/** Registrar bindings in the SQLite table `registrar_bindings`; statements are prepared once. */
export class SqliteBindingRepository implements BindingRepository {
  private readonly upsertStmt: BetterSqlite3.Statement<[Record<string, string | number | null>]>;
  private readonly removeStmt: BetterSqlite3.Statement<[string, string]>;
  private readonly removeAllStmt: BetterSqlite3.Statement<[string]>;
  private readonly listStmt: BetterSqlite3.Statement<[string, number], BindingRow>;
  private readonly purgeStmt: BetterSqlite3.Statement<[number]>;

  constructor(db: BetterSqlite3.Database) {
    this.upsertStmt = db.prepare(`
      INSERT INTO registrar_bindings
        (aor, contact, expires_at, received_address, received_port, received_transport, call_id, cseq, q)
      VALUES
        (@aor, @contact, @expiresAt, @address, @port, @transport, @callId, @cseq, @q)
      ON CONFLICT (aor, contact) DO UPDATE SET
        expires_at = excluded.expires_at,
        received_address = excluded.received_address,
        received_port = excluded.received_port,
        received_transport = excluded.received_transport,
        call_id = excluded.call_id,
        cseq = excluded.cseq,
        q = excluded.q`);
    this.removeStmt = db.prepare("DELETE FROM registrar_bindings WHERE aor = ? AND contact = ?");
    this.removeAllStmt = db.prepare("DELETE FROM registrar_bindings WHERE aor = ?");
    this.listStmt = db.prepare("SELECT * FROM registrar_bindings WHERE aor = ? AND expires_at > ?");
    this.purgeStmt = db.prepare("DELETE FROM registrar_bindings WHERE expires_at <= ?");
  }

  async upsert(b: Binding): Promise<void> {
    guarded("upsert", () =>
      this.upsertStmt.run({
        aor: b.aor,
        contact: b.contact,
        expiresAt: b.expiresAt,
        address: b.receivedFrom.address,
        port: b.receivedFrom.port,
        transport: b.receivedFrom.transport,
        callId: b.callId,
        cseq: b.cseq,
        q: b.q ?? null,
      }),
    );
  }

  async remove(aor: string, contact: string): Promise<boolean> {
    return guarded("remove", () => this.removeStmt.run(aor, contact).changes > 0);
  }

  async removeAll(aor: string): Promise<number> {
    return guarded("removeAll", () => this.removeAllStmt.run(aor).changes);
  }

  async list(aor: string, now: number): Promise<Binding[]> {
    // Sorted in JS with the memory repository's comparator: SQLite's BINARY collation orders
    // UTF-8 bytes, which differs from JS string order for some characters.
    return guarded("list", () => this.listStmt.all(aor, now).map(toBinding).sort(compareBindings));
  }

  async purgeExpired(now: number): Promise<number> {
    return guarded("purgeExpired", () => this.purgeStmt.run(now).changes);
  }
}
