// Dialog life through the B2BUA with real SIPp: reliable provisionals (PRACK end to end, or
// absorbed when the caller lacks 100rel), in-dialog INFO / OPTIONS / REFER, and a session timer
// whose refresh never comes (driven with a fake clock for the call layer).
import { afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../src/lib/index.ts";
import { haveSipp } from "../support/sipp.ts";
import { stopAll } from "../support/processes.ts";
import { startCallHarness, until, type CallHarness } from "./call-harness.ts";

const skip = haveSipp() ? false : "sipp is not installed";
let h: CallHarness | undefined;

afterEach(async () => {
  await stopAll();
  await h?.stop();
  h = undefined;
});

function failMessage(out: string): string {
  return out.slice(-1500) + "\n" + (h?.logLines.join("\n") ?? "");
}

describe("dialog life", { skip }, () => {
  test("PRACK end to end: the reliable 180 reaches the PBX, whose PRACK reaches the gateway", async () => {
    h = await startCallHarness();
    const gw = h.sipp("127.0.2.1", h.ports.gw1, "call-uas-100rel.xml");
    const pbx = h.sipp("127.0.4.1", 0, "call-uac-100rel.xml");
    const [a, b] = await Promise.all([pbx.done(), gw.done()]);
    assert.equal(a.stats.successful, 1, failMessage(a.output));
    assert.equal(b.stats.successful, 1, failMessage(b.output));
    const [cdr] = await h.cdrs.waitClosed(1);
    assert.equal(cdr?.disposition, "answered");
    assert.equal(h.channels("loadtest"), 0);
  });

  test("a reliable 180 to a caller without 100rel: Trunkline PRACKs it and relays it unreliably", async () => {
    h = await startCallHarness();
    const gw = h.sipp("127.0.2.1", h.ports.gw1, "call-uas-100rel.xml");
    const pbx = h.sipp("127.0.4.1", 0, "call-uac.xml");
    const [a, b] = await Promise.all([pbx.done(), gw.done()]);
    assert.equal(a.stats.successful, 1, failMessage(a.output));
    assert.equal(b.stats.successful, 1, failMessage(b.output));
    await h.cdrs.waitClosed(1);
    assert.equal(h.channels("alpha"), 0);
  });

  test("INFO is passed across, OPTIONS in dialog answered 200, REFER refused 403 by policy", async () => {
    h = await startCallHarness();
    const gw = h.sipp("127.0.2.1", h.ports.gw1, "call-uas-info.xml");
    const pbx = h.sipp("127.0.4.1", 0, "call-uac-indialog.xml");
    const [a, b] = await Promise.all([pbx.done(), gw.done()]);
    assert.equal(a.stats.successful, 1, failMessage(a.output));
    assert.equal(b.stats.successful, 1, failMessage(b.output));
    const [cdr] = await h.cdrs.waitClosed(1);
    assert.ok(cdr);
    assert.ok(cdr.trace.some((t) => t.step === "relay" && t.detail === "INFO from caller passed to callee"));
    assert.ok(cdr.trace.some((t) => t.step === "refer" && t.result === "refuse"));
    assert.equal(h.channels("loadtest"), 0);
  });

  test("session timer: 90 s negotiated, no refresh comes, both legs get a BYE", async () => {
    const clock = new FakeClock(Date.now());
    h = await startCallHarness(undefined, {}, clock);
    const gw = h.sipp("127.0.2.1", h.ports.gw1, "call-uas.xml");
    const pbx = h.sipp("127.0.4.1", 0, "call-uac-timer.xml");
    await until(() => h!.layer.activeCalls().some((c) => c.state === "answered"));
    await new Promise((r) => setTimeout(r, 300)); // the PBX's ACK
    clock.advance(89_000);
    assert.equal(h.layer.activeCalls().length, 1, "still up before the interval ends");
    clock.advance(1_000);
    const [a, b] = await Promise.all([pbx.done(), gw.done()]);
    assert.equal(a.stats.successful, 1, failMessage(a.output));
    assert.equal(b.stats.successful, 1, failMessage(b.output));
    const [cdr] = await h.cdrs.waitClosed(1);
    assert.ok(cdr);
    assert.match(cdr.endReason ?? "", /session timer expired \(90 s/);
    assert.equal(cdr.hangupBy, "system");
    assert.equal(cdr.durationMs, 90_000);
    assert.equal(h.channels("loadtest"), 0);
    assert.equal(h.channels("alpha"), 0);
  });

  test("REFER is passed across when the policy says pass, and its 202 comes back", async () => {
    h = await startCallHarness(undefined, { referPolicy: "pass" });
    const gw = h.sipp("127.0.2.1", h.ports.gw1, "call-uas-refer.xml");
    const pbx = h.sipp("127.0.4.1", 0, "call-uac-refer.xml");
    const [a, b] = await Promise.all([pbx.done(), gw.done()]);
    assert.equal(a.stats.successful, 1, failMessage(a.output));
    assert.equal(b.stats.successful, 1, failMessage(b.output));
    const [cdr] = await h.cdrs.waitClosed(1);
    assert.ok(cdr?.trace.some((t) => t.step === "relay" && t.detail === "REFER from caller passed to callee"));
    assert.equal(h.channels("loadtest"), 0);
  });

  test("the callee's re-INVITE (hold) reaches the PBX, the answer and the ACK go back", async () => {
    h = await startCallHarness();
    const gw = h.sipp("127.0.2.1", h.ports.gw1, "call-uas-reinvite.xml");
    const pbx = h.sipp("127.0.4.1", 0, "call-uac-held.xml");
    const [a, b] = await Promise.all([pbx.done(), gw.done()]);
    assert.equal(a.stats.successful, 1, failMessage(a.output));
    assert.equal(b.stats.successful, 1, failMessage(b.output));
    const [cdr] = await h.cdrs.waitClosed(1);
    assert.ok(cdr?.trace.some((t) => t.step === "relay" && t.detail === "INVITE from callee passed to caller"));
    assert.equal(cdr?.hangupBy, "caller");
    assert.equal(h.channels("loadtest"), 0);
    assert.equal(h.channels("alpha"), 0);
  });
});
