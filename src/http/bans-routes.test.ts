import { describe, it } from "node:test";
import assert from "node:assert/strict";
import Fastify from "fastify";
import { createSecurityGuard } from "../call/index.ts";
import { securitySchema } from "../config/index.ts";
import { FakeClock } from "../lib/index.ts";
import { createLogger } from "../observability/index.ts";
import { registerBanRoutes } from "./bans-routes.ts";

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
});
