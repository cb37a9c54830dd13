import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { BanList, banDuration } from "./bans.ts";
import { createTrustedNetworks } from "./security.ts";

const MIN = 60_000;
const trusted = (() => {
  const t = createTrustedNetworks(["198.51.100.0/24", "2001:db8:c::/48"]);
  assert.ok(t.ok);
  return t.value;
})();

describe("banDuration", () => {
  const cases: [offence: number, expectedMs: number][] = [
    [1, 10 * MIN],
    [2, 20 * MIN],
    [3, 40 * MIN],
    [8, 1280 * MIN],
    [9, 1440 * MIN], // capped at 24 h
    [500, 1440 * MIN],
  ];
  for (const [offence, expected] of cases) {
    it(`offence ${offence}: ${expected / MIN} min`, () => assert.equal(banDuration(offence, 10 * MIN, 2, 1440 * MIN), expected));
  }
});

describe("BanList", () => {
  it("bans, reports the ban with a reason, and lets it expire", () => {
    const bans = new BanList();
    const out = bans.ban("203.0.113.7", { rule: "rate-invite", reason: "INVITE flood" }, 0);
    assert.equal(out.kind, "banned");
    if (out.kind === "banned") {
      assert.equal(out.event.source, "203.0.113.7");
      assert.equal(out.event.rule, "rate-invite");
      assert.equal(out.ban.expiresAt, 10 * MIN);
    }
    const c = bans.check("203.0.113.7", 5 * MIN);
    assert.equal(c.kind, "banned");
    if (c.kind === "banned") assert.match(c.reason, /banned for 5 min more \(rate-invite: INVITE flood\)/);
    assert.equal(bans.check("203.0.113.7", 10 * MIN).kind, "clear");
  });

  it("grows the duration on repeat offences, doubling up to the maximum", () => {
    const bans = new BanList({ baseMs: MIN, maxMs: 5 * MIN });
    const durations: number[] = [];
    let now = 0;
    for (let i = 0; i < 5; i++) {
      const out = bans.ban("203.0.113.7", { rule: "auth", reason: "guessing" }, now);
      assert.equal(out.kind, "banned");
      if (out.kind === "banned" && out.ban.expiresAt !== null) {
        durations.push(out.ban.expiresAt - now);
        now = out.ban.expiresAt + 1;
      }
    }
    assert.deepEqual(durations, [MIN, 2 * MIN, 4 * MIN, 5 * MIN, 5 * MIN]);
  });

  it("forgets offences after a clean period", () => {
    const bans = new BanList({ baseMs: MIN, forgetAfterMs: 60 * MIN });
    bans.ban("203.0.113.7", { rule: "r", reason: "x" }, 0);
    const out = bans.ban("203.0.113.7", { rule: "r", reason: "x" }, 61 * MIN);
    assert.ok(out.kind === "banned" && out.ban.offence === 1 && out.ban.expiresAt === 62 * MIN);
  });

  it("uses the rule's own base duration when given", () => {
    const bans = new BanList();
    const out = bans.ban("203.0.113.7", { rule: "scanner", reason: "x", baseMs: 60 * MIN }, 0);
    assert.ok(out.kind === "banned" && out.ban.expiresAt === 60 * MIN);
  });

  it("never shortens a ban in force", () => {
    const bans = new BanList();
    bans.add("203.0.113.7", { reason: "abuse report" }, 0);
    const out = bans.ban("203.0.113.7", { rule: "rate-other", reason: "x" }, 1);
    assert.ok(out.kind === "banned" && out.ban.origin === "manual" && out.ban.expiresAt === null);
  });

  const trustedCases: [name: string, address: string][] = [
    ["carrier v4", "198.51.100.20"],
    ["carrier v4 as mapped v6", "::ffff:198.51.100.20"],
    ["carrier v6", "2001:db8:c::5"],
  ];
  for (const [name, address] of trustedCases) {
    it(`never bans a trusted source (${name}), automatically or by hand`, () => {
      const bans = new BanList({ trusted });
      const auto = bans.ban(address, { rule: "rate-invite", reason: "flood" }, 0);
      assert.equal(auto.kind, "refused");
      if (auto.kind === "refused") assert.match(auto.reason, /trusted network/);
      const manual = bans.add(address, { reason: "test" }, 0);
      assert.equal(manual.kind, "refused");
      if (manual.kind === "refused") assert.match(manual.reason, /remove it from the trusted networks first/);
      assert.equal(bans.check(address, 0).kind, "clear");
      assert.equal(bans.size, 0);
    });
  }

  it("refuses what is not an address", () => {
    assert.equal(new BanList().add("not-an-ip", { reason: "x" }, 0).kind, "refused");
  });

  it("keys one entry per address whatever its spelling", () => {
    const bans = new BanList();
    bans.add("2001:DB8::1", { reason: "x", durationMs: MIN }, 0);
    assert.equal(bans.check("[2001:db8:0:0::1]", 0).kind, "banned");
    bans.add("::ffff:203.0.113.9", { reason: "x", durationMs: MIN }, 0);
    assert.equal(bans.check("203.0.113.9", 0).kind, "banned");
  });

  it("manual ban until lifted, list, lift with and without forgetting", () => {
    const bans = new BanList({ baseMs: MIN });
    bans.add("203.0.113.1", { reason: "abuse report", by: "ops" }, 0);
    bans.ban("203.0.113.2", { rule: "rate-register", reason: "x" }, 0);
    const listed = bans.list(30 * MIN);
    assert.deepEqual(listed.map((b) => b.address), ["203.0.113.1"]);
    assert.equal(listed[0]?.reason, "abuse report (by ops)");
    const lifted = bans.lift("203.0.113.1", 31 * MIN);
    assert.equal(lifted.lifted?.address, "203.0.113.1");
    assert.equal(lifted.event?.action, "unban");
    assert.equal(bans.check("203.0.113.1", 31 * MIN).kind, "clear");
    // 203.0.113.2 offended once; without forgetting, the next ban is its second.
    bans.lift("203.0.113.2", 0);
    const again = bans.ban("203.0.113.2", { rule: "r", reason: "x" }, 40 * MIN);
    assert.ok(again.kind === "banned" && again.ban.offence === 2);
    bans.lift("203.0.113.2", 41 * MIN, true);
    const fresh = bans.ban("203.0.113.2", { rule: "r", reason: "x" }, 42 * MIN);
    assert.ok(fresh.kind === "banned" && fresh.ban.offence === 1);
  });

  it("expire sweeps ended bans", () => {
    const bans = new BanList({ baseMs: MIN });
    bans.ban("203.0.113.1", { rule: "r", reason: "x" }, 0);
    bans.ban("203.0.113.2", { rule: "r", reason: "x" }, 30_000);
    assert.deepEqual(bans.expire(MIN).map((b) => b.address), ["203.0.113.1"]);
    assert.equal(bans.size, 1);
  });

  it("is bounded: the oldest ban is evicted", () => {
    const bans = new BanList({ maxEntries: 3 });
    for (let i = 1; i <= 5; i++) bans.ban(`203.0.113.${i}`, { rule: "r", reason: "x" }, i);
    assert.equal(bans.size, 3);
    assert.equal(bans.check("203.0.113.1", 10).kind, "clear");
    assert.equal(bans.check("203.0.113.5", 10).kind, "banned");
  });

  it("round-trips through its serializable state", () => {
    const bans = new BanList({ baseMs: MIN });
    bans.ban("203.0.113.1", { rule: "r", reason: "x" }, 0);
    bans.add("2001:db8::1", { reason: "manual" }, 0);
    const state = JSON.parse(JSON.stringify(bans.snapshot())) as ReturnType<BanList["snapshot"]>;
    const copy = new BanList({ baseMs: MIN }, state);
    assert.deepEqual(copy.list(1), bans.list(1));
    // The offence history travels too: the next ban is a second offence.
    const next = copy.ban("203.0.113.1", { rule: "r", reason: "x" }, 2 * MIN);
    assert.ok(next.kind === "banned" && next.ban.offence === 2);
  });
});
