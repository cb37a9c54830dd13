import type { BanEntry } from "../../domain/index.ts";
import type { BanRepository, FraudSuspension, FraudSuspensionRepository } from "../../ports/index.ts";

/** Bans in process memory (tests, and storage without a database). */
export class MemoryBanRepository implements BanRepository {
  private readonly bans = new Map<string, BanEntry>();

  async save(ban: BanEntry): Promise<void> {
    this.bans.set(ban.address, { ...ban });
  }

  async remove(address: string): Promise<void> {
    this.bans.delete(address);
  }

  async loadActive(now: number): Promise<BanEntry[]> {
    for (const [k, b] of this.bans) if (b.expiresAt !== null && b.expiresAt <= now) this.bans.delete(k);
    return [...this.bans.values()].sort((a, b) => a.createdAt - b.createdAt || (a.address < b.address ? -1 : a.address > b.address ? 1 : 0)).map((b) => ({ ...b }));
  }
}

/** Fraud suspensions in process memory. */
export class MemoryFraudSuspensionRepository implements FraudSuspensionRepository {
  private readonly suspensions = new Map<string, FraudSuspension>();

  async save(s: FraudSuspension): Promise<void> {
    this.suspensions.set(s.customerId, { ...s });
  }

  async remove(customerId: string): Promise<void> {
    this.suspensions.delete(customerId);
  }

  async list(): Promise<FraudSuspension[]> {
    return [...this.suspensions.values()].sort((a, b) => a.at - b.at).map((s) => ({ ...s }));
  }
}
