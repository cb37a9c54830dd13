import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type MessageShape, DEFAULT_MESSAGE_LIMITS, checkMessageShape } from "./message-limits.ts";

const normal: MessageShape = { headerCount: 25, longestHeaderLine: 300, viaCount: 4, bodyBytes: 1800, requestUriBytes: 60, messageBytes: 3500 };

describe("checkMessageShape", () => {
  const cases: [name: string, shape: MessageShape, expected: string][] = [
    ["a normal INVITE", normal, "ok"],
    ["exactly at every limit", { headerCount: 100, longestHeaderLine: 4096, viaCount: 16, bodyBytes: 32768, requestUriBytes: 1024, messageBytes: 65536 }, "ok"],
    ["too many headers", { ...normal, headerCount: 101 }, "max-headers 400"],
    ["a long header line", { ...normal, longestHeaderLine: 5000 }, "max-header-line 400"],
    ["too many Vias", { ...normal, viaCount: 17 }, "max-vias 400"],
    ["a large body", { ...normal, bodyBytes: 40_000, messageBytes: 42_000 }, "max-body 413"],
    ["a long Request-URI", { ...normal, requestUriBytes: 2000 }, "max-request-uri 414"],
    ["a huge message reports the size first", { ...normal, headerCount: 500, messageBytes: 100_000 }, "max-message 513"],
    ["unknown optional sizes are not checked", { headerCount: 3, longestHeaderLine: 20, viaCount: 1, bodyBytes: 0 }, "ok"],
  ];
  for (const [name, shape, expected] of cases) {
    it(`${name}: ${expected}`, () => {
      const v = checkMessageShape(shape, DEFAULT_MESSAGE_LIMITS, 1000, "203.0.113.7");
      assert.equal(v.kind === "ok" ? "ok" : `${v.rule} ${v.status}`, expected);
      if (v.kind === "reject") {
        assert.match(v.reason, /over the limit of \d+ from 203\.0\.113\.7/);
        assert.equal(v.event.rule, v.rule);
        assert.equal(v.event.source, "203.0.113.7");
      }
    });
  }

  it("reads configured limits", () => {
    const v = checkMessageShape(normal, { ...DEFAULT_MESSAGE_LIMITS, maxVias: 3 }, 0);
    assert.ok(v.kind === "reject" && v.rule === "max-vias" && v.reason === "4 Via entries, over the limit of 3");
  });
});
