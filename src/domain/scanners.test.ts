import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_SCANNER_USER_AGENTS, createScannerDetector } from "./scanners.ts";

describe("scanner detector", () => {
  const detector = createScannerDetector();
  const cases: [userAgent: string | undefined, expected: string][] = [
    ["friendly-scanner", "drop friendly-scanner"],
    ["Friendly-Scanner/1.0", "drop friendly-scanner"],
    ["sipvicious 0.3.4", "drop sipvicious"],
    ["SIPVicious", "drop sipvicious"],
    ["sipcli/v1.8", "drop sipcli"],
    ["VaxSIPUserAgent/3.1", "drop vaxsipuseragent"],
    ["sip-scan", "drop sip-scan"],
    ["iWar", "drop iwar"],
    ["SIVuS", "drop sivus"],
    ["sundayddr", "drop sundayddr"],
    ["pplsip", "drop pplsip"],
    ["Asterisk PBX 20.5.0", "pass"],
    ["3CX Phone System 18", "pass"],
    ["FreeSWITCH-mod_sofia/1.10.11", "pass"],
    ["sipsak 0.9.8", "pass"], // an admin's tool: monitoring pings must not be dropped
    ["", "pass"],
    [undefined, "pass"],
  ];
  for (const [ua, expected] of cases) {
    it(`${JSON.stringify(ua)}: ${expected}`, () => {
      const v = detector.check(ua, 5, "203.0.113.7");
      assert.equal(v.kind === "pass" ? "pass" : `drop ${v.pattern}`, expected);
      if (v.kind === "drop") {
        assert.match(v.reason, /matches scanner pattern/);
        assert.equal(v.event.source, "203.0.113.7");
        assert.equal(v.event.action, "drop");
        assert.equal(v.ban, undefined);
      }
    });
  }

  it("takes configured patterns, case-insensitively, and can ban", () => {
    const d = createScannerDetector({ patterns: [...DEFAULT_SCANNER_USER_AGENTS, "SIPSAK"], banMs: 3_600_000 });
    const v = d.check("sipsak 0.9.8", 0, "203.0.113.7");
    assert.ok(v.kind === "drop" && v.pattern === "sipsak");
    assert.deepEqual(v.ban, { rule: "scanner-user-agent", reason: v.reason, baseMs: 3_600_000 });
    assert.equal(v.event.action, "drop-and-ban");
  });

  it("ignores blank patterns rather than matching everything", () => {
    assert.equal(createScannerDetector({ patterns: ["", "  "] }).check("anything", 0).kind, "pass");
  });
});
