import type { Provisioning } from "../domain/index.ts";

/**
 * The provisioning set (customers, carriers, routes, rate decks) as stored. The call layer reads a
 * snapshot and compiles it with domain's compilePolicy; a change takes effect for the next call.
 */
export interface ProvisioningRepository {
  /** The whole current set. */
  load(): Promise<Provisioning>;
  /** Replaces the whole set atomically (declarative apply from YAML or `trunkline apply`). */
  replace(provisioning: Provisioning): Promise<void>;
}
