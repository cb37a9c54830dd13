import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type ChannelCounts,
  type TokenBucket,
  NO_CHANNELS,
  admit,
  admitCps,
  checkCallerId,
  checkDestination,
  release,
} from "./admission.ts";
import { createDidIndex } from "./dids.ts";
import { customer } from "./test-fixtures.ts";
import type { Direction, OutboundPolicy, TrunkLimits } from "./types.ts";

describe("admit", () => {
  const cases: [name: string, limits: TrunkLimits, direction: Direction, counts: ChannelCounts, expected: string][] = [
    ["unlimited", {}, "inbound", { inbound: 500, outbound: 500 }, "admit 501/500"],
    ["under the total", { channels: 2 }, "outbound", { inbound: 1, outbound: 0 }, "admit 1/1"],
    ["total full", { channels: 2 }, "outbound", { inbound: 1, outbound: 1 }, "refuse 503 retry 5"],
    ["total full, 486 configured", { channels: 2, overLimitStatus: 486 }, "inbound", { inbound: 2, outbound: 0 }, "refuse 486"],
    ["retry-after configured", { channels: 1, retryAfterSeconds: 30 }, "inbound", { inbound: 1, outbound: 0 }, "refuse 503 retry 30"],
    ["inbound cap", { channels: 10, inboundChannels: 3 }, "inbound", { inbound: 3, outbound: 0 }, "refuse 503 retry 5"],
    ["inbound cap leaves outbound free", { channels: 10, inboundChannels: 3 }, "outbound", { inbound: 3, outbound: 0 }, "admit 3/1"],
    ["outbound cap", { outboundChannels: 1 }, "outbound", { inbound: 0, outbound: 1 }, "refuse 503 retry 5"],
    ["from nothing", { channels: 1 }, "inbound", NO_CHANNELS, "admit 1/0"],
  ];
  for (const [name, limits, direction, counts, expected] of cases) {
    it(`${name}: ${expected}`, () => {
      const d = admit({ name: "acme", limits }, direction, counts);
      const got =
        d.kind === "admit"
          ? `admit ${d.counts.inbound}/${d.counts.outbound}`
          : `refuse ${d.refusal.status}${d.refusal.retryAfterSeconds !== undefined ? ` retry ${d.refusal.retryAfterSeconds}` : ""}`;
      assert.equal(got, expected);
      if (d.kind === "refuse") {
        assert.equal(d.refusal.kind, "channel-limit");
        assert.match(d.refusal.reason, /acme/);
      }
    });
  }

  it("release never goes below zero", () => {
    assert.deepEqual(release({ inbound: 1, outbound: 2 }, "outbound"), { inbound: 1, outbound: 1 });
    assert.deepEqual(release({ inbound: 0, outbound: 0 }, "inbound"), { inbound: 0, outbound: 0 });
  });
});

describe("admitCps", () => {
  // Each step: time (ms) of a new call and whether it is admitted; the bucket carries over.
  const cases: [name: string, limits: TrunkLimits, steps: [now: number, admitted: boolean][]][] = [
    ["unlimited", {}, [[0, true], [0, true], [0, true]]],
    ["2 cps burst 2", { cps: 2 }, [[0, true], [0, true], [0, false], [499, false], [500, true], [500, false], [1000, true]]],
    ["1 cps burst 3", { cps: 1, cpsBurst: 3 }, [[0, true], [1, true], [2, true], [3, false], [10_000, true], [10_000, true], [10_000, true], [10_000, false]]],
    ["refill caps at burst", { cps: 10, cpsBurst: 1 }, [[0, true], [60_000, true], [60_000, false], [60_100, true]]],
    ["clock stepping back mints nothing", { cps: 1 }, [[1000, true], [0, false], [500, false], [1900, false], [2000, true]]],
  ];
  for (const [name, limits, steps] of cases) {
    it(name, () => {
      let bucket: TokenBucket | undefined;
      steps.forEach(([now, expected], i) => {
        const d = admitCps({ name: "acme", limits }, bucket, now);
        assert.equal(d.kind === "admit", expected, `step ${i} at ${now} ms`);
        bucket = d.bucket;
      });
    });
  }

  it("says when to retry", () => {
    const first = admitCps({ name: "acme", limits: { cps: 4, cpsBurst: 1 } }, undefined, 0);
    const second = admitCps({ name: "acme", limits: { cps: 4, cpsBurst: 1 } }, first.bucket, 100);
    assert.equal(second.kind, "refuse");
    if (second.kind === "refuse") {
      assert.equal(second.retryAfterMs, 150);
      assert.equal(second.refusal.status, 503);
      assert.equal(second.refusal.kind, "cps-limit");
      assert.equal(second.refusal.retryAfterSeconds, 1);
    }
  });
});

describe("checkDestination", () => {
  const policy = (allowedPrefixes: string[], deniedPrefixes?: string[]): OutboundPolicy =>
    deniedPrefixes === undefined ? { allowedPrefixes, callerId: "any" } : { allowedPrefixes, deniedPrefixes, callerId: "any" };
  const cases: [policy: OutboundPolicy, destination: string, allowed: boolean][] = [
    [policy(["+"]), "+442071234567", true],
    [policy([]), "+442071234567", false],
    [policy(["+44", "+1"]), "+12125551234", true],
    [policy(["44"]), "+442071234567", true],
    [policy(["+44"]), "+33142685300", false],
    [policy(["+"], ["+449"]), "+449012345678", false],
    [policy(["+449"], ["+44"]), "+449012345678", false],
    [policy(["+44"], ["+4490"]), "+449112345678", true],
  ];
  for (const [p, destination, allowed] of cases) {
    it(`${destination} allow ${JSON.stringify(p.allowedPrefixes)} deny ${JSON.stringify(p.deniedPrefixes ?? [])} -> ${allowed}`, () => {
      const d = checkDestination(customer({ id: "acme", outbound: p }), destination);
      assert.equal(d.kind === "allow", allowed);
      if (d.kind === "refuse") assert.equal(d.refusal.status, 403);
    });
  }
});

describe("checkCallerId", () => {
  const acme = customer({
    id: "acme",
    dids: [{ kind: "range", from: "+442071234500", to: "+442071234599" }],
    outbound: { allowedPrefixes: ["+"], callerId: "own-dids" },
  });
  const other = customer({ id: "other", dids: [{ kind: "number", number: "+442079999999" }] });
  const permissive = customer({ id: "permissive", outbound: { allowedPrefixes: ["+"], callerId: "any" } });
  const index = createDidIndex([acme, other, permissive]);
  assert.ok(index.ok);
  const cases: [who: typeof acme, presented: string, expected: string][] = [
    [acme, "02071234567", "allow +442071234567"],
    [acme, "+442071234567", "allow +442071234567"],
    [acme, "02079999999", "refuse 403"],
    [acme, "anonymous", "refuse 403"],
    [permissive, "02079999999", "allow +442079999999"],
    [permissive, "anonymous", "allow -"],
  ];
  for (const [who, presented, expected] of cases) {
    it(`${who.id} presents ${presented} -> ${expected}`, () => {
      const d = checkCallerId(who, presented, index.value);
      const got = d.kind === "allow" ? `allow ${d.callerNumber ?? "-"}` : `refuse ${d.refusal.status}`;
      assert.equal(got, expected);
    });
  }
});
