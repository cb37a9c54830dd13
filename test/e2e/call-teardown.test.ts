// How calls end, with real SIPp on both sides: CANCEL before answer, BYE from the callee, a hold
// re-INVITE passed across, failover exhaustion, the channel limit (N+1 refused, freed afterwards),
// maximum call duration and stop(). Every test checks the CDR and that channels are back to 0.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { callHarnessPerTest, skipWithoutSipp as skip, until } from "./call-harness.ts";

const harness = callHarnessPerTest();

describe("call endings", { skip }, () => {
  test("CANCEL before answer: the gateway's INVITE is cancelled, the caller gets 487", async () => {
    const h = await harness.start();
    const gw = h.sipp("127.0.2.1", h.ports.gw1, "call-uas-cancelled.xml");
    const pbx = h.sipp("127.0.4.1", 0, "call-uac-cancel.xml");
    await h.completed([pbx, gw]);
    const cdr = await h.closedCdr();
    assert.equal(cdr.disposition, "cancelled");
    assert.equal(cdr.finalStatus, 487);
    assert.equal(cdr.hangupBy, "caller");
    assert.equal(cdr.q850Cause, 16);
    assert.equal(cdr.attempts[0]?.outcome, "cancelled");
    assert.ok(cdr.ringingAt !== null);
    await h.channelsFreed("loadtest", "alpha");
  });

  test("BYE from the callee: 200 to the gateway, BYE to the PBX", async () => {
    const h = await harness.start();
    const gw = h.sipp("127.0.2.1", h.ports.gw1, "call-uas-bye.xml", { pauseMs: 300 });
    const pbx = h.sipp("127.0.4.1", 0, "call-uac-wait-bye.xml");
    await h.completed([pbx, gw]);
    const cdr = await h.closedCdr();
    assert.equal(cdr.disposition, "answered");
    assert.equal(cdr.hangupBy, "callee");
    assert.equal(cdr.endReason, "BYE from callee");
    assert.equal(cdr.q850Cause, 16);
    await h.channelsFreed("loadtest", "alpha");
  });

  test("a re-INVITE putting the call on hold is passed across with its answer", async () => {
    const h = await harness.start();
    const gw = h.sipp("127.0.2.1", h.ports.gw1, "call-uas-hold.xml");
    const pbx = h.sipp("127.0.4.1", 0, "call-uac-hold.xml");
    await h.completed([pbx, gw]);
    const cdr = await h.closedCdr();
    assert.equal(cdr.disposition, "answered");
    assert.ok(cdr.trace.some((t) => t.step === "relay" && /INVITE from caller passed to callee/.test(t.detail)));
    await h.channelsFreed("alpha", "loadtest");
  });

  test("every gateway fails (503, 503, 503): the caller gets 503 and every carrier channel is freed", async () => {
    const h = await harness.start();
    const gws = [
      h.sipp("127.0.2.1", h.ports.gw1, "call-uas-503.xml"),
      h.sipp("127.0.2.2", h.ports.gw2, "call-uas-503.xml"),
      h.sipp("127.0.3.1", h.ports.beta, "call-uas-503.xml"),
    ];
    const pbx = h.sipp("127.0.4.1", 0, "call-uac-503.xml");
    await h.completed([pbx, ...gws]);
    const cdr = await h.closedCdr();
    assert.equal(cdr.disposition, "failed");
    assert.equal(cdr.finalStatus, 503);
    assert.deepEqual(cdr.attempts.map((x) => x.gatewayId), ["alpha-gw1", "alpha-gw2", "beta-gw1"]);
    assert.equal(cdr.attempts[2]?.target.includes("sip:15551230001@"), true, "beta gets its e164 format without +");
    await h.channelsFreed("loadtest", "alpha", "beta");
  });

  test("channel limit: with 2 of 2 in use the third call gets 503 with Retry-After; once they end a new call is admitted", async () => {
    const h = await harness.start();
    const gw = h.sipp("127.0.2.1", h.ports.gw1, "call-uas.xml", { calls: 3 });
    const two = h.sipp("127.0.4.1", 0, "call-uac.xml", { calls: 2, rate: 100, pauseMs: 2000 });
    await until(() => h.channels("loadtest") === 2 && h.layer.activeCalls().every((c) => c.state === "answered"), 5000);
    assert.equal(h.channels("loadtest"), 2);
    const third = h.sipp("127.0.4.2", 0, "call-uac-503.xml");
    await h.completed([third]);
    await h.completed([two], 2);
    await h.channelsFreed("loadtest");
    const fourth = h.sipp("127.0.4.3", 0, "call-uac.xml");
    await h.completed([fourth]);
    await gw.done();
    const cdrs = await h.cdrs.waitClosed(4);
    const refusedCdr = cdrs.find((c) => c.disposition === "refused");
    assert.ok(refusedCdr);
    assert.equal(refusedCdr.finalStatus, 503);
    assert.equal(refusedCdr.q850Cause, 34);
    assert.match(refusedCdr.trace.find((t) => t.step === "channels")?.detail ?? "", /2 of 2 channels in use/);
    assert.equal(cdrs.filter((c) => c.disposition === "answered").length, 3);
    await h.channelsFreed("loadtest", "alpha");
  });

  test("maximum call duration: both legs get a BYE and the CDR says why", async () => {
    const h = await harness.start(undefined, { maxCallDurationMs: 600 });
    const gw = h.sipp("127.0.2.1", h.ports.gw1, "call-uas.xml");
    const pbx = h.sipp("127.0.4.1", 0, "call-uac-wait-bye.xml");
    await h.completed([pbx, gw]);
    const cdr = await h.closedCdr();
    assert.equal(cdr.hangupBy, "system");
    assert.match(cdr.endReason ?? "", /max duration/);
    assert.equal(cdr.q850Cause, 102);
    await h.channelsFreed("loadtest", "alpha");
  });

  test("stop() ends an answered call with BYE on both legs and closes the CDR as ended by shutdown", async () => {
    const h = await harness.start();
    const gw = h.sipp("127.0.2.1", h.ports.gw1, "call-uas.xml");
    const pbx = h.sipp("127.0.4.1", 0, "call-uac-wait-bye.xml");
    await until(() => h.layer.activeCalls().some((c) => c.state === "answered"));
    await sleep(100);
    await h.layer.stop();
    await h.completed([pbx, gw]);
    const cdr = await h.closedCdr();
    assert.equal(cdr.endReason, "ended by shutdown");
    assert.equal(cdr.disposition, "answered");
    await h.channelsFreed("loadtest", "alpha");
  });

  test("stop() while ringing: CANCEL to the gateway, 487 to the PBX, CDR interrupted", async () => {
    const h = await harness.start();
    const gw = h.sipp("127.0.2.1", h.ports.gw1, "call-uas-cancelled.xml");
    const pbx = h.sipp("127.0.4.1", 0, "call-uac-487.xml");
    await until(() => h.layer.activeCalls().some((c) => c.state === "early"));
    await h.layer.stop();
    await h.completed([pbx, gw]);
    const cdr = await h.closedCdr();
    assert.equal(cdr.disposition, "interrupted");
    assert.equal(cdr.endReason, "ended by shutdown");
    assert.equal(cdr.attempts[0]?.outcome, "cancelled");
    await h.channelsFreed("loadtest", "alpha");
  });

  test("hangup(callId) from the API ends an answered call with BYE on both legs", async () => {
    const h = await harness.start();
    const gw = h.sipp("127.0.2.1", h.ports.gw1, "call-uas.xml");
    const pbx = h.sipp("127.0.4.1", 0, "call-uac-wait-bye.xml");
    await until(() => h.layer.activeCalls().some((c) => c.state === "answered"));
    await sleep(100);
    const [call] = h.layer.activeCalls();
    assert.ok(call);
    assert.equal(h.layer.hangup(call.callId, "operator test"), true);
    assert.equal(h.layer.hangup(call.callId), false, "a second hangup finds nothing");
    await h.completed([pbx, gw]);
    const cdr = await h.closedCdr();
    assert.equal(cdr.endReason, "operator test");
    assert.equal(cdr.hangupBy, "system");
    await h.channelsFreed("loadtest");
  });

  test("the PBX calls over TCP, the carrier is reached over UDP", async () => {
    const h = await harness.start();
    const gw = h.sipp("127.0.2.1", h.ports.gw1, "call-uas.xml");
    const pbx = h.sipp("127.0.4.1", 0, "call-uac.xml", { tcp: true });
    await h.completed([pbx, gw]);
    const cdr = await h.closedCdr();
    assert.equal(cdr.disposition, "answered");
    await h.channelsFreed("loadtest");
  });
});
