import type { Storage } from "../../ports/index.ts";
import { MemoryBindingRepository } from "./binding-repository.ts";
import { MemoryCdrRepository } from "./cdr-repository.ts";
import { MemoryProvisioningRepository } from "./provisioning-repository.ts";

export { MemoryBindingRepository, MemoryCdrRepository, MemoryProvisioningRepository };

/** A Storage kept in memory; it has no schema, so no migrations are ever applied. */
export function createMemoryStorage(): Storage {
  return {
    bindings: new MemoryBindingRepository(),
    provisioning: new MemoryProvisioningRepository(),
    cdrs: new MemoryCdrRepository(),
    migrationsApplied: [],
    close: async () => {},
  };
}
