import type { BanEntry, FraudRule } from "../domain/index.ts";

/**
 * Bans kept across restarts. The ban list itself lives in memory (it is read on every datagram);
 * this is its write-behind copy, read once at start.
 */
export interface BanRepository {
  /** Stores or replaces the ban of `ban.address`. */
  save(ban: BanEntry): Promise<void>;
  /** Forgets the ban of an address (lifted); unknown addresses are ignored. */
  remove(address: string): Promise<void>;
  /** Bans still in force at `now` (epoch ms); expired ones are deleted on the way. */
  loadActive(now: number): Promise<BanEntry[]>;
}

/** A customer whose outbound calling the fraud engine suspended, until an operator lifts it. */
export interface FraudSuspension {
  readonly customerId: string;
  /** Epoch ms. */
  readonly at: number;
  readonly rule: FraudRule;
  readonly reason: string;
}

/** Fraud suspensions kept across restarts. */
export interface FraudSuspensionRepository {
  save(suspension: FraudSuspension): Promise<void>;
  remove(customerId: string): Promise<void>;
  list(): Promise<FraudSuspension[]>;
}
