import { isIP } from "node:net";
import { z } from "zod";

import { DEFAULT_REALM } from "../domain/index.ts";
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

/** The TLS 1.3 suites, then TLS 1.2 with ECDHE and AEAD ciphers only (the SIP stack's default, spelled out for the docs). */
export const DEFAULT_SIP_TLS_CIPHERS =
  "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:" +
  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:" +
  "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";

const tlsSchema = section({
  // Reloaded without a restart when the files change (checked every reloadCheckMs; 0: never).
  certFile: nonEmptyString("a path to a PEM certificate file"),
  keyFile: nonEmptyString("a path to a PEM private key file"),
  // Trusted CAs for carriers' server certificates and PBXs' client certificates; the system roots when absent.
  caFile: nonEmptyString("a path to a PEM CA bundle").optional(),
  // Every TLS client must present a certificate from caFile (all trunks mutual TLS).
  requireClientCert: z.boolean({ error: "expected true or false" }).default(false),
  // Ask every TLS client for a certificate without requiring one, so customer trunks with
  // `tls: { requireClientCert: true }` can be identified by it.
  requestClientCert: z.boolean({ error: "expected true or false" }).default(true),
  // Outbound: check the server certificate against caFile and the target's name (or IP SAN).
  // false is an escape hatch for a lab; it is logged as a warning at start.
  verifyServer: z.boolean({ error: "expected true or false" }).default(true),
  minVersion: oneOf(["TLSv1.2", "TLSv1.3"]).default("TLSv1.2"),
  ciphers: nonEmptyString("an OpenSSL cipher list").default(DEFAULT_SIP_TLS_CIPHERS),
  reloadCheckMs: z.number({ error: "expected a number of milliseconds" }).int({ error: "expected a whole number" }).min(0, { error: "expected 0 or more" }).default(5000),
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
  /** A TCP/TLS message must be complete this long after its first byte, or the connection is closed (slow senders). */
  messageTimeoutMs: positiveInt().default(20_000),
  userAgent: z.string({ error: "expected a string" }).max(200, { error: "expected at most 200 characters" }).default("Trunkline"),
  // UDP listeners: the native/sip-io addon (sends leave the main thread), node:dgram, or auto (native when it loads).
  udpIo: oneOf(["auto", "native", "dgram"]).default("auto"),
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

/** RFC 5424 facility names (the observability layer maps them to codes). */
export const SYSLOG_FACILITY_NAMES = [
  "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
  "ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
] as const;

// Security events (and, with allWarnings, every warn/error line) as RFC 5424 syslog to a SIEM.
const syslogSchema = section({
  host: nonEmptyString("a host name or address of the syslog collector"),
  // Default 514 for udp and tcp, 6514 for tls (RFC 5425).
  port: portSchema.optional(),
  // tcp and tls use RFC 6587 octet-counting framing.
  protocol: oneOf(["udp", "tcp", "tls"]).default("udp"),
  facility: oneOf(SYSLOG_FACILITY_NAMES).default("local0"),
  appName: z.string({ error: "expected a string" }).regex(/^[\x21-\x7e]{1,48}$/, { error: "expected 1 to 48 printable ASCII characters without spaces" }).default("trunkline"),
  // SD-ID of the structured data: name@<your IANA private enterprise number>; 32473 is the documentation number.
  sdId: z.string({ error: "expected a string" }).regex(/^[^\s=\]"]{1,32}$/, { error: "expected up to 32 characters without spaces, =, ] or quotes" }).default("trunkline@32473"),
  allWarnings: z.boolean({ error: "expected true or false" }).default(false),
  // Messages held while a tcp/tls collector is down; beyond it they are dropped and counted.
  maxQueue: positiveInt().default(1000),
  // tls: the CAs that sign the collector's certificate; the system roots when absent.
  caFile: nonEmptyString("a path to a PEM CA bundle").optional(),
});

const logSchema = section({
  level: oneOf(LOG_LEVELS).default("info"),
  syslog: syslogSchema.optional(),
});

const DIGEST_ALGORITHMS = ["MD5", "SHA-256"] as const;

const callsSchema = section({
  // Realm of our 401/407 challenges; PBXs show it when asking for a password.
  realm: nonEmptyString("a realm name").default(DEFAULT_REALM),
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
  address: ipAddressSchema.default("127.0.0.1"),
  portMin: intRange(1024, 65534).default(20_000),
  portMax: intRange(1025, 65535).default(30_000),
  timeoutSeconds: positiveInt().default(60),
  // Where calls' media is anchored: Trunkline's own relay, or rtpengine driven over its ng control
  // protocol (large deployments; address/port/portMin/portMax above are then unused).
  backend: oneOf(["relay", "rtpengine"]).default("relay"),
  rtpengine: section({
    address: ipAddressSchema.default("127.0.0.1"),
    // rtpengine's --listen-ng port (2223 in its own examples).
    port: portSchema.refine((p) => p > 0, { error: "expected a port from 1 to 65535" }).default(2223),
    timeoutMs: positiveInt().default(1000),
    // How often an answered call's statistics are fetched for the CDR and the media timeout.
    statsIntervalMs: positiveInt().default(2000),
    // Where Trunkline listens for rtpengine's DTMF log (its --dtmf-log-dest), so digits sent as
    // RFC 4733 events reach a trunk that takes DTMF as SIP INFO; unset: no such conversion.
    dtmfLogListen: z
      .string({ error: "expected host:port" })
      .refine((s) => parseHostPort(s) !== undefined, { error: "expected an IP address and port such as 127.0.0.1:2224" })
      .optional(),
  }).prefault({}),
  // One relay thread per core ("auto"), N threads, or 0: relay on the main thread beside signaling.
  workers: z.union([z.literal("auto"), intRange(0, 256)], { error: 'expected "auto" or a whole number from 0 to 256' }).default("auto"),
  // An answered call where one side sends RTP and the other none this long raises one-way audio; 0 disables.
  oneWayAudioSeconds: intRange(0, 3600).default(5),
  // Relay sockets: the native addon (plain RTP forwarded in C), node:dgram, or auto (native when built).
  io: oneOf(["auto", "native", "dgram"]).default("auto"),
  // SCHED_FIFO priority (1-99) of the native I/O threads that forward RTP, so a busy relay core's
  // other threads cannot hold packets for a scheduler time slice; unset: the normal scheduler.
  // Needs CAP_SYS_NICE or LimitRTPRIO; refused, Trunkline warns and runs on.
  realtimePriority: intRange(1, 99).optional(),
}).refine((m) => m.portMin < m.portMax, { error: "must be smaller than portMax", path: ["portMin"] });

// Per-call SIP capture: the ladder of every call is kept for retentionHours and can be sent to a
// Homer collector as HEPv3 over UDP.
const traceSchema = section({
  sipLadder: section({
    enabled: z.boolean({ error: "expected true or false" }).default(true),
    retentionHours: positiveInt().default(24),
    maxMessagesPerCall: intRange(10, 10_000).default(200),
  }).prefault({}),
  hep: section({
    host: ipAddressSchema,
    port: portSchema.refine((p) => p > 0, { error: "expected a port from 1 to 65535" }),
    captureId: intRange(0, 4_294_967_295).default(2001),
    authKey: nonEmptyString("a HEP authentication key").optional(),
  }).optional(),
});

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
  trace: traceSchema.prefault({}),
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
export type TraceConfig = Config["trace"];
