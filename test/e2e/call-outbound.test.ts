// Outbound calls (PBX -> carrier) through the B2BUA with real SIPp on both sides: digest
// authentication, answer and hang-up, failover on 503 and on no answer, no failover on 486, a
// carrier's 401 answered. Each test asserts the SIP exchange (SIPp's verdict), the CDR and that
// every channel is back to 0.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { callHarnessPerTest, skipWithoutSipp as skip } from "./call-harness.ts";

const harness = callHarnessPerTest();

function steps(cdr: { trace: readonly { step: string }[] }): string[] {
  return cdr.trace.map((t) => t.step);
}

describe("outbound calls", { skip }, () => {
  test("PBX with digest: 407, INVITE with credentials, answered by gateway 1, PBX hangs up", async () => {
    const h = await harness.start();
    const gw = h.sipp("127.0.2.1", h.ports.gw1, "call-uas.xml");
    const pbx = h.sipp("127.0.1.1", 0, "call-uac-auth.xml", { service: "+15551230001" });
    await h.completed([pbx, gw]);
    const cdr = await h.closedCdr();
    assert.equal(cdr.direction, "outbound");
    assert.equal(cdr.customerId, "acme");
    assert.equal(cdr.carrierId, "alpha");
    assert.equal(cdr.disposition, "answered");
    assert.equal(cdr.finalStatus, 200);
    assert.equal(cdr.hangupBy, "caller");
    assert.equal(cdr.q850Cause, 16);
    assert.equal(cdr.calleeE164, "+15551230001");
    assert.equal(cdr.attempts.length, 1);
    assert.equal(cdr.attempts[0]?.gatewayId, "alpha-gw1");
    assert.equal(cdr.attempts[0]?.outcome, "answered");
    assert.ok(cdr.durationMs > 0);
    assert.equal(cdr.ratePerMinute, 0.01);
    assert.ok(cdr.cost !== null && cdr.cost > 0);
    assert.deepEqual(
      steps(cdr).filter((s, i, all) => all.indexOf(s) === i),
      ["identify", "authenticate", "cps", "channels", "normalize", "destination", "caller-id", "route", "fraud", "attempt", "answer", "end"],
    );
    assert.match(cdr.trace.find((t) => t.step === "authenticate")?.detail ?? "", /digest MD5 verified for acme/);
    await h.channelsFreed("acme", "alpha");
    assert.equal(h.layer.activeCalls().length, 0);
  });

  test("failover: gateway 1 answers 503, gateway 2 answers; the PBX hangs up", async () => {
    const h = await harness.start();
    const gw1 = h.sipp("127.0.2.1", h.ports.gw1, "call-uas-503.xml");
    const gw2 = h.sipp("127.0.2.2", h.ports.gw2, "call-uas.xml");
    const pbx = h.sipp("127.0.4.1", 0, "call-uac.xml");
    await h.completed([pbx, gw1, gw2]);
    const cdr = await h.closedCdr();
    assert.equal(cdr.customerId, "loadtest");
    assert.equal(cdr.disposition, "answered");
    assert.deepEqual(cdr.attempts.map((x) => [x.gatewayId, x.outcome, x.status]), [["alpha-gw1", "response", 503], ["alpha-gw2", "answered", 200]]);
    assert.match(cdr.trace.find((t) => t.step === "failover")?.detail ?? "", /503 is a failover code/);
    await h.channelsFreed("loadtest", "alpha");
  });

  test("failover on timeout: gateway 1 never answers, the attempt is abandoned and gateway 2 answers", async () => {
    const h = await harness.start();
    const gw1 = h.sipp("127.0.2.1", h.ports.gw1, "call-uas-silent.xml");
    const gw2 = h.sipp("127.0.2.2", h.ports.gw2, "call-uas.xml");
    const pbx = h.sipp("127.0.4.1", 0, "call-uac.xml");
    // The silent gateway's own verdict does not matter: it only has to stay silent.
    await Promise.all([h.completed([pbx, gw2]), gw1.done()]);
    const cdr = await h.closedCdr();
    assert.equal(cdr.disposition, "answered");
    assert.deepEqual(cdr.attempts.map((x) => [x.gatewayId, x.outcome]), [["alpha-gw1", "timeout"], ["alpha-gw2", "answered"]]);
    assert.match(cdr.trace.find((t) => t.step === "failover")?.detail ?? "", /no response within 1000 ms/);
    await h.channelsFreed("loadtest", "alpha");
  });

  test("no failover on 486: the caller gets 486 and gateway 2 is never tried", async () => {
    const h = await harness.start();
    const gw1 = h.sipp("127.0.2.1", h.ports.gw1, "call-uas-486.xml");
    const pbx = h.sipp("127.0.4.1", 0, "call-uac-486.xml");
    await h.completed([pbx, gw1]);
    const cdr = await h.closedCdr();
    assert.equal(cdr.disposition, "busy");
    assert.equal(cdr.finalStatus, 486);
    assert.equal(cdr.q850Cause, 17);
    assert.equal(cdr.hangupBy, "callee");
    assert.equal(cdr.attempts.length, 1);
    assert.match(cdr.trace.find((t) => t.step === "failover")?.detail ?? "", /486 is a definite answer; no failover/);
    await h.channelsFreed("loadtest", "alpha");
  });

  test("a carrier's 401 is answered once with its credentials and the call goes through", async () => {
    const h = await harness.start();
    const gw1 = h.sipp("127.0.2.1", h.ports.gw1, "call-uas-401.xml");
    const pbx = h.sipp("127.0.4.1", 0, "call-uac.xml");
    await h.completed([pbx, gw1]);
    const cdr = await h.closedCdr();
    assert.equal(cdr.disposition, "answered");
    assert.equal(cdr.attempts.length, 1);
    assert.match(cdr.trace.map((t) => t.detail).join("\n"), /401 challenge from alpha\/alpha-gw1 .* answered as alpha-user/);
    await h.channelsFreed("alpha");
  });
});
