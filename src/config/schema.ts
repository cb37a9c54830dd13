import { isIP } from "node:net";
import { z } from "zod";

import { intRange, nonEmptyString, oneOf, positiveInt, section } from "./zod-helpers.ts";
import { provisioningSchema } from "./provisioning-schema.ts";
import { httpSchema, parseHostPort } from "./http-schema.ts";
import { securitySchema } from "./security-schema.ts";

export { parseHostPort };

const portSchema = z
  .number({ error: "expected a number from 0 to 65535" })
  .int({ error: "expected a number from 0 to 65535" })
  .min(0, { error: "expected a number from 0 to 65535" })
  .max(65535, { error: "expected a number from 0 to 65535" });

const ipAddressSchema = z
  .string({ error: "expected an IP address" })
  .refine((s) => isIP(s) !== 0, { error: "expected an IPv4 or IPv6 address such as 127.0.0.1 or ::1" });

export const LISTEN_PROTOCOLS = ["udp", "tcp", "tls"] as const;
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const listenSchema = section({
  protocol: oneOf(LISTEN_PROTOCOLS),
  address: ipAddressSchema,
  port: portSchema,
});

const tlsSchema = section({
  certFile: nonEmptyString("a path to a PEM certificate file"),
  keyFile: nonEmptyString("a path to a PEM private key file"),
  caFile: nonEmptyString("a path to a PEM CA bundle").optional(),
  requireClientCert: z.boolean({ error: "expected true or false" }).default(false),
});

const timersSchema = section({
  t1Ms: positiveInt().default(500),
  t2Ms: positiveInt().default(4000),
  t4Ms: positiveInt().default(5000),
}).refine((t) => t.t2Ms >= t.t1Ms, { error: "t2Ms must not be smaller than t1Ms", path: ["t2Ms"] });

/** Loopback only until the operator says otherwise: a fresh install must not face the Internet. */
export const DEFAULT_SIP_LISTEN = [
  { protocol: "udp", address: "127.0.0.1", port: 5060 },
  { protocol: "tcp", address: "127.0.0.1", port: 5060 },
] as const;

const sipSchema = section({
  listen: z
    .array(listenSchema, { error: "expected a list of { protocol, address, port }" })
    .min(1, { error: "expected at least one listener" })
    .default(() => DEFAULT_SIP_LISTEN.map((l) => ({ ...l }))),
  tls: tlsSchema.optional(),
  timers: timersSchema.prefault({}),
  maxMessageSize: intRange(1024, 1_048_576).default(65536),
  maxConnections: positiveInt().default(10000),
  idleTimeoutMs: positiveInt().default(600_000),
  userAgent: z.string({ error: "expected a string" }).max(200, { error: "expected at most 200 characters" }).default("Trunkline"),
}).superRefine((sip, ctx) => {
  const seen = new Set<string>();
  sip.listen.forEach((l, i) => {
    const key = `${l.protocol}/${l.address}/${l.port}`;
    if (seen.has(key)) ctx.addIssue({ code: "custom", path: ["listen", i], message: `duplicate listener ${l.protocol} ${l.address}:${l.port}` });
    seen.add(key);
    if (l.protocol === "tls" && sip.tls === undefined) {
      ctx.addIssue({ code: "custom", path: ["listen", i, "protocol"], message: "a tls listener needs sip.tls (certFile, keyFile)" });
    }
  });
});

const storageSchema = section({
  driver: oneOf(["sqlite"]).default("sqlite"),
  // ":memory:" gives a throw-away database (tests); anything else is a file path.
  path: nonEmptyString("a file path").default("./data/trunkline.db"),
});

const logSchema = section({
  level: oneOf(LOG_LEVELS).default("info"),
});

const DIGEST_ALGORITHMS = ["MD5", "SHA-256"] as const;

const callsSchema = section({
  // Realm of our 401/407 challenges; PBXs show it when asking for a password.
  realm: nonEmptyString("a realm name").default("trunkline"),
  // Key of the stateless digest nonces. Absent: a random key per process, so nonces from before a
  // restart come back stale and clients simply re-authenticate. A cluster must share one.
  nonceSecret: z.string({ error: "expected a string" }).min(16, { error: "expected at least 16 characters" }).optional(),
  // MD5 first by default: many PBXs (and SIPp) answer only the first challenge and only MD5.
  digestAlgorithms: z
    .array(oneOf(DIGEST_ALGORITHMS), { error: "expected a list of MD5, SHA-256" })
    .min(1, { error: "expected at least one algorithm" })
    .default(["MD5", "SHA-256"]),
  maxDurationSeconds: positiveInt().default(14_400),
  sessionTimerSeconds: intRange(90, 86_400).default(1800),
  minSessionExpiresSeconds: intRange(90, 86_400).default(90),
  refer: oneOf(["reject", "pass"]).default("reject"),
  inviteTimeoutMs: positiveInt().default(5000),
  registrationForking: oneOf(["parallel", "sequential"]).default("parallel"),
});

const registrarSchema = section({
  minExpiresSeconds: positiveInt().default(60),
  maxExpiresSeconds: positiveInt().default(3600),
  defaultExpiresSeconds: positiveInt().default(3600),
  maxBindingsPerAor: positiveInt().default(10),
}).refine((r) => r.minExpiresSeconds <= r.maxExpiresSeconds, { error: "must not be larger than maxExpiresSeconds", path: ["minExpiresSeconds"] });

const healthSchema = section({
  enabled: z.boolean({ error: "expected true or false" }).default(true),
  intervalMs: positiveInt().default(30_000),
  timeoutMs: positiveInt().default(5000),
  downAfter: positiveInt().default(3),
  upAfter: positiveInt().default(2),
});

// The RTP relay every call's media is anchored on (unless its trunk asks for direct media).
const mediaSchema = section({
  enabled: z.boolean({ error: "expected true or false" }).default(true),
  address: z.string({ error: "expected an IP address" }).regex(/^[0-9a-fA-F:.]+$/, { error: "expected an IP address" }).default("127.0.0.1"),
  portMin: intRange(1024, 65534).default(20_000),
  portMax: intRange(1025, 65535).default(30_000),
  timeoutSeconds: positiveInt().default(60),
}).refine((m) => m.portMin < m.portMax, { error: "must be smaller than portMax", path: ["portMin"] });

/** The whole server configuration; every section has defaults, so `{}` is a valid config. */
export const configSchema = section({
  sip: sipSchema.prefault({}),
  storage: storageSchema.prefault({}),
  log: logSchema.prefault({}),
  http: httpSchema.prefault({}),
  calls: callsSchema.prefault({}),
  registrar: registrarSchema.prefault({}),
  health: healthSchema.prefault({}),
  media: mediaSchema.prefault({}),
  security: securitySchema.prefault({}),
  // Validated, converted to the domain's Provisioning and compiled here, so a config that loads
  // is one whose provisioning the call layer can use as it is.
  provisioning: provisioningSchema.optional(),
});

/** Validated server configuration with every default filled in. */
export type Config = z.output<typeof configSchema>;
/** What a config file may contain (every field optional). */
export type ConfigInput = z.input<typeof configSchema>;
export type SipListenConfig = Config["sip"]["listen"][number];
export type SipTlsConfig = NonNullable<Config["sip"]["tls"]>;
export type StorageConfig = Config["storage"];
export type LogConfig = Config["log"];
export type LogLevel = Config["log"]["level"];
export type HttpConfig = Config["http"];
export type CallsConfig = Config["calls"];
export type RegistrarConfig = Config["registrar"];
export type HealthConfig = Config["health"];
