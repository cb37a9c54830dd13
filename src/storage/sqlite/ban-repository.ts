// Bans and fraud suspensions, written through on every change (they are rare: a flood bans its
// source once and is then dropped before parsing) and read once at start.
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

/** Bans in the security_bans table. */
export class SqliteBanRepository implements BanRepository {
  private readonly upsert: BetterSqlite3.Statement<[string, string, string, string, number, number | null, number]>;
  private readonly delete: BetterSqlite3.Statement<[string]>;
  private readonly purge: BetterSqlite3.Statement<[number]>;
  private readonly select: BetterSqlite3.Statement<[number], BanRow>;

  constructor(db: BetterSqlite3.Database) {
    this.upsert = db.prepare(
      "INSERT OR REPLACE INTO security_bans (address, rule, reason, origin, created_at, expires_at, offence) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    this.delete = db.prepare("DELETE FROM security_bans WHERE address = ?");
    this.purge = db.prepare("DELETE FROM security_bans WHERE expires_at IS NOT NULL AND expires_at <= ?");
    this.select = db.prepare("SELECT * FROM security_bans WHERE expires_at IS NULL OR expires_at > ? ORDER BY created_at, address");
  }

  async save(ban: BanEntry): Promise<void> {
    wrap("save", () => this.upsert.run(ban.address, ban.rule, ban.reason, ban.origin, ban.createdAt, ban.expiresAt, ban.offence));
  }

  async remove(address: string): Promise<void> {
    wrap("remove", () => this.delete.run(address));
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
