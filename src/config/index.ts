export {
  configSchema,
  parseHostPort,
  DEFAULT_SIP_LISTEN,
  LISTEN_PROTOCOLS,
  LOG_LEVELS,
  type Config,
  type ConfigInput,
  type SipListenConfig,
  type SipTlsConfig,
  type StorageConfig,
  type LogConfig,
  type LogLevel,
  type HttpConfig,
  type CallsConfig,
  type RegistrarConfig,
  type HealthConfig,
} from "./schema.ts";
export {
  type ConfigIssue,
  type ConfigEnvironment,
  formatConfigPath,
  formatConfigIssue,
  parseConfigObject,
  parseConfigText,
  loadConfigFile,
  loadConfig,
  readConfigEnvironment,
} from "./loader.ts";
export { securitySchema, type SecurityConfig } from "./security-schema.ts";
export { isLoopbackAddress, HTTP_TOKEN_ROLES, type HttpTokenConfig } from "./http-schema.ts";
export { provisioningSchema, DEFAULT_NUMBERING, DEFAULT_CURRENCY } from "./provisioning-schema.ts";
