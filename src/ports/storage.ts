import type { BindingRepository } from "./bindings.ts";
import type { CdrRepository } from "./cdrs.ts";
import type { ProvisioningRepository } from "./provisioning.ts";

/** An open storage backend: the repositories the call layer uses, and how to close it. */
export interface Storage {
  readonly bindings: BindingRepository;
  readonly provisioning: ProvisioningRepository;
  readonly cdrs: CdrRepository;
  /** Ids of the schema migrations this open applied, oldest first; empty when the schema was current. */
  readonly migrationsApplied: readonly string[];
  /** Finishes pending writes and releases the database; calling it twice is harmless. */
  close(): Promise<void>;
}
