import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { compilePolicy, type Policy, type Provisioning } from "../domain/index.ts";
import { createMetricsRegistry } from "../observability/index.ts";
import type { CallDetailRecord } from "../ports/index.ts";
import { createMemoryStorage } from "../storage/index.ts";
import type { ActiveCall } from "../call/index.ts";
import { buildHttpApp, hashToken, type ApiToken, type HttpAppDeps } from "./index.ts";

interface Harness {
  app: FastifyInstance;
  deps: HttpAppDeps;
  policy(): Policy;
  hungUp: string[];
}

const EMPTY: Provisioning = { customers: [], carriers: [], routes: [], rateDecks: [] };

/** An app over memory storage whose applyProvisioning does what main.ts does. */
async function harness(options: { tokens?: ApiToken[]; metricsNeedToken?: boolean; calls?: ActiveCall[] } = {}): Promise<Harness> {
  const storage = createMemoryStorage();
  await storage.provisioning.replace(EMPTY);
  const first = compilePolicy(EMPTY);
  assert.ok(first.ok);
  let policy = first.value;
  const hungUp: string[] = [];
  const calls = options.calls ?? [];
  const deps: HttpAppDeps = {
    provisioning: storage.provisioning,
    cdrs: storage.cdrs,
    calls: {
      activeCalls: () => calls,
      channelUse: (id) => (id === "alpha" ? { inbound: 1, outbound: 2 } : { inbound: 0, outbound: 0 }),
      hangup: (id) => {
        if (!calls.some((c) => c.id === id)) return false;
        hungUp.push(id);
        return true;
      },
    },
    policy: () => policy,
    health: {
      gateways: () => [{ id: "alpha-gw1", uri: "sip:127.0.2.1:5060", status: "up", consecutiveMisses: 0, consecutiveAnswers: 3, since: 0, last: null }],
      registrations: () => [],
    },
    metrics: createMetricsRegistry(),
    async applyProvisioning(next) {
      const compiled = compilePolicy(next);
      if (!compiled.ok) return { ok: false, errors: compiled.error };
      await storage.provisioning.replace(next);
      policy = compiled.value;
      return { ok: true };
    },
    tokens: options.tokens ?? [],
    metricsNeedToken: options.metricsNeedToken ?? false,
  };
  return { app: buildHttpApp(deps), deps, policy: () => policy, hungUp };
}

type Json = Record<string, unknown>;

async function call(app: FastifyInstance, method: "GET" | "POST" | "PUT" | "DELETE", url: string, body?: unknown, token?: string) {
  const res = await app.inject({
    method,
    url,
    ...(body === undefined ? {} : { payload: body as Json }),
    ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }),
  });
  const json = (): Json => JSON.parse(res.body) as Json;
  return { status: res.statusCode, body: res.body, json, headers: res.headers };
}

function issuesOf(body: Json): Array<{ path: string; message: string }> {
  const error = body["error"] as { issues?: Array<{ path: string; message: string }> };
  return error.issues ?? [];
}

function codeOf(body: Json): string {
  return (body["error"] as { code: string }).code;
}

const ALPHA = { id: "alpha", name: "alpha", gateways: [{ id: "gw1", uri: "sip:127.0.2.1:5060" }], sourceCidrs: ["127.0.2.0/24"] };
const BETA = { id: "beta", name: "beta", gateways: [{ id: "gw1", uri: "sip:127.0.3.1:5060", transport: "tcp" }] };
const ACME = {
  id: "acme",
  name: "acme",
  mode: { kind: "static", uri: "sip:127.0.1.1:5060" },
  identification: { credentials: [{ username: "acme", password: "acme-secret" }] },
  dids: ["+15550100000-+15550100099"],
  limits: { channels: 10 },
};

describe("customers", () => {
  test("create, read, list, replace and delete a customer; defaults are filled in", async () => {
    const { app, policy } = await harness();
    const created = await call(app, "POST", "/api/v1/customers", ACME);
    assert.equal(created.status, 201, created.body);
    const c = created.json();
    assert.deepEqual(c["dids"], ["+15550100000-+15550100099"]);
    assert.deepEqual(c["outbound"], { allowedPrefixes: ["+"], callerId: "any" });
    assert.equal((c["numbering"] as Json)["format"], "e164-plus");
    assert.ok(policy().customers.has("acme"), "in force for the next call");

    assert.equal((await call(app, "GET", "/api/v1/customers/acme")).json()["name"], "acme");
    assert.equal(((await call(app, "GET", "/api/v1/customers")).json()["items"] as unknown[]).length, 1);

    const replaced = await call(app, "PUT", "/api/v1/customers/acme", { ...ACME, limits: { channels: 20 } });
    assert.equal(replaced.status, 200, replaced.body);
    assert.equal(policy().customers.get("acme")?.limits.channels, 20);

    assert.equal((await call(app, "DELETE", "/api/v1/customers/acme")).status, 204);
    const gone = await call(app, "GET", "/api/v1/customers/acme");
    assert.equal(gone.status, 404);
    assert.equal(codeOf(gone.json()), "NOT_FOUND");
    assert.equal(policy().customers.size, 0);
  });

  test("409 on a duplicate id, 404 on unknown ids, 400 when the URL and body ids differ", async () => {
    const { app } = await harness();
    assert.equal((await call(app, "POST", "/api/v1/customers", ACME)).status, 201);
    const dup = await call(app, "POST", "/api/v1/customers", ACME);
    assert.equal(dup.status, 409);
    assert.equal(codeOf(dup.json()), "ALREADY_EXISTS");
    assert.equal((await call(app, "PUT", "/api/v1/customers/nobody", { ...ACME, id: "nobody" })).status, 404);
    assert.equal((await call(app, "DELETE", "/api/v1/customers/nobody")).status, 404);
    const mismatch = await call(app, "PUT", "/api/v1/customers/acme", { ...ACME, id: "other" });
    assert.equal(mismatch.status, 400);
    assert.deepEqual(issuesOf(mismatch.json()).map((i) => i.path), ["customers[0].id"]);
  });

  test("bad fields are named by their place in the provisioning", async () => {
    const { app } = await harness();
    assert.equal((await call(app, "POST", "/api/v1/customers", ACME)).status, 201);
    const second = { ...ACME, id: "globex", name: "globex", dids: ["+15550200000", "555-1234"], chanels: 3 };
    const bad = await call(app, "POST", "/api/v1/customers", second);
    assert.equal(bad.status, 400);
    assert.equal(codeOf(bad.json()), "VALIDATION_FAILED");
    const paths = issuesOf(bad.json()).map((i) => i.path);
    assert.ok(paths.includes("customers[1].dids[1]"), paths.join(", "));
    assert.ok(paths.includes("customers[1].chanels"), paths.join(", "));

    const missing = await call(app, "POST", "/api/v1/customers", { id: "x", name: "x" });
    assert.deepEqual(issuesOf(missing.json()), [{ path: "customers[1].mode", message: "is required" }]);

    const reversed = await call(app, "PUT", "/api/v1/customers/acme", { ...ACME, dids: ["+15550100099-+15550100000"] });
    assert.equal(reversed.status, 400);
    assert.equal(issuesOf(reversed.json())[0]?.path, "customers[0].dids[0]");

    const noUri = await call(app, "POST", "/api/v1/customers", { ...ACME, id: "y", name: "y", dids: [], mode: { kind: "static" } });
    assert.deepEqual(issuesOf(noUri.json()).map((i) => i.path), ["customers[1].mode.uri"]);
  });

  test("policy errors from the compiler come back as 400 with their paths, and nothing is stored", async () => {
    const { app, policy } = await harness();
    assert.equal((await call(app, "POST", "/api/v1/customers", ACME)).status, 201);
    const overlap = await call(app, "POST", "/api/v1/customers", { ...ACME, id: "globex", name: "globex", identification: { cidrs: ["127.0.9.0/24"] }, dids: ["+15550100050"] });
    assert.equal(overlap.status, 400, overlap.body);
    assert.equal(codeOf(overlap.json()), "PROVISIONING_INVALID");
    assert.ok(issuesOf(overlap.json()).some((i) => i.path === "dids"), overlap.body);
    assert.equal(policy().customers.size, 1);
    assert.equal(((await call(app, "GET", "/api/v1/customers")).json()["items"] as unknown[]).length, 1);
  });

  test("concurrent writes are applied one after another, none lost", async () => {
    const { app, policy } = await harness();
    const ids = ["c1", "c2", "c3", "c4", "c5"];
    const results = await Promise.all(
      ids.map((id, i) => call(app, "POST", "/api/v1/customers", { ...ACME, id, name: id, identification: { cidrs: [`127.0.${20 + i}.0/24`] }, dids: [`+1555020000${i}`] })),
    );
    assert.deepEqual(results.map((r) => r.status), [201, 201, 201, 201, 201]);
    assert.deepEqual([...policy().customers.keys()].sort(), ids);
  });

  test("DIDs are added to and removed from a customer, and looked up as now in force", async () => {
    const { app } = await harness();
    assert.equal((await call(app, "POST", "/api/v1/customers", ACME)).status, 201);
    const added = await call(app, "POST", "/api/v1/customers/acme/dids", { did: "+442071234567" });
    assert.equal(added.status, 201, added.body);
    assert.deepEqual(added.json()["dids"], ["+15550100000-+15550100099", "+442071234567"]);
    assert.equal((await call(app, "POST", "/api/v1/customers/acme/dids", { did: "+442071234567" })).status, 409);
    const found = await call(app, "GET", "/api/v1/dids/%2B15550100042");
    assert.deepEqual(found.json(), { number: "+15550100042", customerId: "acme", customerName: "acme", did: "+15550100000-+15550100099" });
    assert.equal((await call(app, "GET", "/api/v1/dids/%2B19990000000")).status, 404);
    assert.equal((await call(app, "GET", "/api/v1/dids/12345")).status, 400);
    assert.equal((await call(app, "DELETE", "/api/v1/customers/acme/dids/%2B442071234567")).status, 204);
    assert.equal((await call(app, "GET", "/api/v1/dids/%2B442071234567")).status, 404);
    assert.equal((await call(app, "DELETE", "/api/v1/customers/acme/dids/%2B442071234567")).status, 404);
  });

  test("mutual TLS and fraud settings are accepted as in the YAML schema, read back and put in force", async () => {
    const { app, policy } = await harness();
    const fraud = { allowInternational: true, denyPrefixes: ["+1900"], dailySpendCap: 50, sequential: false, actions: { "daily-spend": "block-and-suspend" } };
    const body = { ...ACME, identification: { ...ACME.identification, tls: { subject: "pbx.acme.example" } }, fraud };
    const created = await call(app, "POST", "/api/v1/customers", body);
    assert.equal(created.status, 201, created.body);
    const tls = { requireClientCert: true, subject: "pbx.acme.example" };
    assert.deepEqual((created.json()["identification"] as Json)["tls"], tls, "requireClientCert defaults to true");
    assert.deepEqual((await call(app, "GET", "/api/v1/customers/acme")).json()["fraud"], fraud);
    assert.deepEqual(policy().customers.get("acme")?.identification.tls, tls);
    assert.equal(policy().customers.get("acme")?.fraud?.dailySpendCap, 50);

    const off = await call(app, "PUT", "/api/v1/customers/acme", { ...ACME, identification: { ...ACME.identification, tls: { requireClientCert: false } } });
    assert.equal(off.status, 200, off.body);
    assert.deepEqual(policy().customers.get("acme")?.identification.tls, { requireClientCert: false });

    const bad = await call(app, "PUT", "/api/v1/customers/acme", {
      ...ACME,
      identification: { ...ACME.identification, tls: { subject: "", requireClientCrt: true } },
      fraud: { actions: { burst: "ignore" } },
    });
    assert.equal(bad.status, 400);
    const paths = issuesOf(bad.json()).map((i) => i.path);
    for (const path of ["customers[0].identification.tls.subject", "customers[0].identification.tls.requireClientCrt", "customers[0].fraud.actions.burst"]) {
      assert.ok(paths.includes(path), `${path} in ${paths.join(", ")}`);
    }
  });
});

describe("carriers, routes and rate decks", () => {
  test("carriers with gateways: create, read, replace, delete (with their rate deck)", async () => {
    const { app, policy } = await harness();
    const created = await call(app, "POST", "/api/v1/carriers", ALPHA);
    assert.equal(created.status, 201, created.body);
    assert.deepEqual((created.json()["gateways"] as Json[])[0], { id: "gw1", uri: "sip:127.0.2.1:5060", transport: "udp", priority: 1, weight: 1 });
    assert.equal((await call(app, "POST", "/api/v1/carriers", ALPHA)).status, 409);
    const two = { ...ALPHA, gateways: [...ALPHA.gateways, { id: "gw2", uri: "sip:127.0.2.2:5060", priority: 2 }] };
    assert.equal((await call(app, "PUT", "/api/v1/carriers/alpha", two)).status, 200);
    assert.equal(policy().carriers.get("alpha")?.gateways.length, 2);
    const noGateways = await call(app, "POST", "/api/v1/carriers", { id: "gamma", name: "gamma", gateways: [] });
    assert.equal(issuesOf(noGateways.json())[0]?.path, "carriers[1].gateways");
    const badUri = await call(app, "POST", "/api/v1/carriers", { id: "gamma", name: "gamma", gateways: [{ id: "g", uri: "http://x" }] });
    assert.equal(issuesOf(badUri.json())[0]?.path, "carriers[1].gateways[0].uri");

    assert.equal((await call(app, "POST", "/api/v1/rate-decks", { carrierId: "alpha", entries: [{ prefix: "1", pricePerMinute: 0.01 }] })).status, 201);
    assert.equal((await call(app, "DELETE", "/api/v1/carriers/alpha")).status, 204);
    assert.equal((await call(app, "GET", "/api/v1/rate-decks/alpha")).status, 404, "the deck went with its carrier");
    assert.equal(policy().carriers.size, 0);
  });

  test("routes: create, replace, delete; a route to an unknown carrier or a carrier in use is refused", async () => {
    const { app, policy } = await harness();
    await call(app, "POST", "/api/v1/carriers", ALPHA);
    await call(app, "POST", "/api/v1/carriers", BETA);
    const route = { id: "+1", prefix: "1", carriers: [{ carrierId: "alpha" }] };
    assert.equal((await call(app, "POST", "/api/v1/routes", route)).status, 201);
    assert.deepEqual((await call(app, "GET", "/api/v1/routes/%2B1")).json(), { id: "+1", prefix: "1", ordering: "priority", carriers: [{ carrierId: "alpha", priority: 1, weight: 1 }] });
    assert.equal((await call(app, "PUT", "/api/v1/routes/%2B1", { ...route, carriers: [{ carrierId: "beta" }] })).status, 200);
    assert.equal(policy().provisioning.routes[0]?.carriers[0]?.carrierId, "beta");

    const unknown = await call(app, "POST", "/api/v1/routes", { id: "+44", prefix: "44", carriers: [{ carrierId: "zeta" }] });
    assert.equal(unknown.status, 400);
    assert.deepEqual(issuesOf(unknown.json()), [{ path: "routes[1].carriers[0].carrierId", message: "unknown carrier zeta" }]);
    const inUse = await call(app, "DELETE", "/api/v1/carriers/beta");
    assert.equal(inUse.status, 400);
    assert.equal(issuesOf(inUse.json())[0]?.path, "routes[0].carriers[0].carrierId");

    assert.equal((await call(app, "DELETE", "/api/v1/routes/%2B1")).status, 204);
    assert.equal((await call(app, "DELETE", "/api/v1/carriers/beta")).status, 204);
  });

  test("rate decks: create, read, replace, delete, keyed by carrier", async () => {
    const { app, policy } = await harness();
    await call(app, "POST", "/api/v1/carriers", ALPHA);
    const deck = { carrierId: "alpha", entries: [{ prefix: "1", pricePerMinute: 0.01 }] };
    const created = await call(app, "POST", "/api/v1/rate-decks", deck);
    assert.equal(created.status, 201, created.body);
    assert.equal(created.json()["currency"], "USD");
    assert.equal((await call(app, "POST", "/api/v1/rate-decks", deck)).status, 409);
    const orphan = await call(app, "POST", "/api/v1/rate-decks", { carrierId: "zeta", entries: [] });
    assert.equal(issuesOf(orphan.json())[0]?.path, "rateDecks[1].carrierId");
    const negative = await call(app, "PUT", "/api/v1/rate-decks/alpha", { carrierId: "alpha", entries: [{ prefix: "1", pricePerMinute: -1 }] });
    assert.equal(issuesOf(negative.json())[0]?.path, "rateDecks[0].entries[0].pricePerMinute");
    assert.equal((await call(app, "PUT", "/api/v1/rate-decks/alpha", { ...deck, currency: "EUR" })).status, 200);
    assert.equal((await call(app, "GET", "/api/v1/rate-decks/alpha")).json()["currency"], "EUR");
    assert.ok(policy().rates.has("alpha"));
    assert.equal((await call(app, "DELETE", "/api/v1/rate-decks/alpha")).status, 204);
    assert.equal(policy().rates.size, 0);
  });
});

describe("auth", () => {
  const tokens: ApiToken[] = [
    { name: "grafana", role: "read", sha256: hashToken("read-token") },
    { name: "ops", role: "admin", sha256: hashToken("admin-token") },
  ];

  test("no token 401, unknown token 401, read may GET only (403 otherwise), admin may do everything", async () => {
    const { app } = await harness({ tokens });
    const none = await call(app, "GET", "/api/v1/customers");
    assert.equal(none.status, 401);
    assert.equal(codeOf(none.json()), "AUTH_REQUIRED");
    assert.match(String(none.headers["www-authenticate"]), /^Bearer/);
    const wrong = await call(app, "GET", "/api/v1/customers", undefined, "guess");
    assert.equal(wrong.status, 401);
    assert.equal(codeOf(wrong.json()), "AUTH_INVALID_TOKEN");
    assert.equal((await call(app, "GET", "/api/v1/customers", undefined, "read-token")).status, 200);
    const forbidden = await call(app, "POST", "/api/v1/customers", ACME, "read-token");
    assert.equal(forbidden.status, 403);
    assert.equal(codeOf(forbidden.json()), "AUTH_FORBIDDEN");
    assert.equal((await call(app, "POST", "/api/v1/customers", ACME, "admin-token")).status, 201);
    assert.equal((await call(app, "DELETE", "/api/v1/calls/x", undefined, "read-token")).status, 403);
  });

  test("a customer's password is kept by nobody, only its HA1s: the read role sees them redacted, admin sees the hashes", async () => {
    const { app } = await harness({ tokens });
    await call(app, "POST", "/api/v1/customers", ACME, "admin-token");
    const asRead = (await call(app, "GET", "/api/v1/customers/acme", undefined, "read-token")).json();
    assert.deepEqual((asRead["identification"] as { credentials: Json[] }).credentials[0], { username: "acme", realm: "trunkline", ha1: "********", ha1Sha256: "********" });
    const asAdmin = (await call(app, "GET", "/api/v1/customers/acme", undefined, "admin-token")).json();
    // Memory storage hashes in the default realm, as SQLite does in calls.realm (issue 5).
    const ha1 = (alg: string): string => createHash(alg).update("acme:trunkline:acme-secret").digest("hex");
    assert.deepEqual((asAdmin["identification"] as { credentials: Json[] }).credentials[0], { username: "acme", realm: "trunkline", ha1: ha1("md5"), ha1Sha256: ha1("sha256") });
  });

  test("a customer provisioned with a SHA-256 HA1 alone is accepted; hashes without a realm are a 400 naming it", async () => {
    const { app } = await harness({ tokens });
    const sha = createHash("sha256").update("acme:trunkline:acme-secret").digest("hex");
    const withSha = { ...ACME, identification: { credentials: [{ username: "acme", ha1Sha256: sha, realm: "trunkline" }] } };
    assert.equal((await call(app, "POST", "/api/v1/customers", withSha, "admin-token")).status, 201);
    const noRealm = { ...ACME, id: "acme2", name: "acme2", identification: { credentials: [{ username: "acme2", ha1Sha256: sha }] } };
    const refused = await call(app, "POST", "/api/v1/customers", noRealm, "admin-token");
    assert.equal(refused.status, 400);
    assert.match(refused.body, /credentials\[0\]\.realm/);
  });

  test("/metrics needs a token only off loopback; /openapi.json and /docs are open", async () => {
    const local = await harness({ tokens });
    assert.equal((await call(local.app, "GET", "/metrics")).status, 200);
    const remote = await harness({ tokens, metricsNeedToken: true });
    assert.equal((await call(remote.app, "GET", "/metrics")).status, 401);
    assert.equal((await call(remote.app, "GET", "/metrics", undefined, "read-token")).status, 200);
    assert.equal((await call(remote.app, "GET", "/openapi.json")).status, 200);
    assert.equal((await call(remote.app, "GET", "/docs")).status, 200);
  });

  test("with no tokens configured, the local operator may do everything", async () => {
    const { app } = await harness();
    assert.equal((await call(app, "POST", "/api/v1/carriers", ALPHA)).status, 201);
  });
});

describe("live state", () => {
  const active: ActiveCall = { id: "c1", callId: "abc@pbx", direction: "outbound", customerId: "acme", carrierId: "alpha", state: "answered", startedAt: 1, answeredAt: 2 };

  test("calls are listed and hung up; unknown calls are 404", async () => {
    const { app, hungUp } = await harness({ calls: [active] });
    assert.deepEqual((await call(app, "GET", "/api/v1/calls")).json(), { items: [active] });
    assert.equal((await call(app, "DELETE", "/api/v1/calls/c1")).status, 204);
    assert.deepEqual(hungUp, ["c1"]);
    assert.equal((await call(app, "DELETE", "/api/v1/calls/nope")).status, 404);
  });

  test("channels of a trunk, and health", async () => {
    const { app } = await harness();
    await call(app, "POST", "/api/v1/carriers", { ...ALPHA, limits: { channels: 30 } });
    assert.deepEqual((await call(app, "GET", "/api/v1/trunks/alpha/channels")).json(), {
      trunkId: "alpha",
      kind: "carrier",
      inbound: 1,
      outbound: 2,
      total: 3,
      limits: { channels: 30 },
    });
    assert.equal((await call(app, "GET", "/api/v1/trunks/nobody/channels")).status, 404);
    const health = (await call(app, "GET", "/api/v1/health")).json();
    assert.equal(health["status"], "ok");
    assert.equal((health["gateways"] as Json[]).length, 1);
  });
});

function cdr(id: string, over: Partial<CallDetailRecord>): CallDetailRecord {
  return {
    id,
    callId: `${id}@pbx`,
    direction: "outbound",
    customerId: "acme",
    carrierId: "alpha",
    attempts: [],
    callerRaw: "+15550100001",
    calleeRaw: "+15551230000",
    callerE164: "+15550100001",
    calleeE164: "+15551230000",
    startedAt: Date.parse("2026-01-31T12:00:00Z"),
    ringingAt: null,
    answeredAt: null,
    endedAt: Date.parse("2026-01-31T12:01:00Z"),
    durationMs: 0,
    finalStatus: 486,
    q850Cause: 17,
    disposition: "busy",
    hangupBy: "callee",
    endReason: "486 from carrier, \"busy\"",
    ratePerMinute: null,
    cost: null,
    currency: null,
    trace: [{ at: 1, step: "route", result: "pass", detail: "route +1 to alpha" }],
    ...over,
  };
}

describe("CDRs", () => {
  async function withCdrs(): Promise<Harness> {
    const h = await harness();
    await h.deps.cdrs.close(cdr("r1", {}));
    await h.deps.cdrs.close(cdr("r2", { disposition: "answered", finalStatus: 200, durationMs: 30_000, startedAt: Date.parse("2026-02-01T09:00:00Z"), carrierId: "beta" }));
    await h.deps.cdrs.close(cdr("r3", { customerId: "globex", calleeRaw: "+442071234567", calleeE164: "+442071234567", startedAt: Date.parse("2026-02-02T09:00:00Z") }));
    return h;
  }

  test("search as JSON with filters, paging and a total", async () => {
    const { app } = await withCdrs();
    const all = (await call(app, "GET", "/api/v1/cdrs")).json();
    assert.equal(all["total"], 3);
    assert.deepEqual((all["items"] as Json[]).map((r) => r["id"]), ["r3", "r2", "r1"]);
    assert.equal((all["items"] as Json[])[0]?.["trace"], undefined, "traces only on the single record");
    const answered = (await call(app, "GET", "/api/v1/cdrs?disposition=answered")).json();
    assert.deepEqual((answered["items"] as Json[]).map((r) => r["id"]), ["r2"]);
    const byTrunk = (await call(app, "GET", "/api/v1/cdrs?trunk=globex")).json();
    assert.deepEqual((byTrunk["items"] as Json[]).map((r) => r["id"]), ["r3"]);
    const byNumber = (await call(app, "GET", "/api/v1/cdrs?number=4420")).json();
    assert.deepEqual((byNumber["items"] as Json[]).map((r) => r["id"]), ["r3"]);
    const window = (await call(app, "GET", "/api/v1/cdrs?from=2026-02-01&to=2026-02-02")).json();
    assert.deepEqual((window["items"] as Json[]).map((r) => r["id"]), ["r2"]);
    const page = (await call(app, "GET", "/api/v1/cdrs?limit=1&offset=1")).json();
    assert.deepEqual([page["total"], (page["items"] as Json[]).map((r) => r["id"])], [3, ["r2"]]);
    const bad = await call(app, "GET", "/api/v1/cdrs?limit=0&disposition=maybe");
    assert.equal(bad.status, 400);
    assert.deepEqual(issuesOf(bad.json()).map((i) => i.path).sort(), ["query.disposition", "query.limit"]);
    assert.deepEqual(issuesOf((await call(app, "GET", "/api/v1/cdrs?from=yesterday")).json()).map((i) => i.path), ["query.from"]);
  });

  test("export as CSV with a header row and quoting", async () => {
    const { app } = await withCdrs();
    const res = await call(app, "GET", "/api/v1/cdrs?format=csv&trunk=acme");
    assert.equal(res.status, 200);
    assert.match(String(res.headers["content-type"]), /^text\/csv/);
    assert.equal(res.headers["x-total-count"], "2");
    const lines = res.body.trimEnd().split("\r\n");
    assert.equal(lines.length, 3);
    assert.ok(lines[0]?.startsWith("id,callId,direction,customerId,carrierId,"));
    assert.ok(lines[2]?.startsWith("r1,r1@pbx,outbound,acme,alpha,+15550100001,"));
    assert.ok(lines[2]?.includes(",2026-01-31T12:00:00.000Z,"));
    assert.ok(lines[2]?.includes(',"486 from carrier, ""busy""",'));
  });

  test("one record with its trace; unknown ids are 404", async () => {
    const { app } = await withCdrs();
    const one = (await call(app, "GET", "/api/v1/cdrs/r1")).json();
    assert.equal((one["trace"] as Json[])[0]?.["step"], "route");
    assert.equal((await call(app, "GET", "/api/v1/cdrs/nope")).status, 404);
  });
});

describe("documents", () => {
  test("/openapi.json is OpenAPI 3.1 and lists every API route with its schemas", async () => {
    const { app } = await harness();
    const doc = (await call(app, "GET", "/openapi.json")).json();
    assert.equal(doc["openapi"], "3.1.0");
    const paths = doc["paths"] as Record<string, Record<string, Json>>;
    for (const [path, methods] of [
      ["/api/v1/customers", ["get", "post"]],
      ["/api/v1/customers/{id}", ["get", "put", "delete"]],
      ["/api/v1/carriers/{id}", ["get", "put", "delete"]],
      ["/api/v1/routes/{id}", ["get", "put", "delete"]],
      ["/api/v1/rate-decks/{id}", ["get", "put", "delete"]],
      ["/api/v1/customers/{id}/dids", ["post"]],
      ["/api/v1/dids/{number}", ["get"]],
      ["/api/v1/calls", ["get"]],
      ["/api/v1/calls/{id}", ["delete"]],
      ["/api/v1/trunks/{id}/channels", ["get"]],
      ["/api/v1/health", ["get"]],
      ["/api/v1/cdrs", ["get"]],
      ["/api/v1/cdrs/{id}", ["get"]],
      ["/metrics", ["get"]],
    ] as const) {
      for (const m of methods) assert.ok(paths[path]?.[m] !== undefined, `${m} ${path}`);
    }
    const post = paths["/api/v1/customers"]?.["post"] as { requestBody: { content: { "application/json": { schema: Json } } } };
    assert.deepEqual((post.requestBody.content["application/json"].schema["required"] as string[]).sort(), ["id", "mode", "name"]);
    const search = paths["/api/v1/cdrs"]?.["get"] as { parameters: Json[] };
    assert.ok(search.parameters.some((p) => p["name"] === "format" && p["in"] === "query"));
  });

  test("/docs is an HTML page naming the routes", async () => {
    const { app } = await harness();
    const res = await call(app, "GET", "/docs");
    assert.match(String(res.headers["content-type"]), /^text\/html/);
    assert.ok(res.body.includes("/api/v1/customers/:id"));
    assert.ok(res.body.includes('href="/openapi.json"'));
  });

  test("unknown routes and bad JSON get the error body with a code", async () => {
    const { app } = await harness();
    const missing = await call(app, "GET", "/api/v1/nothing");
    assert.equal(missing.status, 404);
    assert.equal(codeOf(missing.json()), "NOT_FOUND");
    const res = await app.inject({ method: "POST", url: "/api/v1/customers", headers: { "content-type": "application/json" }, payload: "{oops" });
    assert.equal(res.statusCode, 400);
    assert.equal(codeOf(JSON.parse(res.body) as Json), "VALIDATION_FAILED");
  });
});
