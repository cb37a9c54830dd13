import type BetterSqlite3 from "better-sqlite3";
import { DEFAULT_REALM, hashCustomerCredentials, type CustomerTrunk } from "../../domain/index.ts";
import { StorageError } from "../errors.ts";

/** What a data migration may need to know of the server's settings. */
export interface MigrationContext {
  /** The digest realm of our challenges (`calls.realm`): customers' HA1 hashes are computed in it. */
  readonly realm: string;
}

/** One schema step. Never edit a migration that has shipped: add a new one. */
export interface Migration {
  /** Strictly increasing from 1. */
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  /** A data step run after `sql`, in the same transaction, for what SQL alone cannot compute. */
  readonly run?: (db: BetterSqlite3.Database, context: MigrationContext) => void;
}

/** The realm of the `calls.realm` default, for opening a database without a server config. */
export const DEFAULT_MIGRATION_CONTEXT: MigrationContext = { realm: DEFAULT_REALM };

/** 0006: every stored customer password becomes its MD5 and SHA-256 HA1, and the password is dropped. */
function hashStoredCustomerPasswords(db: BetterSqlite3.Database, context: MigrationContext): void {
  const rows = db.prepare<[], { id: string; doc: string }>("SELECT id, doc FROM provisioning_customers").all();
  const update = db.prepare<[string, string]>("UPDATE provisioning_customers SET doc = ? WHERE id = ?");
  for (const row of rows) {
    // Written by the provisioning repository from typed values; the json_valid CHECK keeps them parseable.
    const customer: CustomerTrunk = JSON.parse(row.doc);
    const hashed = hashCustomerCredentials(customer, context.realm);
    if (hashed !== customer) update.run(JSON.stringify(hashed), row.id);
  }
}

/** The schema, oldest first. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "registrar-bindings",
    sql: `
      CREATE TABLE registrar_bindings (
        aor                TEXT    NOT NULL,
        contact            TEXT    NOT NULL,
        expires_at         INTEGER NOT NULL,
        received_address   TEXT    NOT NULL,
        received_port      INTEGER NOT NULL CHECK (received_port BETWEEN 0 AND 65535),
        received_transport TEXT    NOT NULL CHECK (received_transport IN ('udp', 'tcp', 'tls', 'ws', 'wss')),
        call_id            TEXT    NOT NULL,
        cseq               INTEGER NOT NULL,
        q                  REAL    CHECK (q IS NULL OR q BETWEEN 0 AND 1),
        PRIMARY KEY (aor, contact)
      ) WITHOUT ROWID;
      -- purgeExpired() scans by expiry.
      CREATE INDEX registrar_bindings_expires_at ON registrar_bindings (expires_at);
    `,
  },
  {
    version: 2,
    name: "provisioning",
    // One JSON document per entity (see provisioning-repository.ts for why), in the order given.
    sql: `
      CREATE TABLE provisioning_customers (
        id       TEXT    PRIMARY KEY,
        position INTEGER NOT NULL,
        doc      TEXT    NOT NULL CHECK (json_valid(doc))
      );
      CREATE TABLE provisioning_carriers (
        id       TEXT    PRIMARY KEY,
        position INTEGER NOT NULL,
        doc      TEXT    NOT NULL CHECK (json_valid(doc))
      );
      CREATE TABLE provisioning_routes (
        id       TEXT    PRIMARY KEY,
        position INTEGER NOT NULL,
        doc      TEXT    NOT NULL CHECK (json_valid(doc))
      );
      CREATE TABLE provisioning_rate_decks (
        carrier_id TEXT    PRIMARY KEY,
        position   INTEGER NOT NULL,
        doc        TEXT    NOT NULL CHECK (json_valid(doc))
      );
    `,
  },
  {
    version: 3,
    name: "cdrs",
    sql: `
      CREATE TABLE cdrs (
        id              TEXT    NOT NULL UNIQUE,
        call_id         TEXT    NOT NULL,
        direction       TEXT    NOT NULL CHECK (direction IN ('inbound', 'outbound')),
        customer_id     TEXT,
        carrier_id      TEXT,
        caller_raw      TEXT    NOT NULL,
        callee_raw      TEXT    NOT NULL,
        caller_e164     TEXT,
        callee_e164     TEXT,
        started_at      INTEGER NOT NULL,
        ringing_at      INTEGER,
        answered_at     INTEGER,
        ended_at        INTEGER,
        duration_ms     INTEGER NOT NULL,
        final_status    INTEGER,
        q850_cause      INTEGER,
        disposition     TEXT    CHECK (disposition IS NULL OR disposition IN
                          ('answered', 'busy', 'no-answer', 'cancelled', 'failed', 'refused', 'interrupted')),
        hangup_by       TEXT    CHECK (hangup_by IS NULL OR hangup_by IN ('caller', 'callee', 'system')),
        end_reason      TEXT,
        rate_per_minute REAL,
        cost            REAL,
        currency        TEXT,
        attempts        TEXT    NOT NULL CHECK (json_valid(attempts)),
        trace           TEXT    NOT NULL CHECK (json_valid(trace)),
        -- 1 once close() wrote the final record; 0 rows at start are calls a crash interrupted.
        closed          INTEGER NOT NULL CHECK (closed IN (0, 1))
      );
      -- Search is newest first, optionally narrowed by trunk, number or disposition.
      CREATE INDEX cdrs_started_at   ON cdrs (started_at, id);
      CREATE INDEX cdrs_customer     ON cdrs (customer_id, started_at);
      CREATE INDEX cdrs_carrier      ON cdrs (carrier_id, started_at);
      CREATE INDEX cdrs_callee_e164  ON cdrs (callee_e164);
      CREATE INDEX cdrs_caller_e164  ON cdrs (caller_e164);
      CREATE INDEX cdrs_disposition  ON cdrs (disposition, started_at);
      CREATE INDEX cdrs_open         ON cdrs (id) WHERE closed = 0;
    `,
  },
  {
    version: 4,
    name: "bans",
    // Write-behind copies of the in-memory ban list and fraud suspensions, read once at start.
    sql: `
      CREATE TABLE security_bans (
        address    TEXT    PRIMARY KEY,
        rule       TEXT    NOT NULL,
        reason     TEXT    NOT NULL,
        origin     TEXT    NOT NULL CHECK (origin IN ('auto', 'manual')),
        created_at INTEGER NOT NULL,
        -- NULL: until lifted.
        expires_at INTEGER,
        offence    INTEGER NOT NULL CHECK (offence >= 1)
      ) WITHOUT ROWID;
      CREATE INDEX security_bans_expires_at ON security_bans (expires_at);
      CREATE TABLE fraud_suspensions (
        customer_id TEXT    PRIMARY KEY,
        at          INTEGER NOT NULL,
        rule        TEXT    NOT NULL,
        reason      TEXT    NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  // Versions need only increase, so 0005 may have been applied before 0004 in a database.
  {
    version: 5,
    name: "sip-ladders",
    // One row per ended call; messages is one BLOB (format in sqlite/sip-ladder-repository.ts).
    sql: `
      CREATE TABLE sip_ladders (
        call_id  TEXT    PRIMARY KEY,
        saved_at INTEGER NOT NULL,
        messages BLOB    NOT NULL
      );
      -- Retention pruning deletes by age.
      CREATE INDEX sip_ladders_saved_at ON sip_ladders (saved_at);
    `,
  },
  {
    version: 6,
    name: "customer-credentials-ha1",
    // Customers' passwords become HA1 hashes (domain/credentials.ts). Carriers' credentials are left
    // as they are: we answer a carrier's challenge in a realm it names only then, so no hash can be
    // computed in advance and the password must stay usable.
    sql: "",
    run: hashStoredCustomerPasswords,
  },
];

/** The id a migration is reported under, e.g. `0001-registrar-bindings`. */
export function migrationId(m: Migration): string {
  return `${String(m.version).padStart(4, "0")}-${m.name}`;
}

/**
 * Brings the schema up to date and returns the ids applied now. Each migration runs in its own
 * IMMEDIATE transaction together with its schema_migrations row, so a crash leaves either all of it
 * or none, and two processes starting at once cannot both apply it (the second re-checks under the lock).
 */
export function runMigrations(
  db: BetterSqlite3.Database,
  migrations: readonly Migration[],
  options: { readonly now?: () => number; readonly context?: MigrationContext } = {},
): string[] {
  const now = options.now ?? Date.now;
  const context = options.context ?? DEFAULT_MIGRATION_CONTEXT;
  for (let i = 1; i < migrations.length; i++) {
    if ((migrations[i]?.version ?? 0) <= (migrations[i - 1]?.version ?? 0)) {
      throw new Error(`migrations out of order at index ${i}`);
    }
  }
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
  )`);
  const select = db.prepare<[number], { name: string }>("SELECT name FROM schema_migrations WHERE version = ?");
  const insert = db.prepare<[number, string, number]>("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
  const latest = db.prepare<[], { version: number | null }>("SELECT MAX(version) AS version FROM schema_migrations").get();
  const known = migrations.at(-1)?.version ?? 0;
  if (latest?.version != null && latest.version > known) {
    throw new StorageError(
      "STORAGE_SCHEMA_TOO_NEW",
      `the database schema is at version ${latest.version} but this Trunkline knows only up to ${known}; run a newer release`,
    );
  }

  const applied: string[] = [];
  for (const m of migrations) {
    const apply = db.transaction((): boolean => {
      const row = select.get(m.version);
      if (row !== undefined) {
        if (row.name !== m.name) {
          throw new StorageError("STORAGE_SCHEMA_MISMATCH", `schema version ${m.version} is "${row.name}" in the database but "${m.name}" here`);
        }
        return false;
      }
      if (m.sql !== "") db.exec(m.sql);
      m.run?.(db, context);
      insert.run(m.version, m.name, now());
      return true;
    });
    try {
      if (apply.immediate()) applied.push(migrationId(m));
    } catch (cause) {
      if (cause instanceof StorageError) throw cause;
      throw new StorageError("STORAGE_MIGRATION_FAILED", `migration ${migrationId(m)} failed and was rolled back`, { cause });
    }
  }
  return applied;
}
