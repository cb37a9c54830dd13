// Dialog life through the B2BUA with real SIPp: reliable provisionals (PRACK end to end, or
// absorbed when the caller lacks 100rel), in-dialog INFO / OPTIONS / REFER, and a session timer
// whose refresh never comes (driven with a fake clock for the call layer).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../src/lib/index.ts";
import { callHarnessPerTest, skipWithoutSipp as skip, until } from "./call-harness.ts";

const harness = callHarnessPerTest();

describe("dialog life", { skip }, () => {
  test("PRACK end to end: the reliable 180 reaches the PBX, whose PRACK reaches the gateway", async () => {
    const h = await harness.start();
    const gw = h.sipp("127.0.2.1", h.ports.gw1, "call-uas-100rel.xml");
    const pbx = h.sipp("127.0.4.1", 0, "call-uac-100rel.xml");
    await h.completed([pbx, gw]);
    const cdr = await h.closedCdr();
    assert.equal(cdr.disposition, "answered");
    await h.channelsFreed("loadtest");
  });

  test("a reliable 180 to a caller without 100rel: Trunkline PRACKs it and relays it unreliably", async () => {
    const h = await harness.start();
    const gw = h.sipp("127.0.2.1", h.ports.gw1, "call-uas-100rel.xml");
    const pbx = h.sipp("127.0.4.1", 0, "call-uac.xml");
    await h.completed([pbx, gw]);
    await h.cdrs.waitClosed(1);
    await h.channelsFreed("alpha");
  });

  test("INFO is passed across, OPTIONS in dialog answered 200, REFER refused 403 by policy", async () => {
    const h = await harness.start();
    const gw = h.sipp("127.0.2.1", h.ports.gw1, "call-uas-info.xml");
    const pbx = h.sipp("127.0.4.1", 0, "call-uac-indialog.xml");
    await h.completed([pbx, gw]);
    const cdr = await h.closedCdr();
    assert.ok(cdr.trace.some((t) => t.step === "relay" && t.detail === "INFO from caller passed to callee"));
    assert.ok(cdr.trace.some((t) => t.step === "refer" && t.result === "refuse"));
    await h.channelsFreed("loadtest");
  });

  test("session timer: 90 s negotiated, no refresh comes, both legs get a BYE", async () => {
    const clock = new FakeClock(Date.now());
    const h = await harness.start(undefined, {}, clock);
    const gw = h.sipp("127.0.2.1", h.ports.gw1, "call-uas.xml");
    const pbx = h.sipp("127.0.4.1", 0, "call-uac-timer.xml");
    await until(() => h.layer.activeCalls().some((c) => c.state === "answered"));
    await new Promise((r) => setTimeout(r, 300)); // the PBX's ACK
    clock.advance(89_000);
    assert.equal(h.layer.activeCalls().length, 1, "still up before the interval ends");
    clock.advance(1_000);
    await h.completed([pbx, gw]);
    const cdr = await h.closedCdr();
    assert.match(cdr.endReason ?? "", /session timer expired \(90 s/);
    assert.equal(cdr.hangupBy, "system");
    assert.equal(cdr.durationMs, 90_000);
    await h.channelsFreed("loadtest", "alpha");
  });

  test("REFER is passed across when the policy says pass, and its 202 comes back", async () => {
    const h = await harness.start(undefined, { referPolicy: "pass" });
    const gw = h.sipp("127.0.2.1", h.ports.gw1, "call-uas-refer.xml");
    const pbx = h.sipp("127.0.4.1", 0, "call-uac-refer.xml");
    await h.completed([pbx, gw]);
    const cdr = await h.closedCdr();
    assert.ok(cdr.trace.some((t) => t.step === "relay" && t.detail === "REFER from caller passed to callee"));
    await h.channelsFreed("loadtest");
  });

  test("the callee's re-INVITE (hold) reaches the PBX, the answer and the ACK go back", async () => {
    const h = await harness.start();
    const gw = h.sipp("127.0.2.1", h.ports.gw1, "call-uas-reinvite.xml");
    const pbx = h.sipp("127.0.4.1", 0, "call-uac-held.xml");
    await h.completed([pbx, gw]);
    const cdr = await h.closedCdr();
    assert.ok(cdr.trace.some((t) => t.step === "relay" && t.detail === "INVITE from callee passed to caller"));
    assert.equal(cdr.hangupBy, "caller");
    await h.channelsFreed("loadtest", "alpha");
  });
});
