// The `security:` section: who is never limited (trusted networks), per-source request rates,
// ban durations, scanner User-Agents, message-shape limits, failed-authentication lockout and the
// toll-fraud engine's alerts and number ranges.
// Every field has a default, so a server with no `security:` section is protected anyway.
import { isIP } from "node:net";
import { z } from "zod";
import { nonEmptyString, positiveInt, section } from "./zod-helpers.ts";

const cidrSchema = z
  .string({ error: "expected an address or CIDR block such as 192.0.2.0/24" })
  .refine(
    (s) => {
      const [address, bits, ...rest] = s.split("/");
      if (rest.length > 0 || address === undefined || isIP(address) === 0) return false;
      if (bits === undefined) return true;
      const n = Number(bits);
      return /^\d{1,3}$/.test(bits) && n <= (isIP(address) === 4 ? 32 : 128);
    },
    { error: "expected an address or CIDR block such as 192.0.2.0/24" },
  );

const bucketSchema = (perSecond: number, burst: number) =>
  section({
    perSecond: positiveInt().default(perSecond),
    burst: positiveInt().default(burst),
  }).prefault({});

/** The `security:` section of the config. */
export const securitySchema = section({
  /** Never rate-limited, locked out or banned (besides every carrier's sourceCidrs, always trusted). */
  trustedNetworks: z.array(cidrSchema, { error: "expected a list of CIDR blocks" }).default([]),
  /** Requests per second and burst per source address, per class; over it: dropped and banned. */
  rate: section({
    register: bucketSchema(5, 20),
    invite: bucketSchema(10, 30),
    other: bucketSchema(30, 100),
  }).prefault({}),
  /** First ban, seconds; doubles on each repeat offence up to maxBanSeconds. */
  banSeconds: positiveInt().default(600),
  maxBanSeconds: positiveInt().default(86_400),
  /** Most simultaneous TCP/TLS connections from one untrusted address. */
  maxConnectionsPerSource: positiveInt().default(20),
  /** User-Agent substrings of SIP scanners (case-insensitive): dropped silently and banned. */
  scanners: section({
    patterns: z.array(nonEmptyString("a User-Agent substring"), { error: "expected a list of strings" }).optional(),
  }).prefault({}),
  /** Request shape limits; over them: a stateless 4xx/5xx. */
  limits: section({
    maxHeaders: positiveInt().default(100),
    maxHeaderLength: positiveInt().default(4096),
    maxVias: positiveInt().default(70),
    maxBody: positiveInt().default(32 * 1024),
  }).prefault({}),
  /** Failed digest authentications per source within the window before the source is banned. */
  auth: section({
    maxFailures: positiveInt().default(5),
    windowSeconds: positiveInt().default(60),
    /** Failures against one account (from any source) within the window: the last source is banned, and the account locked if accountLock is on. */
    perAccount: section({
      maxFailures: positiveInt().default(10),
      windowSeconds: positiveInt().default(300),
    }).prefault({}),
    /**
     * Lock an account after perAccount failures: its authentications get 403 for baseSeconds,
     * doubling on each repeat within a day up to maxSeconds. Off by default because a lock is a
     * denial of service an attacker can aim: anyone who knows a username can keep a customer's
     * PBX out with wrong passwords. Turn it on against guessing spread over many sources.
     */
    accountLock: section({
      enabled: z.boolean({ error: "expected true or false" }).default(false),
      baseSeconds: positiveInt().default(300),
      maxSeconds: positiveInt().default(3600),
    }).prefault({}),
  }).prefault({}),
  /** Toll-fraud engine: where alerts go and which number ranges it knows (policies are per customer). */
  fraud: section({
    /** Every verdict other than a plain allow is POSTed here as JSON (never delays the call). */
    webhookUrl: z
      .string({ error: "expected an http(s) URL" })
      .regex(/^https?:\/\/\S+$/i, { error: "expected an http(s) URL" })
      .optional(),
    /** How long one alert POST may take before it is abandoned. */
    webhookTimeoutMs: positiveInt().default(2000),
    /**
     * YAML or JSON file of number ranges ({ version, replace, highRisk: [{prefix, label}], premium, remove }):
     * extends the shipped list, or replaces it with `replace: true`; reloaded on change and on SIGHUP.
     */
    rangesFile: nonEmptyString("a file path").optional(),
  }).prefault({}),
});

export type SecurityConfig = z.output<typeof securitySchema>;
