import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import type BetterSqlite3 from "better-sqlite3";
import type { Storage } from "../../ports/index.ts";
import { StorageError } from "../errors.ts";
import { SqliteBanRepository, SqliteFraudSuspensionRepository } from "./ban-repository.ts";
import { SqliteBindingRepository } from "./binding-repository.ts";
import { SqliteCdrRepository } from "./cdr-repository.ts";
import { SqliteProvisioningRepository } from "./provisioning-repository.ts";
import { SqliteSipLadderRepository } from "./sip-ladder-repository.ts";
import { DEFAULT_MIGRATION_CONTEXT, MIGRATIONS, runMigrations, type Migration } from "./migrations.ts";

/** Options of openSqliteStorage. */
export interface SqliteStorageOptions {
  /** Database file; its folder is created. `:memory:` gives a private throw-away database. */
  readonly path: string;
  /** Schema steps; tests replace them, production uses MIGRATIONS. */
  readonly migrations?: readonly Migration[];
  /** Milliseconds to wait for another connection's lock before failing with SQLITE_BUSY. Default 5000. */
  readonly busyTimeoutMs?: number;
  /** The digest realm (`calls.realm`) customers' passwords are hashed in; default "trunkline". */
  readonly realm?: string;
}

/** SQLite storage; `db` is exposed for tests and maintenance tools, not for the call layer. */
export interface SqliteStorage extends Storage {
  readonly db: BetterSqlite3.Database;
}

function configure(db: BetterSqlite3.Database, busyTimeoutMs: number): void {
  // WAL lets the HTTP API read CDRs while calls write them, without blocking each other.
  db.pragma("journal_mode = WAL");
  // FULL, not NORMAL: in WAL mode NORMAL skips the fsync at commit, so a power cut or kernel crash
  // can lose the last committed transactions. A CDR we answered for must survive that; the cost
  // is one fsync per commit, small next to the calls that produce the writes.
  db.pragma("synchronous = FULL");
  db.pragma("foreign_keys = ON");
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
}

/** Opens (creating if needed) the SQLite database at options.path and brings its schema up to date. */
export function openSqliteStorage(options: SqliteStorageOptions): SqliteStorage {
  const inMemory = options.path === ":memory:";
  const path = inMemory ? options.path : resolve(options.path);
  let db: BetterSqlite3.Database;
  try {
    if (!inMemory) mkdirSync(dirname(path), { recursive: true });
    db = new Database(path);
    configure(db, options.busyTimeoutMs ?? 5000);
  } catch (cause) {
    throw new StorageError("STORAGE_OPEN_FAILED", `cannot open the SQLite database at ${path}`, { cause });
  }

  let migrationsApplied: string[];
  try {
    migrationsApplied = runMigrations(db, options.migrations ?? MIGRATIONS, { context: { realm: options.realm ?? DEFAULT_MIGRATION_CONTEXT.realm } });
  } catch (e) {
    db.close();
    throw e;
  }

  const bindings = new SqliteBindingRepository(db);
  const provisioning = new SqliteProvisioningRepository(db, { realm: options.realm ?? DEFAULT_MIGRATION_CONTEXT.realm });
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  const cdrs = new SqliteCdrRepository(db, inMemory ? {} : { path, busyTimeoutMs });
  const sipLadders = new SqliteSipLadderRepository(db, inMemory ? {} : { path, busyTimeoutMs });
  const bans = new SqliteBanRepository(db);
  return {
    db,
    bindings,
    provisioning,
    cdrs,
    sipLadders,
    bans,
    fraudSuspensions: new SqliteFraudSuspensionRepository(db),
    migrationsApplied,
    async close() {
      if (!db.open) return;
      // CDRs queued for the next group commit are written before the file is let go; a failed
      // write has already been reported to its caller.
      await cdrs.shutdown().catch(() => {});
      await sipLadders.shutdown().catch(() => {});
      try {
        bans.flush();
      } catch {
        // Only the bans of this last turn are lost; the file is closed anyway.
      }
      try {
        db.close();
      } catch (cause) {
        throw new StorageError("STORAGE_QUERY_FAILED", `closing the SQLite database at ${path} failed`, { cause });
      }
    },
  };
}
