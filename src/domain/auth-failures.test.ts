import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AuthFailureTracker } from "./auth-failures.ts";
import { BanList } from "./bans.ts";
import { createTrustedNetworks } from "./security.ts";

const SEC = 1000;
const MIN = 60 * SEC;
const trusted = (() => {
  const t = createTrustedNetworks(["198.51.100.0/24"]);
  assert.ok(t.ok);
  return t.value;
})();

describe("AuthFailureTracker per source", () => {
  // [time, expected kind]: 3 failures in 10 s ban the source.
  const steps: [number, string][] = [
    [0, "counted"],
    [4 * SEC, "counted"],
    [11 * SEC, "counted"], // the failure at 0 has left the window
    [12 * SEC, "ban"],
    [13 * SEC, "counted"], // the count restarts after a ban
  ];
  it("bans after N failures within the window, not over a longer time", () => {
    const tracker = new AuthFailureTracker({ perSource: { maxFailures: 3, windowMs: 10 * SEC } });
    steps.forEach(([t, expected], i) => {
      const v = tracker.recordFailure({ source: "203.0.113.7", account: `user${i}` }, t);
      assert.equal(v.kind, expected, `step ${i} at ${t}`);
      if (v.kind === "ban") {
        assert.equal(v.ban?.rule, "auth-failures-source");
        assert.match(v.reason, /203\.0\.113\.7: 3 failed authentications within 10 s \(last as user3\)/);
        assert.equal(v.events[0]?.source, "203.0.113.7");
        assert.equal(v.events[0]?.account, "user3");
        assert.equal(v.lock, undefined);
      }
    });
  });

  it("ban durations grow on repeat through the ban list", () => {
    const tracker = new AuthFailureTracker({ perSource: { maxFailures: 2, windowMs: MIN }, banMs: 10 * MIN });
    const bans = new BanList({ factor: 2 });
    const durations: number[] = [];
    for (const t of [0, 30 * MIN, 90 * MIN]) {
      tracker.recordFailure({ source: "203.0.113.7" }, t);
      const v = tracker.recordFailure({ source: "203.0.113.7" }, t + 1);
      assert.ok(v.kind === "ban" && v.ban !== undefined);
      const placed = bans.ban("203.0.113.7", v.ban, t + 1);
      assert.ok(placed.kind === "banned" && placed.ban.expiresAt !== null);
      durations.push(placed.ban.expiresAt - (t + 1));
    }
    assert.deepEqual(durations, [10 * MIN, 20 * MIN, 40 * MIN]);
  });

  it("never bans a trusted source", () => {
    const tracker = new AuthFailureTracker({ perSource: { maxFailures: 2, windowMs: MIN }, trusted });
    for (let i = 0; i < 10; i++) {
      const v = tracker.recordFailure({ source: "198.51.100.5" }, i);
      assert.equal(v.kind, "counted");
    }
    assert.equal(tracker.stats().sources, 0);
  });
});

describe("AuthFailureTracker per account", () => {
  it("bans the source that reaches the account threshold, spread over many sources", () => {
    const tracker = new AuthFailureTracker({ perSource: { maxFailures: 100, windowMs: MIN }, perAccount: { maxFailures: 4, windowMs: MIN } });
    const kinds = [1, 2, 3, 4].map((i) => tracker.recordFailure({ source: `203.0.113.${i}`, account: "acme" }, i * SEC).kind);
    assert.deepEqual(kinds, ["counted", "counted", "counted", "ban"]);
  });

  it("locks the account when configured, longer on repeat, and unlocks", () => {
    const tracker = new AuthFailureTracker({
      perSource: { maxFailures: 100, windowMs: MIN },
      perAccount: { maxFailures: 2, windowMs: MIN },
      accountLock: { baseMs: 5 * MIN, maxMs: 15 * MIN },
    });
    const lockFor = (t: number): number | undefined => {
      tracker.recordFailure({ source: "203.0.113.1", account: "acme" }, t);
      const v = tracker.recordFailure({ source: "203.0.113.2", account: "acme" }, t);
      return v.kind === "ban" && v.lock !== undefined ? v.lock.until - t : undefined;
    };
    assert.equal(lockFor(0), 5 * MIN);
    assert.match(tracker.lockOf("acme", MIN)?.reason ?? "", /account acme locked for 240 s more/);
    assert.equal(tracker.lockOf("acme", 5 * MIN), undefined, "lock expires");
    assert.deepEqual(tracker.activeLocks(5 * MIN), [], "an expired lock is not listed");
    assert.equal(tracker.unlock("acme", 5 * MIN).lifted, undefined, "nor lifted");
    assert.equal(tracker.lockOf("other", 0), undefined);
    assert.equal(lockFor(10 * MIN), 10 * MIN);
    assert.equal(lockFor(30 * MIN), 15 * MIN, "capped");
    assert.deepEqual(tracker.activeLocks(31 * MIN).map((l) => [l.account, l.lockedAt, l.until, l.lockCount, l.failures]), [["acme", 30 * MIN, 45 * MIN, 3, 2]]);
    const out = tracker.unlock("acme", 31 * MIN, "api");
    assert.equal(out.lifted?.account, "acme");
    assert.equal(out.event?.action, "unlock-account");
    assert.equal(tracker.lockOf("acme", 31 * MIN), undefined);
    assert.deepEqual(tracker.activeLocks(31 * MIN), []);
    assert.equal(tracker.unlock("acme", 31 * MIN).lifted, undefined, "already lifted");
    assert.equal(tracker.unlock("other", 31 * MIN).lifted, undefined, "never locked");
    assert.equal(lockFor(32 * MIN), 15 * MIN, "the lock count survives an unlock");
  });

  it("locks the account even when the failing source is trusted, without banning it", () => {
    const tracker = new AuthFailureTracker({ perAccount: { maxFailures: 2, windowMs: MIN }, accountLock: { baseMs: MIN, maxMs: MIN }, trusted });
    tracker.recordFailure({ source: "198.51.100.1", account: "acme" }, 0);
    const v = tracker.recordFailure({ source: "198.51.100.1", account: "acme" }, 1);
    assert.ok(v.kind === "ban" && v.ban === undefined && v.lock?.account === "acme");
  });

  it("a flood of made-up usernames does not push a lock out of the bounded table", () => {
    const tracker = new AuthFailureTracker({
      perSource: { maxFailures: 1000, windowMs: MIN },
      perAccount: { maxFailures: 2, windowMs: MIN },
      accountLock: { baseMs: 10 * MIN, maxMs: 10 * MIN },
      maxEntries: 5,
    });
    tracker.recordFailure({ source: "203.0.113.1", account: "acme" }, 0);
    tracker.recordFailure({ source: "203.0.113.1", account: "acme" }, 0);
    for (let i = 0; i < 100; i++) tracker.recordFailure({ source: "203.0.113.9", account: `x${i}` }, 1);
    assert.equal(tracker.stats().accounts, 5);
    assert.notEqual(tracker.lockOf("acme", 2), undefined);
  });

  it("is bounded in sources and accounts", () => {
    const tracker = new AuthFailureTracker({ maxEntries: 10 });
    for (let i = 0; i < 1000; i++) tracker.recordFailure({ source: `10.0.${i >> 8}.${i & 255}`, account: `u${i}` }, i);
    assert.deepEqual(tracker.stats(), { sources: 10, accounts: 10, locks: 0 });
  });
});
