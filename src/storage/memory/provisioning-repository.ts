import type { Provisioning } from "../../domain/index.ts";
import type { ProvisioningRepository } from "../../ports/index.ts";

const EMPTY: Provisioning = { customers: [], carriers: [], routes: [], rateDecks: [] };

/** The provisioning set in process memory; replace swaps one reference, so readers never see half a set. */
export class MemoryProvisioningRepository implements ProvisioningRepository {
  private current: Provisioning = EMPTY;

  async load(): Promise<Provisioning> {
    return structuredClone(this.current);
  }

  async replace(provisioning: Provisioning): Promise<void> {
    this.current = structuredClone(provisioning);
  }
}
