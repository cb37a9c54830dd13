import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ChannelTable } from "./channels.ts";

const trunk = { id: "acme", name: "acme", limits: { channels: 2, cps: 2, retryAfterSeconds: 7 } };

describe("ChannelTable", () => {
  test("takes channels up to the limit and refuses the next with 503 and Retry-After", () => {
    const table = new ChannelTable();
    const a = table.take(trunk, "outbound");
    const b = table.take(trunk, "inbound");
    assert.equal(a.kind, "admit");
    assert.equal(b.kind, "admit");
    assert.deepEqual(table.use("acme"), { inbound: 1, outbound: 1 });
    const c = table.take(trunk, "outbound");
    assert.equal(c.kind, "refuse");
    assert.equal(c.kind === "refuse" && c.refusal.status, 503);
    assert.equal(c.kind === "refuse" && c.refusal.retryAfterSeconds, 7);
  });

  test("a hold released twice gives back exactly one channel", () => {
    const table = new ChannelTable();
    const a = table.take(trunk, "outbound");
    const b = table.take(trunk, "outbound");
    assert.ok(a.kind === "admit" && b.kind === "admit");
    a.hold.release();
    a.hold.release();
    assert.deepEqual(table.use("acme"), { inbound: 0, outbound: 1 });
    b.hold.release();
    assert.deepEqual(table.use("acme"), { inbound: 0, outbound: 0 });
  });

  test("486 instead of 503 when the trunk says so", () => {
    const table = new ChannelTable();
    const busy = { id: "b", name: "b", limits: { channels: 0, overLimitStatus: 486 as const } };
    const r = table.take(busy, "outbound");
    assert.equal(r.kind === "refuse" && r.refusal.status, 486);
  });

  test("CPS tokens refill with time", () => {
    const table = new ChannelTable();
    assert.equal(table.cps(trunk, 0).kind, "admit");
    assert.equal(table.cps(trunk, 0).kind, "admit");
    assert.equal(table.cps(trunk, 0).kind, "refuse");
    assert.equal(table.cps(trunk, 600).kind, "admit");
  });
});
