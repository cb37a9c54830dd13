import type { BanRepository, FraudSuspensionRepository } from "./bans.ts";
import type { BindingRepository } from "./bindings.ts";
import type { CdrRepository } from "./cdrs.ts";
import type { ProvisioningRepository } from "./provisioning.ts";
import type { SipLadderRepository } from "./sip-ladders.ts";

/** An open storage backend: the repositories the call layer uses, and how to close it. */
export interface Storage {
  readonly bindings: BindingRepository;
  readonly provisioning: ProvisioningRepository;
  readonly cdrs: CdrRepository;
  /** Per-call SIP message ladders of ended calls. */
  readonly sipLadders: SipLadderRepository;
  /** Bans of source addresses, so a restart does not free an attacker. */
  readonly bans: BanRepository;
  /** Customers suspended by the fraud engine, until an operator lifts them. */
  readonly fraudSuspensions: FraudSuspensionRepository;
  /** Ids of the schema migrations this open applied, oldest first; empty when the schema was current. */
  readonly migrationsApplied: readonly string[];
  /** Finishes pending writes and releases the database; calling it twice is harmless. */
  close(): Promise<void>;
}
