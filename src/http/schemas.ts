// JSON schemas of the API's resources and queries. Fastify's ajv validates requests against them
// (filling defaults, so a short body becomes a whole domain object), and the same objects are
// published in /openapi.json: the document cannot drift from what the server checks.
import { DEFAULT_FAILOVER_CODES, DISPOSITIONS_FOR_API } from "./schema-constants.ts";

/** A JSON Schema object (draft 7 / OpenAPI 3.1 subset). */
export type JsonSchema = { readonly [key: string]: unknown };

const NAME = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$";
// Route ids from YAML look like `+44` or `default`.
const ROUTE_ID = "^[A-Za-z0-9+][A-Za-z0-9._+-]{0,63}$";
const E164 = "^\\+[1-9][0-9]{0,14}$";
const DID = "^\\+[1-9][0-9]{0,14}(-\\+[1-9][0-9]{0,14})?$";
const SIP_URI = "^sips?:\\S+$";
const DIGITS_PREFIX = "^[0-9]{0,15}$";

const str = (pattern?: string, description?: string): JsonSchema => ({
  type: "string",
  ...(pattern === undefined ? {} : { pattern }),
  ...(description === undefined ? {} : { description }),
});
const int = (minimum: number, maximum: number, extra: JsonSchema = {}): JsonSchema => ({ type: "integer", minimum, maximum, ...extra });
const obj = (properties: Record<string, JsonSchema>, required: readonly string[] = [], extra: JsonSchema = {}): JsonSchema => ({
  type: "object",
  additionalProperties: false,
  properties,
  ...(required.length === 0 ? {} : { required }),
  ...extra,
});
const list = (items: JsonSchema, extra: JsonSchema = {}): JsonSchema => ({ type: "array", items, ...extra });

const credentials = obj(
  {
    username: { type: "string", minLength: 1 },
    // A customer's password is stored only as its MD5 and SHA-256 HA1 in calls.realm; a carrier's as given.
    password: { type: "string", minLength: 1 },
    ha1: str("^[0-9a-fA-F]{32}$", "MD5 of user:realm:password, instead of password"),
    ha1Sha256: str("^[0-9a-fA-F]{64}$", "SHA-256 of user:realm:password, instead of password"),
    realm: { type: "string", minLength: 1 },
  },
  ["username"],
);

const limits = obj(
  {
    channels: int(1, Number.MAX_SAFE_INTEGER),
    inboundChannels: int(1, Number.MAX_SAFE_INTEGER),
    outboundChannels: int(1, Number.MAX_SAFE_INTEGER),
    cps: { type: "number", exclusiveMinimum: 0 },
    cpsBurst: int(1, Number.MAX_SAFE_INTEGER),
    overLimitStatus: { type: "integer", enum: [503, 486] },
    retryAfterSeconds: int(1, 86_400),
  },
  [],
  { default: {}, description: "Absent limits are unlimited." },
);

const failoverPolicy = obj(
  {
    codes: list(int(300, 699), { default: [...DEFAULT_FAILOVER_CODES] }),
    onTransportError: { type: "boolean", default: true },
    onTimeout: { type: "boolean", default: true },
    timeoutMs: int(1, 600_000, { default: 5000 }),
  },
  [],
  { default: {} },
);

const numberingShape: Record<string, JsonSchema> = {
  format: { type: "string", enum: ["e164-plus", "e164", "national"], default: "e164-plus" },
  countryCode: str("^[0-9]{1,6}$", "country calling code without +"),
  nationalPrefix: str("^[0-9]{0,6}$"),
  internationalPrefix: str("^[0-9]{1,6}$"),
};
const numbering = obj({ ...numberingShape, countryCode: { ...str("^[0-9]{1,6}$"), default: "1" } }, [], { default: {} });
const carrierNumbering = obj({ ...numberingShape, countryCode: { ...str("^[0-9]{1,6}$"), default: "1" }, techPrefix: str("^[0-9*#]{1,16}$") }, [], { default: {} });

const classLimit = obj({ concurrent: int(1, Number.MAX_SAFE_INTEGER), perMinute: int(1, Number.MAX_SAFE_INTEGER) });
const fraudAction = { type: "string", enum: ["allow", "block", "block-and-suspend"] };
const FRAUD_RULES = ["suspended", "destination-prefix", "destination-class", "concurrent-calls", "calls-per-minute", "daily-spend", "monthly-spend", "sequential-dialing", "burst"];
const fraud = obj(
  {
    allowInternational: { type: "boolean" },
    allowPremium: { type: "boolean" },
    allowHighRisk: { type: "boolean" },
    allowPrefixes: list(str("^\\+[0-9]{0,15}$"), { description: "exempt from the class rules" }),
    denyPrefixes: list(str("^\\+[0-9]{0,15}$")),
    limits: obj(Object.fromEntries(["total", "domestic", "international", "premium", "high-risk"].map((k) => [k, classLimit]))),
    dailySpendCap: { type: "number", minimum: 0 },
    monthlySpendCap: { type: "number", minimum: 0 },
    sequential: {
      oneOf: [
        { const: false },
        obj({ windowMs: int(1, Number.MAX_SAFE_INTEGER), distinctNumbers: int(2, 10_000), varyingDigits: int(1, 8) }, ["windowMs", "distinctNumbers", "varyingDigits"]),
      ],
    },
    burst: {
      oneOf: [
        { const: false },
        obj(
          {
            windowMs: int(1, Number.MAX_SAFE_INTEGER),
            factor: { type: "number", exclusiveMinimum: 1 },
            minCalls: int(1, Number.MAX_SAFE_INTEGER),
            alpha: { type: "number", exclusiveMinimum: 0, maximum: 1 },
            warmupWindows: int(0, 10_000),
          },
          ["windowMs", "factor", "minCalls", "alpha", "warmupWindows"],
        ),
      ],
    },
    actions: obj(Object.fromEntries(FRAUD_RULES.map((r) => [r, fraudAction]))),
  },
  [],
  { description: "Toll-fraud policy; absent fields: international, premium and high-risk destinations blocked." },
);

/** A customer trunk: the domain's CustomerTrunk with DIDs written as `+E164` or `+A-+B`. */
export const customerSchema: JsonSchema = obj(
  {
    id: str(NAME),
    name: str(NAME),
    identification: obj(
      {
        cidrs: list({ type: "string" }, { default: [], description: "source addresses or CIDR blocks" }),
        credentials: list(credentials, { default: [] }),
        requireBoth: { type: "boolean" },
        tls: obj(
          {
            requireClientCert: { type: "boolean", default: true },
            subject: { type: "string", minLength: 1, description: "the certificate's subject CN or one of its subjectAltNames; any verified certificate when absent" },
          },
          [],
          { description: "Mutual TLS: only requests over TLS with a verified client certificate are this customer's." },
        ),
      },
      [],
      { default: {} },
    ),
    mode: obj({ kind: { type: "string", enum: ["static", "registration"] }, uri: str(SIP_URI) }, ["kind"], {
      description: "static: calls go to uri; registration: to the Contact the PBX registers",
    }),
    dids: list(str(DID, "a number (+15550100000) or an inclusive range (+15550100000-+15550100099)"), { default: [] }),
    limits,
    outbound: obj(
      {
        allowedPrefixes: list(str("^\\+[0-9]{0,15}$"), { default: ["+"], description: "+ allows every destination" }),
        deniedPrefixes: list(str("^\\+[0-9]{0,15}$")),
        callerId: { type: "string", enum: ["any", "own-dids"], default: "any" },
      },
      [],
      { default: {} },
    ),
    failover: obj({ uris: list(str(SIP_URI), { default: [] }), forwardTo: str(E164), policy: failoverPolicy }, [], { default: {} }),
    numbering,
    fraud,
  },
  ["id", "name", "mode"],
);

const gateway = obj(
  {
    id: str(NAME),
    uri: str(SIP_URI),
    transport: { type: "string", enum: ["udp", "tcp", "tls"], default: "udp" },
    priority: int(0, 65535, { default: 1 }),
    weight: int(0, 65535, { default: 1 }),
  },
  ["id", "uri"],
);

/** A carrier trunk with its gateways. */
export const carrierSchema: JsonSchema = obj(
  {
    id: str(NAME),
    name: str(NAME),
    gateways: list(gateway, { minItems: 1 }),
    sourceCidrs: list({ type: "string" }, { default: [] }),
    credentials,
    registration: obj({ registrar: str(SIP_URI), expiresSeconds: int(60, 86_400, { default: 3600 }), aor: str(SIP_URI) }, ["registrar"]),
    numbering: carrierNumbering,
    limits,
    failover: failoverPolicy,
  },
  ["id", "name", "gateways"],
);

/** A route: destinations by E.164 prefix (no +; "" is the default route) to ordered carriers. */
export const routeSchema: JsonSchema = obj(
  {
    id: str(ROUTE_ID),
    prefix: str(DIGITS_PREFIX, "E.164 prefix without +; empty matches every number"),
    ordering: { type: "string", enum: ["priority", "cost"], default: "priority" },
    carriers: list(obj({ carrierId: str(NAME), priority: int(0, 65535, { default: 1 }), weight: int(0, 65535, { default: 1 }) }, ["carrierId"]), {
      minItems: 1,
    }),
  },
  ["id", "prefix", "carriers"],
);

/** A carrier's rate deck (one per carrier, named by the carrier's id). */
export const rateDeckSchema: JsonSchema = obj(
  {
    carrierId: str(NAME),
    currency: { ...str("^[A-Z]{3}$"), default: "USD" },
    entries: list(obj({ prefix: str(DIGITS_PREFIX), pricePerMinute: { type: "number", minimum: 0 } }, ["prefix", "pricePerMinute"])),
  },
  ["carrierId", "entries"],
);

/** `{ id }` path parameter of every resource route. */
export const idParams: JsonSchema = obj({ id: { type: "string", minLength: 1 } }, ["id"]);

/** `{ number }` path parameter of the DID lookup. */
export const numberParams: JsonSchema = obj({ number: str(E164, "E.164 number with its +, URL-encoded as %2B") }, ["number"]);

/** Query of the CDR search. */
export const cdrQuerySchema: JsonSchema = obj({
  from: str(undefined, "ISO date or time; calls started at or after it"),
  to: str(undefined, "ISO date or time; calls started before it"),
  trunk: str(undefined, "customer or carrier id"),
  number: str(undefined, "substring of caller or callee, raw or E.164"),
  disposition: { type: "string", enum: [...DISPOSITIONS_FOR_API] },
  limit: int(1, 10_000, { default: 100 }),
  offset: int(0, Number.MAX_SAFE_INTEGER, { default: 0 }),
  format: { type: "string", enum: ["json", "csv"], default: "json" },
});

/** Query of DELETE /calls/:id. */
export const hangupQuerySchema: JsonSchema = obj({ reason: { type: "string", maxLength: 200 } });

/** Body of POST /customers/:id/dids. */
export const didBodySchema: JsonSchema = obj({ did: str(DID) }, ["did"]);

/** Params of DELETE /customers/:id/dids/:did. */
export const didParams: JsonSchema = obj({ id: { type: "string", minLength: 1 }, did: str(DID) }, ["id", "did"]);
