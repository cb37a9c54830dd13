export { openSqliteStorage, type SqliteStorage, type SqliteStorageOptions } from "./open.ts";
export { SqliteBindingRepository } from "./binding-repository.ts";
export { MIGRATIONS, migrationId, runMigrations, type Migration } from "./migrations.ts";
export { SqliteProvisioningRepository } from "./provisioning-repository.ts";
export { SqliteCdrRepository } from "./cdr-repository.ts";
export { SqliteSipLadderRepository } from "./sip-ladder-repository.ts";
export { SqliteBanRepository, SqliteFraudSuspensionRepository } from "./ban-repository.ts";
