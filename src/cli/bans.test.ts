import { describe, it } from "node:test";
import assert from "node:assert/strict";
import Fastify from "fastify";
import { createSecurityGuard } from "../call/index.ts";
import { parseConfigObject, securitySchema } from "../config/index.ts";
import { registerBanRoutes } from "../http/bans-routes.ts";
import { FakeClock } from "../lib/index.ts";
import { createLogger } from "../observability/index.ts";
import { parseBansOptions, runBansCommand } from "./bans.ts";

describe("trunkline bans arguments", () => {
  it("maps list, add and lift to API requests", () => {
    assert.deepEqual(parseBansOptions({ action: undefined, address: undefined }), { ok: true, value: { method: "GET", path: "/api/v1/bans" } });
    assert.deepEqual(parseBansOptions({ action: "add", address: "203.0.113.5", seconds: "600", reason: "abuse" }), {
      ok: true,
      value: { method: "POST", path: "/api/v1/bans", body: { address: "203.0.113.5", seconds: 600, reason: "abuse" } },
    });
    assert.deepEqual(parseBansOptions({ action: "lift", address: "2001:db8::1" }), { ok: true, value: { method: "DELETE", path: "/api/v1/bans/2001%3Adb8%3A%3A1" } });
    assert.deepEqual(parseBansOptions({ action: "suspensions", address: undefined }), { ok: true, value: { method: "GET", path: "/api/v1/suspensions" } });
    assert.deepEqual(parseBansOptions({ action: "unsuspend", address: "acme" }), { ok: true, value: { method: "DELETE", path: "/api/v1/suspensions/acme" } });
    assert.deepEqual(parseBansOptions({ action: "locks", address: undefined }), { ok: true, value: { method: "GET", path: "/api/v1/account-locks" } });
    assert.deepEqual(parseBansOptions({ action: "unlock", address: "acme@pbx/1" }), { ok: true, value: { method: "DELETE", path: "/api/v1/account-locks/acme%40pbx%2F1" } });
  });

  it("refuses wrong usage", () => {
    assert.equal(parseBansOptions({ action: "add", address: undefined }).ok, false);
    assert.equal(parseBansOptions({ action: "add", address: "203.0.113.5", seconds: "0" }).ok, false);
    assert.equal(parseBansOptions({ action: "lift", address: "203.0.113.5", seconds: "5" }).ok, false);
    assert.equal(parseBansOptions({ action: "drop", address: "203.0.113.5" }).ok, false);
    assert.equal(parseBansOptions({ action: "list", address: "203.0.113.5" }).ok, false);
    assert.equal(parseBansOptions({ action: "unsuspend", address: undefined }).ok, false);
    assert.equal(parseBansOptions({ action: "unlock", address: undefined }).ok, false);
    assert.equal(parseBansOptions({ action: "locks", address: "acme" }).ok, false);
  });
});

describe("trunkline bans locks and unlock against the server's routes", () => {
  it("prints the locked accounts, unlocks one, and reports the server's 404", async () => {
    const clock = new FakeClock();
    const guard = createSecurityGuard({
      settings: securitySchema.parse({ auth: { maxFailures: 50, perAccount: { maxFailures: 2, windowSeconds: 60 }, accountLock: { enabled: true, baseSeconds: 300 } } }),
      policy: () => undefined,
      clock,
      logger: createLogger({ level: "silent" }),
      housekeepingMs: 0,
    });
    const app = Fastify();
    registerBanRoutes(app, guard, undefined, guard);
    // Port 0: the kernel picks a free loopback port, so parallel runs cannot collide.
    await app.listen({ host: "127.0.0.1", port: 0 });
    try {
      const address = app.server.address();
      assert.ok(typeof address === "object" && address !== null);
      const parsed = parseConfigObject({ http: { enabled: true, listen: `127.0.0.1:${address.port}` } });
      assert.ok(parsed.ok);
      const run = async (action: string, account?: string): Promise<{ ok: boolean; text: string }> => {
        const request = parseBansOptions({ action, address: account });
        assert.ok(request.ok);
        return runBansCommand(parsed.value, request.value, undefined);
      };
      assert.deepEqual(await run("locks"), { ok: true, text: "no account locks\n" });
      guard.recordAuthFailure("203.0.113.1", "acme");
      guard.recordAuthFailure("203.0.113.2", "acme");
      const until = new Date(clock.wallNow() + 300_000).toISOString();
      assert.deepEqual(await run("locks"), {
        ok: true,
        text: `account\tuntil\tfailures\tlocks\treason\nacme\t${until}\t2\t1\taccount acme locked for 300 s after 2 failed authentications\n`,
      });
      assert.deepEqual(await run("unlock", "acme"), { ok: true, text: "account unlocked\n" });
      assert.equal(guard.accountLock("acme"), undefined);
      const again = await run("unlock", "acme");
      assert.equal(again.ok, false);
      assert.match(again.text, /^server answered 404: .*account acme is not locked/);
    } finally {
      await app.close();
    }
  });
});
