// Provisioning is stored as one JSON document per entity (customer, carrier, route, rate deck),
// keyed by id, in the order given. Not normalized tables, because:
// - the call layer always reads the whole set and compiles it (compilePolicy); nothing queries
//   into a trunk's gateways or DIDs with SQL, so columns would buy nothing at run time;
// - the domain types are nested (gateways, DIDs, credentials, failover) and still growing; a JSON
//   document follows them without a migration per field, while the id column still gives one row
//   per entity for the API to read, diff and (later) update one at a time.
// `replace` deletes and re-inserts every row in one IMMEDIATE transaction: readers see the old
// set or the new one, never a mix.
// Customers' passwords never reach the file: replace() hashes any still present (the callers
// already do, with the server's realm; this is the last line), see domain/credentials.ts.
import type BetterSqlite3 from "better-sqlite3";
import { DEFAULT_REALM, hashProvisioningSecrets, type CarrierTrunk, type CustomerTrunk, type Provisioning, type RateDeck, type Route } from "../../domain/index.ts";
import type { ProvisioningRepository } from "../../ports/index.ts";
import { StorageError } from "../errors.ts";

interface DocRow {
  doc: string;
}

const TABLES = {
  customers: { table: "provisioning_customers", key: "id" },
  carriers: { table: "provisioning_carriers", key: "id" },
  routes: { table: "provisioning_routes", key: "id" },
  rateDecks: { table: "provisioning_rate_decks", key: "carrier_id" },
} as const;

type Kind = keyof typeof TABLES;

/** The provisioning set in the provisioning_* tables. */
export class SqliteProvisioningRepository implements ProvisioningRepository {
  private readonly select: Record<Kind, BetterSqlite3.Statement<[], DocRow>>;
  private readonly insert: Record<Kind, BetterSqlite3.Statement<[string, number, string]>>;
  private readonly replaceAll: BetterSqlite3.Transaction<(p: Provisioning) => void>;
  private readonly loadAll: BetterSqlite3.Transaction<() => Provisioning>;

  constructor(db: BetterSqlite3.Database, options: { readonly realm: string } = { realm: DEFAULT_REALM }) {
    const kinds = Object.keys(TABLES) as Kind[];
    const map = <T>(fn: (k: Kind) => T): Record<Kind, T> =>
      Object.fromEntries(kinds.map((k) => [k, fn(k)])) as Record<Kind, T>;
    this.select = map((k) => db.prepare<[], DocRow>(`SELECT doc FROM ${TABLES[k].table} ORDER BY position`));
    this.insert = map((k) => db.prepare<[string, number, string]>(`INSERT INTO ${TABLES[k].table} (${TABLES[k].key}, position, doc) VALUES (?, ?, ?)`));
    const clear = kinds.map((k) => db.prepare(`DELETE FROM ${TABLES[k].table}`));
    this.replaceAll = db.transaction((given: Provisioning) => {
      const p = hashProvisioningSecrets(given, options.realm);
      for (const stmt of clear) stmt.run();
      p.customers.forEach((c, i) => this.insert.customers.run(c.id, i, JSON.stringify(c)));
      p.carriers.forEach((c, i) => this.insert.carriers.run(c.id, i, JSON.stringify(c)));
      p.routes.forEach((r, i) => this.insert.routes.run(r.id, i, JSON.stringify(r)));
      p.rateDecks.forEach((d, i) => this.insert.rateDecks.run(d.carrierId, i, JSON.stringify(d)));
    });
    // One read transaction, so a replace between two SELECTs cannot mix two sets.
    this.loadAll = db.transaction(() => ({
      customers: this.docs<CustomerTrunk>("customers"),
      carriers: this.docs<CarrierTrunk>("carriers"),
      routes: this.docs<Route>("routes"),
      rateDecks: this.docs<RateDeck>("rateDecks"),
    }));
  }

  private docs<T>(kind: Kind): T[] {
    // The documents were written by replace() from typed values; the json_valid CHECK keeps them parseable.
    return this.select[kind].all().map((row): T => JSON.parse(row.doc));
  }

  async load(): Promise<Provisioning> {
    try {
      return this.loadAll.deferred();
    } catch (cause) {
      throw new StorageError("STORAGE_QUERY_FAILED", "provisioning: load failed", { cause });
    }
  }

  async replace(provisioning: Provisioning): Promise<void> {
    try {
      this.replaceAll.immediate(provisioning);
    } catch (cause) {
      throw new StorageError("STORAGE_QUERY_FAILED", "provisioning: replace failed and was rolled back", { cause });
    }
  }
}
