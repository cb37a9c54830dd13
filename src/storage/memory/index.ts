import type { Storage } from "../../ports/index.ts";
import { MemoryBindingRepository } from "./binding-repository.ts";

export { MemoryBindingRepository };

/** A Storage kept in memory; it has no schema, so no migrations are ever applied. */
export function createMemoryStorage(): Storage {
  return { bindings: new MemoryBindingRepository(), migrationsApplied: [], close: async () => {} };
}
