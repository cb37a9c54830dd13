import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CdrDraft, dispositionOf } from "./cdr.ts";

describe("CdrDraft", () => {
  test("records trace entries and attempts, each attempt ended once", () => {
    let now = 1000;
    const d = new CdrDraft(() => now, { callId: "c1", direction: "outbound", callerRaw: "100", calleeRaw: "200" });
    d.trace("identify", "pass", "source address in 127.0.1.1/32");
    const i = d.attemptStart("alpha/gw1", "alpha", "gw1");
    now = 2000;
    d.attemptEnd(i, "response", 503);
    now = 3000;
    d.attemptEnd(i, "answered", 200);
    const r = d.record();
    assert.equal(r.trace.length, 1);
    assert.deepEqual(r.attempts[0], { target: "alpha/gw1", carrierId: "alpha", gatewayId: "gw1", startedAt: 1000, endedAt: 2000, status: 503, outcome: "response" });
    assert.equal(r.startedAt, 1000);
    assert.equal(r.endedAt, null);
  });

  test("dispositions by outcome", () => {
    assert.equal(dispositionOf(true, 200, false), "answered");
    assert.equal(dispositionOf(false, 487, true), "cancelled");
    assert.equal(dispositionOf(false, 486, false), "busy");
    assert.equal(dispositionOf(false, 408, false), "no-answer");
    assert.equal(dispositionOf(false, 503, false), "failed");
  });
});
