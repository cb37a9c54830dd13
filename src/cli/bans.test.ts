import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseBansOptions } from "./bans.ts";

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
  });

  it("refuses wrong usage", () => {
    assert.equal(parseBansOptions({ action: "add", address: undefined }).ok, false);
    assert.equal(parseBansOptions({ action: "add", address: "203.0.113.5", seconds: "0" }).ok, false);
    assert.equal(parseBansOptions({ action: "lift", address: "203.0.113.5", seconds: "5" }).ok, false);
    assert.equal(parseBansOptions({ action: "drop", address: "203.0.113.5" }).ok, false);
    assert.equal(parseBansOptions({ action: "list", address: "203.0.113.5" }).ok, false);
    assert.equal(parseBansOptions({ action: "unsuspend", address: undefined }).ok, false);
  });
});
