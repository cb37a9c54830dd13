import type { Storage } from "../ports/index.ts";
import { StorageError } from "./errors.ts";
import { openSqliteStorage } from "./sqlite/index.ts";

export { StorageError, type StorageErrorCode } from "./errors.ts";
export { createMemoryStorage, MemoryBanRepository, MemoryFraudSuspensionRepository, MemoryBindingRepository, MemoryCdrRepository, MemoryProvisioningRepository, MemorySipLadderRepository } from "./memory/index.ts";
export { DEFAULT_CDR_PAGE, INTERRUPTED_REASON } from "./cdr-rules.ts";
export { openSqliteStorage, type SqliteStorage, type SqliteStorageOptions, MIGRATIONS, type Migration } from "./sqlite/index.ts";

/** What openStorage needs; the config's `storage` section has this shape. */
export interface StorageOptions {
  readonly driver: "sqlite";
  /** Database file, or `:memory:`. */
  readonly path: string;
  /** The digest realm (`calls.realm`) customers' passwords are hashed in; default "trunkline". */
  readonly realm?: string;
}

/** Opens the configured storage backend and migrates it; throws StorageError on failure. */
export async function openStorage(options: StorageOptions): Promise<Storage> {
  switch (options.driver) {
    case "sqlite":
      return openSqliteStorage({ path: options.path, ...(options.realm === undefined ? {} : { realm: options.realm }) });
    default: {
      const driver: string = options.driver;
      throw new StorageError("STORAGE_UNKNOWN_DRIVER", `unknown storage driver "${driver}"`);
    }
  }
}
