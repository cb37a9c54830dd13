import { hashProvisioningSecrets, type Provisioning } from "../../domain/index.ts";
import type { ProvisioningRepository } from "../../ports/index.ts";

const EMPTY: Provisioning = { customers: [], carriers: [], routes: [], rateDecks: [] };

/** The provisioning set in process memory; replace swaps one reference, so readers never see half a set. */
export class MemoryProvisioningRepository implements ProvisioningRepository {
  private current: Provisioning = EMPTY;

  private readonly realm: string;

  /** `realm`: the digest realm customers' passwords are hashed in, as the SQLite repository does. */
  constructor(realm = "trunkline") {
    this.realm = realm;
  }

  async load(): Promise<Provisioning> {
    return structuredClone(this.current);
  }

  async replace(provisioning: Provisioning): Promise<void> {
    // Like SQLite: no customer password is kept, only its HA1 hashes.
    this.current = structuredClone(hashProvisioningSecrets(provisioning, this.realm));
  }
}
