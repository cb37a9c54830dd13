// Bans and fraud suspensions, written through on every change and read once at start. Ban writes
// are grouped: the security guard bans from the packet path, and a flood from many (spoofed)
// sources must not cost one synchronous commit per datagram, so every change made in one turn of
// the event loop is committed in one transaction on the next.
import type BetterSqlite3 from "better-sqlite3";
import type { BanEntry, FraudRule } from "../../domain/index.ts";
import type { BanRepository, FraudSuspension, FraudSuspensionRepository } from "../../ports/index.ts";
import { StorageError } from "../errors.ts";

interface BanRow {
  address: string;
  rule: string;
  reason: string;
  origin: "auto" | "manual";
  created_at: number;
  expires_at: number | null;
  offence: number;
}

function wrap<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (cause) {
    throw new StorageError("STORAGE_QUERY_FAILED", `bans: ${what} failed`, { cause });
  }
}

type BanChange = { readonly save: BanEntry } | { readonly remove: string };

/** Bans in the security_bans table. */
export class SqliteBanRepository implements BanRepository {
  private readonly upsert: BetterSqlite3.Statement<[string, string, string, string, number, number | null, number]>;
  private readonly delete: BetterSqlite3.Statement<[string]>;
  private readonly purge: BetterSqlite3.Statement<[number]>;
  private readonly select: BetterSqlite3.Statement<[number], BanRow>;
  private readonly commit: BetterSqlite3.Transaction<(changes: readonly BanChange[]) => void>;
  private pending: BanChange[] = [];
  private flushed: Promise<void> | null = null;

  constructor(private readonly db: BetterSqlite3.Database) {
    this.upsert = db.prepare(
      "INSERT OR REPLACE INTO security_bans (address, rule, reason, origin, created_at, expires_at, offence) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    this.delete = db.prepare("DELETE FROM security_bans WHERE address = ?");
    this.purge = db.prepare("DELETE FROM security_bans WHERE expires_at IS NOT NULL AND expires_at <= ?");
    this.select = db.prepare("SELECT * FROM security_bans WHERE expires_at IS NULL OR expires_at > ? ORDER BY created_at, address");
    this.commit = db.transaction((changes: readonly BanChange[]) => {
      for (const c of changes) {
        if ("save" in c) this.upsert.run(c.save.address, c.save.rule, c.save.reason, c.save.origin, c.save.createdAt, c.save.expiresAt, c.save.offence);
        else this.delete.run(c.remove);
      }
    });
  }

  /** Queues a change; resolves once the transaction holding it is committed. */
  private queue(change: BanChange): Promise<void> {
    this.pending.push(change);
    this.flushed ??= new Promise<void>((resolve, reject) => {
      setImmediate(() => {
        const changes = this.pending;
        this.pending = [];
        this.flushed = null;
        try {
          // A database closed meanwhile (shutdown) has nothing left to write to.
          if (this.db.open) wrap("save", () => this.commit.immediate(changes));
          resolve();
        } catch (e) {
          reject(e);
        }
      });
    });
    return this.flushed;
  }

  /** Commits queued changes now (before the database is closed). */
  flush(): void {
    const changes = this.pending;
    this.pending = [];
    if (changes.length > 0 && this.db.open) wrap("save", () => this.commit.immediate(changes));
  }

  save(ban: BanEntry): Promise<void> {
    return this.queue({ save: { ...ban } });
  }

  remove(address: string): Promise<void> {
    return this.queue({ remove: address });
  }

  async loadActive(now: number): Promise<BanEntry[]> {
    return wrap("load", () => {
      this.purge.run(now);
      return this.select.all(now).map((r) => ({
        address: r.address,
        rule: r.rule,
        reason: r.reason,
        origin: r.origin,
        createdAt: r.created_at,
        expiresAt: r.expires_at,
        offence: r.offence,
      }));
    });
  }
}

interface SuspensionRow {
  customer_id: string;
  at: number;
  rule: string;
  reason: string;
}

/** Fraud suspensions in the fraud_suspensions table. */
export class SqliteFraudSuspensionRepository implements FraudSuspensionRepository {
  private readonly upsert: BetterSqlite3.Statement<[string, number, string, string]>;
  private readonly delete: BetterSqlite3.Statement<[string]>;
  private readonly select: BetterSqlite3.Statement<[], SuspensionRow>;

  constructor(db: BetterSqlite3.Database) {
    this.upsert = db.prepare("INSERT OR REPLACE INTO fraud_suspensions (customer_id, at, rule, reason) VALUES (?, ?, ?, ?)");
    this.delete = db.prepare("DELETE FROM fraud_suspensions WHERE customer_id = ?");
    this.select = db.prepare("SELECT * FROM fraud_suspensions ORDER BY at");
  }

  async save(s: FraudSuspension): Promise<void> {
    wrap("save suspension", () => this.upsert.run(s.customerId, s.at, s.rule, s.reason));
  }

  async remove(customerId: string): Promise<void> {
    wrap("remove suspension", () => this.delete.run(customerId));
  }

  async list(): Promise<FraudSuspension[]> {
    // The rule column was written from a FraudRule by save().
    return wrap("list suspensions", () => this.select.all().map((r) => ({ customerId: r.customer_id, at: r.at, rule: r.rule as FraudRule, reason: r.reason })));
  }
}
