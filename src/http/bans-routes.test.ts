import { describe, it } from "node:test";
import assert from "node:assert/strict";
import Fastify from "fastify";
import { createSecurityGuard, type SecurityGuard } from "../call/index.ts";
import { securitySchema } from "../config/index.ts";
import { compilePolicy } from "../domain/index.ts";
import { FakeClock } from "../lib/index.ts";
import { createLogger, createMetricsRegistry } from "../observability/index.ts";
import { createMemoryStorage } from "../storage/index.ts";
import { registerBanRoutes } from "./bans-routes.ts";
import { buildHttpApp, hashToken } from "./index.ts";

/** A guard that locks an account after two failures against it (from any sources), for 300 s. */
function lockingGuard(clock: FakeClock): SecurityGuard {
  return createSecurityGuard({
    settings: securitySchema.parse({ auth: { maxFailures: 50, perAccount: { maxFailures: 2, windowSeconds: 60 }, accountLock: { enabled: true, baseSeconds: 300 } } }),
    policy: () => undefined,
    clock,
    logger: createLogger({ level: "silent" }),
    housekeepingMs: 0,
  });
}

/** The whole app (with its token check) over memory storage and `guard`; tokens "r" (read) and "a" (admin). */
function appWithTokens(guard: SecurityGuard): ReturnType<typeof buildHttpApp> {
  const storage = createMemoryStorage();
  const compiled = compilePolicy({ customers: [], carriers: [], routes: [], rateDecks: [] });
  assert.ok(compiled.ok);
  const policy = compiled.value;
  return buildHttpApp({
    provisioning: storage.provisioning,
    cdrs: storage.cdrs,
    calls: { activeCalls: () => [], channelUse: () => ({ inbound: 0, outbound: 0 }), hangup: () => false },
    policy: () => policy,
    health: { gateways: () => null, registrations: () => [] },
    metrics: createMetricsRegistry(),
    applyProvisioning: async () => ({ ok: true }),
    tokens: [
      { name: "viewer", role: "read", sha256: hashToken("r") },
      { name: "ops", role: "admin", sha256: hashToken("a") },
    ],
    metricsNeedToken: false,
    bans: guard,
    accountLocks: guard,
  });
}

describe("ban routes", () => {
  it("lists, adds and lifts bans; refuses trusted addresses and unknown lifts", async () => {
    const guard = createSecurityGuard({
      settings: securitySchema.parse({ trustedNetworks: ["10.0.0.0/8"] }),
      policy: () => undefined,
      clock: new FakeClock(),
      logger: createLogger({ level: "silent" }),
      housekeepingMs: 0,
    });
    const app = Fastify();
    registerBanRoutes(app, guard);
    try {
      assert.deepEqual((await app.inject({ method: "GET", url: "/api/v1/bans" })).json(), { items: [] });
      const added = await app.inject({ method: "POST", url: "/api/v1/bans", payload: { address: "203.0.113.5", seconds: 60, reason: "test" } });
      assert.equal(added.statusCode, 201);
      assert.equal((added.json() as { address: string }).address, "203.0.113.5");
      const list = (await app.inject({ method: "GET", url: "/api/v1/bans" })).json() as { items: Array<{ address: string; reason: string }> };
      assert.deepEqual(list.items.map((b) => [b.address, b.reason]), [["203.0.113.5", "test (by api)"]]);
      assert.equal((await app.inject({ method: "POST", url: "/api/v1/bans", payload: { address: "10.1.1.1" } })).statusCode, 400);
      assert.equal((await app.inject({ method: "POST", url: "/api/v1/bans", payload: { address: "203.0.113.6", seconds: 0 } })).statusCode, 400);
      assert.equal((await app.inject({ method: "DELETE", url: "/api/v1/bans/203.0.113.5" })).statusCode, 204);
      assert.equal((await app.inject({ method: "DELETE", url: "/api/v1/bans/203.0.113.5" })).statusCode, 404);
    } finally {
      await app.close();
    }
  });

  it("lists digest-account locks and lifts one; 404 for an account not locked", async () => {
    const clock = new FakeClock();
    const guard = lockingGuard(clock);
    const app = Fastify();
    registerBanRoutes(app, guard, undefined, guard);
    try {
      assert.deepEqual((await app.inject({ method: "GET", url: "/api/v1/account-locks" })).json(), { items: [] });
      guard.recordAuthFailure("203.0.113.1", "acme");
      guard.recordAuthFailure("203.0.113.2", "acme");
      assert.ok(guard.accountLock("acme") !== undefined, "locked by the guard");
      const list = (await app.inject({ method: "GET", url: "/api/v1/account-locks" })).json() as {
        items: Array<{ account: string; until: number; failures: number; lockCount: number; reason: string }>;
      };
      assert.deepEqual(
        list.items.map((l) => [l.account, l.until - clock.wallNow(), l.failures, l.lockCount]),
        [["acme", 300_000, 2, 1]],
      );
      assert.match(list.items[0]?.reason ?? "", /account acme locked for 300 s after 2 failed authentications/);
      assert.equal((await app.inject({ method: "DELETE", url: "/api/v1/account-locks/acme" })).statusCode, 204);
      assert.equal(guard.accountLock("acme"), undefined, "the guard lets the account authenticate again");
      assert.deepEqual((await app.inject({ method: "GET", url: "/api/v1/account-locks" })).json(), { items: [] });
      assert.equal((await app.inject({ method: "DELETE", url: "/api/v1/account-locks/acme" })).statusCode, 404, "already lifted");
      assert.equal((await app.inject({ method: "DELETE", url: "/api/v1/account-locks/nobody" })).statusCode, 404);
      guard.recordAuthFailure("203.0.113.3", "beta");
      guard.recordAuthFailure("203.0.113.4", "beta");
      clock.advance(300_000);
      assert.equal((await app.inject({ method: "DELETE", url: "/api/v1/account-locks/beta" })).statusCode, 404, "an expired lock is not in force");
    } finally {
      await app.close();
    }
  });

  it("lets a read token list account locks but not lift one; an admin token may", async () => {
    const guard = lockingGuard(new FakeClock());
    guard.recordAuthFailure("203.0.113.1", "acme");
    guard.recordAuthFailure("203.0.113.2", "acme");
    const app = appWithTokens(guard);
    try {
      const read = { authorization: "Bearer r" };
      const listed = await app.inject({ method: "GET", url: "/api/v1/account-locks", headers: read });
      assert.equal(listed.statusCode, 200);
      assert.deepEqual((listed.json() as { items: Array<{ account: string }> }).items.map((l) => l.account), ["acme"]);
      const refused = await app.inject({ method: "DELETE", url: "/api/v1/account-locks/acme", headers: read });
      assert.equal(refused.statusCode, 403);
      assert.equal((refused.json() as { error: { code: string } }).error.code, "AUTH_FORBIDDEN");
      assert.ok(guard.accountLock("acme") !== undefined, "still locked");
      assert.equal((await app.inject({ method: "DELETE", url: "/api/v1/account-locks/acme" })).statusCode, 401);
      assert.equal((await app.inject({ method: "DELETE", url: "/api/v1/account-locks/acme", headers: { authorization: "Bearer a" } })).statusCode, 204);
      assert.equal(guard.accountLock("acme"), undefined);
      const again = await app.inject({ method: "DELETE", url: "/api/v1/account-locks/acme", headers: { authorization: "Bearer a" } });
      assert.equal(again.statusCode, 404);
      assert.deepEqual(again.json(), { error: { code: "NOT_FOUND", message: "account acme is not locked" } });
      const doc = (await app.inject({ method: "GET", url: "/openapi.json" })).json() as { paths: Record<string, Record<string, unknown>> };
      assert.deepEqual(Object.keys(doc.paths["/api/v1/account-locks"] ?? {}), ["get"]);
      assert.deepEqual(Object.keys(doc.paths["/api/v1/account-locks/{account}"] ?? {}), ["delete"]);
    } finally {
      await app.close();
    }
  });
});
