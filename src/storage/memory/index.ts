import type { Storage } from "../../ports/index.ts";
import { MemoryBanRepository, MemoryFraudSuspensionRepository } from "./ban-repository.ts";
import { MemoryBindingRepository } from "./binding-repository.ts";
import { MemoryCdrRepository } from "./cdr-repository.ts";
import { MemoryProvisioningRepository } from "./provisioning-repository.ts";
import { MemorySipLadderRepository } from "./sip-ladder-repository.ts";

export { MemoryBanRepository, MemoryFraudSuspensionRepository, MemoryBindingRepository, MemoryCdrRepository, MemoryProvisioningRepository, MemorySipLadderRepository };

/** A Storage kept in memory; it has no schema, so no migrations are ever applied. */
export function createMemoryStorage(): Storage {
  return {
    bindings: new MemoryBindingRepository(),
    provisioning: new MemoryProvisioningRepository(),
    cdrs: new MemoryCdrRepository(),
    sipLadders: new MemorySipLadderRepository(),
    bans: new MemoryBanRepository(),
    fraudSuspensions: new MemoryFraudSuspensionRepository(),
    migrationsApplied: [],
    close: async () => {},
  };
}
