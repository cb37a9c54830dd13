import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { BanList } from "./bans.ts";
import { DEFAULT_MESSAGE_LIMITS, type MessageShape } from "./message-limits.ts";
import { createScannerDetector } from "./scanners.ts";
import { type RequestScreen, screenRequest } from "./screen.ts";
import { createTrustedNetworks } from "./security.ts";
import { SourceLimiter } from "./source-limits.ts";

const shape: MessageShape = { headerCount: 12, longestHeaderLine: 120, viaCount: 1, bodyBytes: 0 };

function makeScreen(): RequestScreen {
  const t = createTrustedNetworks(["198.51.100.0/24"]);
  assert.ok(t.ok);
  return {
    bans: new BanList({ trusted: t.value, baseMs: 60_000 }),
    limiter: new SourceLimiter({ trusted: t.value, register: { ratePerSecond: 1, burst: 2 }, banMs: 60_000 }),
    scanners: createScannerDetector(),
    messageLimits: DEFAULT_MESSAGE_LIMITS,
  };
}

describe("screenRequest", () => {
  it("passes a normal request", () => {
    const v = screenRequest(makeScreen(), { source: "203.0.113.7", method: "REGISTER", userAgent: "Asterisk PBX", shape }, 0);
    assert.equal(v.kind, "pass");
  });

  it("drops a scanner silently without banning by default", () => {
    const screen = makeScreen();
    const v = screenRequest(screen, { source: "203.0.113.7", method: "OPTIONS", userAgent: "friendly-scanner", shape }, 0);
    assert.ok(v.kind === "drop" && v.rule === "scanner-user-agent" && v.event !== undefined && v.banEvent === undefined);
    assert.equal(screen.bans.size, 0);
  });

  it("rejects an oversized message with its status", () => {
    const v = screenRequest(makeScreen(), { source: "203.0.113.7", method: "INVITE", shape: { ...shape, viaCount: 70 } }, 0);
    assert.ok(v.kind === "reject" && v.status === 400 && v.rule === "max-vias");
  });

  it("bans a flooding source, then drops it quietly until the ban ends", () => {
    const screen = makeScreen();
    const facts = { source: "203.0.113.7", method: "REGISTER", shape };
    const kinds = [0, 0, 0].map((t) => screenRequest(screen, facts, t));
    assert.deepEqual(kinds.map((v) => v.kind), ["pass", "pass", "drop"]);
    const third = kinds[2];
    assert.ok(third?.kind === "drop" && third.rule === "rate-register" && third.banEvent?.action === "ban");
    const quiet = screenRequest(screen, facts, 30_000);
    assert.ok(quiet.kind === "drop" && quiet.rule === "banned" && quiet.event === undefined);
    assert.equal(screenRequest(screen, facts, 60_000).kind, "pass");
  });

  it("never bans a trusted carrier however fast it sends", () => {
    const screen = makeScreen();
    for (let i = 0; i < 100; i++) assert.equal(screenRequest(screen, { source: "198.51.100.1", method: "REGISTER", shape }, 0).kind, "pass");
    assert.equal(screen.bans.size, 0);
  });
});
