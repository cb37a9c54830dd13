import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SourceLimiter, requestClassOf } from "./source-limits.ts";
import { BanList } from "./bans.ts";
import { createTrustedNetworks } from "./security.ts";

const trusted = (() => {
  const t = createTrustedNetworks(["198.51.100.0/24"]);
  assert.ok(t.ok);
  return t.value;
})();

describe("requestClassOf", () => {
  const cases: [method: string, cls: string][] = [
    ["REGISTER", "register"],
    ["INVITE", "invite"],
    ["OPTIONS", "other"],
    ["BYE", "other"],
    ["invite", "other"], // methods are case-sensitive (RFC 3261 7.1)
  ];
  for (const [method, cls] of cases) it(`${method} -> ${cls}`, () => assert.equal(requestClassOf(method), cls));
});

describe("SourceLimiter.check", () => {
  const limits = {
    register: { ratePerSecond: 1, burst: 2 },
    invite: { ratePerSecond: 2, burst: 3 },
    other: { ratePerSecond: 10, burst: 10 },
    banMs: 60_000,
  };
  // [time ms, method, expected] for one source
  const steps: [number, string, "allow" | "drop-and-ban"][] = [
    [0, "REGISTER", "allow"],
    [0, "REGISTER", "allow"],
    [0, "REGISTER", "drop-and-ban"], // burst of 2 spent
    [0, "INVITE", "allow"], // separate budget
    [0, "INVITE", "allow"],
    [0, "INVITE", "allow"],
    [0, "INVITE", "drop-and-ban"],
    [500, "INVITE", "allow"], // 2/s refills one token in 500 ms
    [500, "INVITE", "drop-and-ban"],
    [999, "REGISTER", "drop-and-ban"], // 0.999 of a token
    [1000, "REGISTER", "allow"],
    [1000, "OPTIONS", "allow"],
  ];
  it("keeps separate budgets per class and refills with time", () => {
    const limiter = new SourceLimiter(limits);
    steps.forEach(([t, method, expected], i) => {
      const d = limiter.check("203.0.113.7", method, t);
      assert.equal(d.kind, expected, `step ${i}: ${method} at ${t} ms`);
    });
  });

  it("drop-and-ban names the source, the rule and the ban duration", () => {
    const limiter = new SourceLimiter(limits);
    limiter.check("203.0.113.7", "REGISTER", 0);
    limiter.check("203.0.113.7", "REGISTER", 0);
    const d = limiter.check("203.0.113.7", "REGISTER", 0);
    assert.equal(d.kind, "drop-and-ban");
    if (d.kind !== "drop-and-ban") return;
    assert.match(d.reason, /203\.0\.113\.7: register requests over 1\/s \(burst 2\); REGISTER dropped/);
    assert.deepEqual(d.ban, { rule: "rate-register", reason: d.reason, baseMs: 60_000 });
    assert.equal(d.event.source, "203.0.113.7");
    const bans = new BanList();
    const placed = bans.ban("203.0.113.7", d.ban, 0);
    assert.ok(placed.kind === "banned" && placed.ban.expiresAt === 60_000);
  });

  it("never limits a trusted source", () => {
    const limiter = new SourceLimiter({ ...limits, trusted });
    for (let i = 0; i < 1000; i++) assert.equal(limiter.check("198.51.100.9", "INVITE", 0).kind, "allow");
    assert.equal(limiter.stats().sources, 0);
  });

  it("keys IPv4-mapped IPv6 and plain IPv4 together", () => {
    const limiter = new SourceLimiter(limits);
    limiter.check("::ffff:203.0.113.7", "REGISTER", 0);
    limiter.check("203.0.113.7", "REGISTER", 0);
    assert.equal(limiter.check("::ffff:203.0.113.7", "REGISTER", 0).kind, "drop-and-ban");
  });

  it("bounds the table, evicting the least recently seen source", () => {
    const limiter = new SourceLimiter({ ...limits, maxSources: 3 });
    limiter.check("203.0.113.1", "REGISTER", 0);
    limiter.check("203.0.113.1", "REGISTER", 0); // .1 has spent its burst
    limiter.check("203.0.113.2", "REGISTER", 0);
    limiter.check("203.0.113.3", "REGISTER", 0);
    limiter.check("203.0.113.1", "OPTIONS", 0); // .1 is now the most recent; .2 the oldest
    limiter.check("203.0.113.4", "REGISTER", 0); // evicts .2
    assert.deepEqual(limiter.stats(), { sources: 3, connectionSources: 0, evictions: 1 });
    assert.equal(limiter.check("203.0.113.1", "REGISTER", 0).kind, "drop-and-ban", ".1 kept its history");
    // A spoofed flood of new sources stays within the bound.
    for (let i = 0; i < 10_000; i++) limiter.check(`10.0.${i >> 8}.${i & 255}`, "INVITE", 0);
    assert.equal(limiter.stats().sources, 3);
  });
});

describe("SourceLimiter connections", () => {
  it("caps concurrent connections per source and releases them", () => {
    const limiter = new SourceLimiter({ maxConnectionsPerSource: 2 });
    assert.equal(limiter.acquireConnection("203.0.113.7", 0).kind, "allow");
    assert.equal(limiter.acquireConnection("203.0.113.7", 0).kind, "allow");
    const third = limiter.acquireConnection("203.0.113.7", 0);
    assert.equal(third.kind, "refuse");
    if (third.kind === "refuse") {
      assert.match(third.reason, /2 of 2 connections already open/);
      assert.equal(third.event.rule, "connections-per-source");
    }
    assert.equal(limiter.acquireConnection("203.0.113.8", 0).kind, "allow", "other sources unaffected");
    assert.equal(limiter.releaseConnection("203.0.113.7"), 1);
    assert.equal(limiter.acquireConnection("203.0.113.7", 0).kind, "allow");
    limiter.releaseConnection("203.0.113.7");
    limiter.releaseConnection("203.0.113.7");
    assert.equal(limiter.releaseConnection("203.0.113.7"), 0, "double release stays at zero");
    assert.equal(limiter.connectionsOf("203.0.113.7"), 0);
    assert.equal(limiter.stats().connectionSources, 1);
  });

  it("does not cap trusted sources", () => {
    const limiter = new SourceLimiter({ maxConnectionsPerSource: 1, trusted });
    for (let i = 0; i < 5; i++) assert.equal(limiter.acquireConnection("198.51.100.1", 0).kind, "allow");
  });
});
