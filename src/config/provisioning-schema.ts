// The `provisioning:` section of the config file: a friendly YAML shape (names instead of ids,
// DID ranges as text, route carriers as a list of names) validated by zod, converted to the
// domain's Provisioning and compiled with compilePolicy, so every problem, shape or meaning,
// is reported with its path under `provisioning.`.
import { z } from "zod";
import {
  compilePolicy,
  defaultFailoverPolicy,
  parseCidr,
  parseDidSpec,
  DEFAULT_FAILOVER_CODES,
  type CarrierTrunk,
  type CustomerTrunk,
  type CustomerFraudSettings,
  type DigestCredentials,
  type FailoverPolicy,
  type Gateway,
  type Provisioning,
  type RateDeck,
  type Route,
  type TrunkLimits,
  type Transport,
  type TrunkMedia,
} from "../domain/index.ts";
import { intRange, nonEmptyString, oneOf, positiveInt, section } from "./zod-helpers.ts";

/** Numbering used when a trunk names none: +E.164 in North America, the loopback example's plan. */
export const DEFAULT_NUMBERING = { format: "e164-plus", countryCode: "1" } as const;
/** Currency of rate decks that name none. */
export const DEFAULT_CURRENCY = "USD";

const QUOTE_HINT = " (quote it: YAML reads an unquoted +1 as the number 1)";

const nameSchema = z
  .string({ error: "expected a name" })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { error: "expected a name of up to 64 letters, digits, '.', '_' or '-'" });

const sipUriSchema = z
  .string({ error: "expected a SIP URI such as sip:127.0.1.1:5060" })
  .regex(/^sips?:[^\s]+$/i, { error: "expected a SIP URI such as sip:127.0.1.1:5060" });

const cidrSchema = z.string({ error: "expected an IP address or CIDR block such as 127.0.4.0/24" }).superRefine((text, ctx) => {
  const parsed = parseCidr(text);
  if (!parsed.ok) ctx.addIssue({ code: "custom", message: `expected an IP address or CIDR block such as 127.0.4.0/24 (${parsed.error})` });
});

const didSchema = z.unknown().superRefine((value, ctx) => {
  const message = "expected +E.164 number or range +A-+B";
  if (typeof value === "number") return void ctx.addIssue({ code: "custom", message: message + QUOTE_HINT });
  if (typeof value !== "string") return void ctx.addIssue({ code: "custom", message });
  const parsed = parseDidSpec(value);
  if (!parsed.ok) ctx.addIssue({ code: "custom", message: `${message} (${parsed.error})` });
});

/** An E.164 prefix as written (`+44`, `+1`, `+` for everything); stored without the `+`. */
const prefixSchema = z.unknown().transform((value, ctx): string => {
  const message = 'expected a prefix such as "+44", or "+" for every number';
  if (typeof value === "number") {
    ctx.addIssue({ code: "custom", message: message + QUOTE_HINT });
    return z.NEVER;
  }
  if (typeof value !== "string" || !/^\+?[0-9]{0,15}$/.test(value)) {
    ctx.addIssue({ code: "custom", message });
    return z.NEVER;
  }
  return value.startsWith("+") ? value.slice(1) : value;
});

const e164Schema = z.unknown().transform((value, ctx): string => {
  const message = "expected a +E.164 number such as +15550100000";
  if (typeof value !== "string" || !/^\+[1-9][0-9]{0,14}$/.test(value)) {
    ctx.addIssue({ code: "custom", message: typeof value === "number" ? message + QUOTE_HINT : message });
    return z.NEVER;
  }
  return value;
});

// YAML reads `countryCode: 44` as a number; both spellings mean the same code.
const digitsSchema = (what: string, min: number) =>
  z
    .union([z.string(), z.number()], { error: `expected ${what}` })
    .transform((v) => String(v))
    .pipe(z.string().regex(new RegExp(`^[0-9]{${min},6}$`), { error: `expected ${what}` }));

const numberingShape = {
  format: oneOf(["e164-plus", "e164", "national"]).default(DEFAULT_NUMBERING.format),
  countryCode: digitsSchema("a country calling code such as 1 or 44", 1).default(DEFAULT_NUMBERING.countryCode),
  nationalPrefix: digitsSchema("digits, or an empty string", 0).optional(),
  internationalPrefix: digitsSchema("digits such as 00 or 011", 1).optional(),
};
const numberingSchema = section(numberingShape);
const carrierNumberingSchema = section({
  ...numberingShape,
  techPrefix: z.string({ error: "expected a string" }).regex(/^[0-9*#]{1,16}$/, { error: "expected up to 16 digits, * or #" }).optional(),
});

const credentialsSchema = section({
  username: nonEmptyString("a user name"),
  password: nonEmptyString("a password").optional(),
  ha1: z.string({ error: "expected 32 hex digits" }).regex(/^[0-9a-fA-F]{32}$/, { error: "expected 32 hex digits (MD5 of user:realm:password)" }).optional(),
  ha1Sha256: z.string({ error: "expected 64 hex digits" }).regex(/^[0-9a-fA-F]{64}$/, { error: "expected 64 hex digits (SHA-256 of user:realm:password)" }).optional(),
  realm: nonEmptyString("a realm").optional(),
}).superRefine((c, ctx) => {
  // A customer's password is hashed (MD5 and SHA-256 HA1) before it is stored; see domain/credentials.ts.
  if (c.password === undefined && c.ha1 === undefined && c.ha1Sha256 === undefined) ctx.addIssue({ code: "custom", path: ["password"], message: "expected a password (or ha1, ha1Sha256)" });
  if ((c.ha1 !== undefined || c.ha1Sha256 !== undefined) && c.realm === undefined) ctx.addIssue({ code: "custom", path: ["realm"], message: "an ha1 is bound to a realm: name it" });
});

// Limits sit directly in the trunk mapping (`channels: 10`), as operators say them.
const limitsShape = {
  channels: positiveInt().optional(),
  inboundChannels: positiveInt().optional(),
  outboundChannels: positiveInt().optional(),
  cps: z.number({ error: "expected a number of calls per second greater than 0" }).positive({ error: "expected a number of calls per second greater than 0" }).optional(),
  cpsBurst: positiveInt().optional(),
  overLimitStatus: z.union([z.literal(503), z.literal(486)], { error: "expected 503 or 486" }).optional(),
  retryAfterSeconds: positiveInt().optional(),
};

const failoverShape = {
  codes: z.array(intRange(300, 699), { error: "expected a list of SIP status codes" }).default(() => [...DEFAULT_FAILOVER_CODES]),
  onTransportError: z.boolean({ error: "expected true or false" }).default(true),
  onTimeout: z.boolean({ error: "expected true or false" }).default(true),
  timeoutMs: positiveInt().default(5000),
};
const failoverSchema = section(failoverShape);
const customerFailoverSchema = section({
  uris: z.array(sipUriSchema, { error: "expected a list of SIP URIs" }).default([]),
  forwardTo: e164Schema.optional(),
  ...failoverShape,
});

// A trunk's media: codec allow-list (most preferred first), DTMF and SRTP mode, or direct media (no relay).
const mediaSchema = section({
  codecs: z
    .array(z.string({ error: "expected a codec name such as PCMU" }).regex(/^[A-Za-z0-9.+_-]+(\/\d+(\/\d+)?)?$/, { error: "expected a codec name such as PCMU or opus/48000/2" }), { error: "expected a list of codec names" })
    .min(1, { error: "expected at least one codec" })
    .optional(),
  dtmf: oneOf(["rfc4733", "info", "inband"]).optional(),
  srtp: oneOf(["required", "optional", "off"]).optional(),
  directMedia: z.boolean({ error: "expected true or false" }).optional(),
});

function mediaOf(m: z.output<typeof mediaSchema> | undefined): TrunkMedia | undefined {
  return m === undefined ? undefined : compact({ codecs: m.codecs, dtmf: m.dtmf, srtp: m.srtp, directMedia: m.directMedia });
}

// Toll-fraud settings of a customer; every field is optional and absent means the safe default
// (domestic only, premium and high-risk ranges blocked, sequential dialing suspends the trunk).
const classLimitSchema = section({ concurrent: positiveInt().optional(), perMinute: positiveInt().optional() });
const FRAUD_RULES = ["suspended", "destination-prefix", "destination-class", "concurrent-calls", "calls-per-minute", "daily-spend", "monthly-spend", "sequential-dialing", "burst"] as const;
const fraudActionSchema = oneOf(["allow", "block", "block-and-suspend"]);
const spendSchema = z.number({ error: "expected an amount of 0 or more" }).nonnegative({ error: "expected an amount of 0 or more" });
const fraudSchema = section({
  allowInternational: z.boolean({ error: "expected true or false" }).optional(),
  allowPremium: z.boolean({ error: "expected true or false" }).optional(),
  allowHighRisk: z.boolean({ error: "expected true or false" }).optional(),
  allowPrefixes: z.array(prefixSchema, { error: "expected a list of prefixes" }).optional(),
  denyPrefixes: z.array(prefixSchema, { error: "expected a list of prefixes" }).optional(),
  limits: section({
    total: classLimitSchema.optional(),
    domestic: classLimitSchema.optional(),
    international: classLimitSchema.optional(),
    premium: classLimitSchema.optional(),
    "high-risk": classLimitSchema.optional(),
  }).optional(),
  dailySpendCap: spendSchema.optional(),
  monthlySpendCap: spendSchema.optional(),
  sequential: z
    .union([z.literal(false), section({ windowSeconds: positiveInt(), distinctNumbers: intRange(2, 10_000), varyingDigits: intRange(1, 8) })], {
      error: "expected false or { windowSeconds, distinctNumbers, varyingDigits }",
    })
    .optional(),
  burst: z
    .union(
      [
        z.literal(false),
        section({
          windowSeconds: positiveInt(),
          factor: z.number({ error: "expected a factor greater than 1" }).gt(1, { error: "expected a factor greater than 1" }),
          minCalls: positiveInt(),
          alpha: z.number({ error: "expected a weight between 0 and 1" }).gt(0, { error: "expected a weight between 0 and 1" }).max(1, { error: "expected a weight between 0 and 1" }).default(0.1),
          warmupWindows: intRange(0, 10_000).default(12),
        }),
      ],
      { error: "expected false or { windowSeconds, factor, minCalls }" },
    )
    .optional(),
  actions: z.partialRecord(oneOf(FRAUD_RULES), fraudActionSchema, { error: "expected rule: allow | block | block-and-suspend" }).optional(),
});

function fraudOf(f: z.output<typeof fraudSchema>): CustomerFraudSettings {
  const { sequential, burst, allowPrefixes, denyPrefixes, ...rest } = f;
  return compact({
    ...rest,
    allowPrefixes: allowPrefixes?.map((p) => `+${p}`),
    denyPrefixes: denyPrefixes?.map((p) => `+${p}`),
    sequential: sequential === undefined || sequential === false ? sequential : { windowMs: sequential.windowSeconds * 1000, distinctNumbers: sequential.distinctNumbers, varyingDigits: sequential.varyingDigits },
    burst:
      burst === undefined || burst === false
        ? burst
        : { windowMs: burst.windowSeconds * 1000, factor: burst.factor, minCalls: burst.minCalls, alpha: burst.alpha, warmupWindows: burst.warmupWindows },
  });
}

const customerSchema = section({
  id: nameSchema.optional(),
  name: nameSchema,
  mode: oneOf(["static", "registration"]),
  uri: sipUriSchema.optional(),
  auth: credentialsSchema.optional(),
  sourceAddresses: z.array(cidrSchema, { error: "expected a list of addresses or CIDR blocks" }).default([]),
  requireBoth: z.boolean({ error: "expected true or false" }).optional(),
  // Mutual TLS: only requests over TLS with a verified client certificate (naming `subject`, its CN or a SAN, when given) are this customer's.
  tls: section({
    requireClientCert: z.boolean({ error: "expected true or false" }).default(true),
    subject: nonEmptyString("a certificate subject CN or subjectAltName").optional(),
  }).optional(),
  dids: z.array(didSchema, { error: "expected a list of DIDs" }).default([]),
  ...limitsShape,
  allowedPrefixes: z.array(prefixSchema, { error: "expected a list of prefixes" }).default(() => [""]),
  deniedPrefixes: z.array(prefixSchema, { error: "expected a list of prefixes" }).optional(),
  callerId: oneOf(["any", "own-dids"]).default("any"),
  failover: customerFailoverSchema.prefault({}),
  numbering: numberingSchema.prefault({}),
  media: mediaSchema.optional(),
  fraud: fraudSchema.optional(),
}).superRefine((c, ctx) => {
  if (c.mode === "static" && c.uri === undefined) ctx.addIssue({ code: "custom", path: ["uri"], message: "a static customer needs the URI of its PBX" });
  if (c.mode === "registration" && c.uri !== undefined) {
    ctx.addIssue({ code: "custom", path: ["uri"], message: "a registration customer is reached at the Contact it registers; remove uri" });
  }
  if (c.mode === "registration" && c.auth === undefined) ctx.addIssue({ code: "custom", path: ["auth"], message: "a registration customer needs auth to REGISTER with" });
  if (c.auth === undefined && c.sourceAddresses.length === 0) {
    ctx.addIssue({ code: "custom", path: ["sourceAddresses"], message: "a customer needs sourceAddresses or auth to be recognised by" });
  }
  if (c.requireBoth === true && (c.auth === undefined || c.sourceAddresses.length === 0)) {
    ctx.addIssue({ code: "custom", path: ["requireBoth"], message: "requireBoth needs both sourceAddresses and auth" });
  }
});

// A bare string is a gateway URI with every default.
const gatewaySchema = z.preprocess(
  (v) => (typeof v === "string" ? { uri: v } : v),
  section({
    id: nameSchema.optional(),
    uri: sipUriSchema,
    priority: intRange(0, 65535).default(1),
    weight: intRange(0, 65535).default(1),
    transport: oneOf(["udp", "tcp", "tls"]).optional(),
  }),
);

const rateSchema = section({
  prefix: prefixSchema,
  perMinute: z.number({ error: "expected a price of 0 or more" }).nonnegative({ error: "expected a price of 0 or more" }),
});

const carrierSchema = section({
  id: nameSchema.optional(),
  name: nameSchema,
  gateways: z.array(gatewaySchema, { error: "expected a list of gateways" }).min(1, { error: "expected at least one gateway" }),
  sourceAddresses: z.array(cidrSchema, { error: "expected a list of addresses or CIDR blocks" }).default([]),
  auth: credentialsSchema.optional(),
  registration: section({
    registrar: sipUriSchema,
    expiresSeconds: intRange(60, 86400).default(3600),
    aor: sipUriSchema.optional(),
  }).optional(),
  numbering: carrierNumberingSchema.prefault({}),
  ...limitsShape,
  failover: failoverSchema.prefault({}),
  rates: z.array(rateSchema, { error: "expected a list of { prefix, perMinute }" }).optional(),
  currency: z.string({ error: "expected a currency code such as USD" }).regex(/^[A-Z]{3}$/, { error: "expected a currency code such as USD" }).default(DEFAULT_CURRENCY),
  media: mediaSchema.optional(),
}).superRefine((c, ctx) => {
  if (c.registration !== undefined && c.auth === undefined) ctx.addIssue({ code: "custom", path: ["auth"], message: "outbound registration needs auth" });
});

// A bare string names a carrier; its priority is its place in the list.
const routeCarrierSchema = z.preprocess(
  (v) => (typeof v === "string" ? { carrier: v } : v),
  section({
    carrier: nameSchema,
    priority: intRange(0, 65535).optional(),
    weight: intRange(0, 65535).default(1),
  }),
);

const routeSchema = section({
  id: nameSchema.optional(),
  prefix: prefixSchema,
  ordering: oneOf(["priority", "cost"]).default("priority"),
  carriers: z.array(routeCarrierSchema, { error: "expected a list of carrier names" }).min(1, { error: "expected at least one carrier" }),
});

type CustomerInput = z.output<typeof customerSchema>;
type CarrierInput = z.output<typeof carrierSchema>;
type RouteInput = z.output<typeof routeSchema>;

/** Drops keys whose value is undefined, so converted trunks compare and serialize like stored ones. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function limitsOf(t: CustomerInput | CarrierInput): TrunkLimits {
  return compact({
    channels: t.channels,
    inboundChannels: t.inboundChannels,
    outboundChannels: t.outboundChannels,
    cps: t.cps,
    cpsBurst: t.cpsBurst,
    overLimitStatus: t.overLimitStatus,
    retryAfterSeconds: t.retryAfterSeconds,
  });
}

function credentialsOf(a: NonNullable<CustomerInput["auth"]>): DigestCredentials {
  return compact({ username: a.username, password: a.password, ha1: a.ha1, ha1Sha256: a.ha1Sha256, realm: a.realm });
}

function failoverOf(f: z.output<typeof failoverSchema>): FailoverPolicy {
  return { ...defaultFailoverPolicy(f.timeoutMs), codes: f.codes, onTransportError: f.onTransportError, onTimeout: f.onTimeout };
}

function customerOf(c: CustomerInput): CustomerTrunk {
  return {
    id: c.id ?? c.name,
    name: c.name,
    identification: compact({
      cidrs: c.sourceAddresses,
      credentials: c.auth === undefined ? [] : [credentialsOf(c.auth)],
      requireBoth: c.requireBoth,
      tls: c.tls === undefined ? undefined : compact({ requireClientCert: c.tls.requireClientCert, subject: c.tls.subject }),
    }),
    mode: c.mode === "static" ? { kind: "static", uri: c.uri ?? "" } : { kind: "registration" },
    dids: c.dids.flatMap((d) => {
      const parsed = typeof d === "string" ? parseDidSpec(d) : undefined;
      return parsed?.ok === true ? [parsed.value] : [];
    }),
    limits: limitsOf(c),
    outbound: compact({ allowedPrefixes: c.allowedPrefixes.map((p) => `+${p}`), deniedPrefixes: c.deniedPrefixes?.map((p) => `+${p}`), callerId: c.callerId }),
    failover: compact({ uris: c.failover.uris, forwardTo: c.failover.forwardTo, policy: failoverOf(c.failover) }),
    numbering: compact({ ...c.numbering }),
    ...(c.media !== undefined ? { media: mediaOf(c.media) } : {}),
    ...(c.fraud !== undefined ? { fraud: fraudOf(c.fraud) } : {}),
  };
}

/** `sips:` and `;transport=` in the URI say how to reach a gateway when the config does not. */
function transportOf(uri: string): Transport {
  const param = /;transport=(udp|tcp|tls)\b/i.exec(uri)?.[1]?.toLowerCase();
  if (param === "udp" || param === "tcp" || param === "tls") return param;
  return /^sips:/i.test(uri) ? "tls" : "udp";
}

function carrierOf(c: CarrierInput): CarrierTrunk {
  const id = c.id ?? c.name;
  const gateways: Gateway[] = c.gateways.map((g, i) => ({
    id: g.id ?? `${id}-gw${i + 1}`,
    uri: g.uri,
    transport: g.transport ?? transportOf(g.uri),
    priority: g.priority,
    weight: g.weight,
  }));
  return compact({
    id,
    name: c.name,
    gateways,
    sourceCidrs: c.sourceAddresses,
    credentials: c.auth === undefined ? undefined : credentialsOf(c.auth),
    registration: c.registration === undefined ? undefined : compact({ ...c.registration }),
    numbering: compact({ ...c.numbering }),
    limits: limitsOf(c),
    failover: failoverOf(c.failover),
    media: mediaOf(c.media),
  });
}

function routeOf(r: RouteInput): Route {
  return {
    id: r.id ?? (r.prefix === "" ? "default" : `+${r.prefix}`),
    prefix: r.prefix,
    ordering: r.ordering,
    carriers: r.carriers.map((rc, i) => ({ carrierId: rc.carrier, priority: rc.priority ?? i + 1, weight: rc.weight })),
  };
}

const COMPILE_PATH = /^((?:customers|carriers|routes|rateDecks)\[\d+\](?:\.[A-Za-z]+(?:\[\d+\])?)*): ([\s\S]*)$/;

/** `routes[0].carriers[1].carrierId` as zod path parts. */
function pathParts(text: string): (string | number)[] {
  const parts: (string | number)[] = [];
  for (const m of text.matchAll(/([A-Za-z]+)|\[(\d+)\]/g)) parts.push(m[1] ?? Number(m[2]));
  return parts;
}

/**
 * Where a compilePolicy error belongs in the YAML: domain paths follow the YAML lists except for
 * rate decks (one per carrier with `rates`) and fields the YAML spells differently.
 */
function yamlPath(error: string, input: z.output<typeof provisioningInput>, deckOwners: readonly number[]): { path: (string | number)[]; message: string } {
  const m = COMPILE_PATH.exec(error);
  if (m === null) return { path: [], message: error };
  const path = pathParts(m[1] ?? "");
  const message = m[2] ?? error;
  const [list, index, field] = path;
  if (list === "rateDecks" && typeof index === "number") return { path: ["carriers", deckOwners[index] ?? 0, "rates"], message };
  if (list === "routes" && path[2] === "carriers" && path[4] === "carrierId") return { path: path.slice(0, 4), message };
  if ((list === "customers" || list === "carriers") && typeof index === "number" && field === "id" && input[list][index]?.id === undefined) {
    return { path: [list, index, "name"], message };
  }
  return { path, message };
}

const provisioningInput = section({
  customers: z.array(customerSchema, { error: "expected a list of customers" }).default([]),
  carriers: z.array(carrierSchema, { error: "expected a list of carriers" }).default([]),
  routes: z.array(routeSchema, { error: "expected a list of routes" }).default([]),
});

/** The `provisioning:` section: validates, converts to the domain's Provisioning and compiles it. */
export const provisioningSchema = provisioningInput.transform((input, ctx): Provisioning => {
  const deckOwners: number[] = [];
  const rateDecks: RateDeck[] = [];
  input.carriers.forEach((c, i) => {
    if (c.rates === undefined) return;
    deckOwners.push(i);
    rateDecks.push({ carrierId: c.id ?? c.name, currency: c.currency, entries: c.rates.map((r) => ({ prefix: r.prefix, pricePerMinute: r.perMinute })) });
  });
  const provisioning: Provisioning = {
    customers: input.customers.map(customerOf),
    carriers: input.carriers.map(carrierOf),
    routes: input.routes.map(routeOf),
    rateDecks,
  };
  const compiled = compilePolicy(provisioning);
  if (!compiled.ok) {
    for (const error of compiled.error) {
      const { path, message } = yamlPath(error, input, deckOwners);
      ctx.addIssue({ code: "custom", path, message });
    }
    return z.NEVER;
  }
  return provisioning;
});
