/** Stable codes of storage failures; callers branch on these, never on messages. */
export type StorageErrorCode =
  | "STORAGE_OPEN_FAILED"
  | "STORAGE_MIGRATION_FAILED"
  | "STORAGE_SCHEMA_TOO_NEW"
  | "STORAGE_SCHEMA_MISMATCH"
  | "STORAGE_QUERY_FAILED"
  | "STORAGE_UNKNOWN_DRIVER";

/** An operational storage failure (disk full, locked, unreadable file), with the driver's error as cause. */
export class StorageError extends Error {
  override readonly name = "StorageError";

  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
