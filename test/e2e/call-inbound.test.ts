// Inbound calls (carrier -> PBX) through the B2BUA with real SIPp: delivery to a static PBX, to a
// registered PBX (binding inserted in the repository), failover to the customer's failover URI
// when the PBX does not answer, unknown DID (404) and unregistered customer (480).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { freePort } from "../support/ports.ts";
import { callHarnessPerTest, skipWithoutSipp as skip } from "./call-harness.ts";

const harness = callHarnessPerTest();

describe("inbound calls", { skip }, () => {
  test("a DID of acme is delivered to its static PBX; the carrier hangs up", async () => {
    const h = await harness.start();
    const pbx = h.sipp("127.0.1.1", h.ports.pbx, "call-uas.xml");
    const carrier = h.sipp("127.0.2.1", 0, "call-uac.xml", { service: "+15550100001", caller: "+15551239999" });
    await h.completed([carrier, pbx]);
    const cdr = await h.closedCdr();
    assert.equal(cdr.direction, "inbound");
    assert.equal(cdr.carrierId, "alpha");
    assert.equal(cdr.customerId, "acme");
    assert.equal(cdr.calleeE164, "+15550100001");
    assert.equal(cdr.callerE164, "+15551239999");
    assert.equal(cdr.disposition, "answered");
    assert.equal(cdr.hangupBy, "caller");
    assert.equal(cdr.attempts[0]?.target.startsWith("acme static sip:+15550100001@127.0.1.1:"), true);
    assert.deepEqual(
      cdr.trace.map((t) => t.step).filter((s, i, all) => all.indexOf(s) === i),
      ["identify", "did", "cps", "channels", "delivery", "attempt", "answer", "end"],
    );
    await h.channelsFreed("acme", "alpha");
  });

  test("a DID of globex goes to its registered contact (binding in the repository)", async () => {
    const h = await harness.start();
    const port = await freePort("127.0.5.1");
    await h.bindings.upsert({
      aor: "sip:globex@trunkline.test",
      contact: `sip:globex@127.0.5.1:${port}`,
      expiresAt: Date.now() + 60_000,
      receivedFrom: { address: "127.0.5.1", port, transport: "udp" },
      callId: "reg-1",
      cseq: 1,
    });
    const pbx = h.sipp("127.0.5.1", port, "call-uas.xml");
    const carrier = h.sipp("127.0.3.1", 0, "call-uac.xml", { service: "15550200007", caller: "15551239999" });
    await h.completed([carrier, pbx]);
    const cdr = await h.closedCdr();
    assert.equal(cdr.carrierId, "beta");
    assert.equal(cdr.customerId, "globex");
    assert.equal(cdr.calleeE164, "+15550200007");
    assert.equal(cdr.disposition, "answered");
    assert.equal(cdr.attempts[0]?.target, `globex registration sip:globex@127.0.5.1:${port}`);
    assert.match(cdr.trace.find((t) => t.step === "registration")?.detail ?? "", /1 registered contact/);
    await h.channelsFreed("globex", "beta");
  });

  test("two registered contacts ring in parallel: the first 200 wins, the other is cancelled", async () => {
    const h = await harness.start();
    const ringing = await freePort("127.0.5.1");
    const answering = await freePort("127.0.5.2");
    for (const [address, port] of [["127.0.5.1", ringing], ["127.0.5.2", answering]] as const) {
      await h.bindings.upsert({
        aor: "sip:globex@trunkline.test",
        contact: `sip:globex@${address}:${port}`,
        expiresAt: Date.now() + 60_000,
        receivedFrom: { address, port, transport: "udp" },
        callId: `reg-${address}`,
        cseq: 1,
      });
    }
    const pbx1 = h.sipp("127.0.5.1", ringing, "call-uas-cancelled.xml");
    const pbx2 = h.sipp("127.0.5.2", answering, "call-uas.xml");
    const carrier = h.sipp("127.0.3.1", 0, "call-uac.xml", { service: "15550200008", caller: "15551239999" });
    await h.completed([carrier, pbx1, pbx2]);
    const cdr = await h.closedCdr();
    assert.equal(cdr.disposition, "answered");
    assert.deepEqual(cdr.attempts.map((x) => [x.target.replace(/:\d+$/, ""), x.outcome]).sort(), [
      ["globex registration sip:globex@127.0.5.1", "cancelled"],
      ["globex registration sip:globex@127.0.5.2", "answered"],
    ]);
    assert.ok(cdr.trace.some((t) => t.step === "fork"));
    await h.channelsFreed("globex", "beta");
  });

  test("the PBX does not answer: the call goes to acme's failover URI", async () => {
    const h = await harness.start();
    const failover = h.sipp("127.0.1.2", h.ports.pbxFailover, "call-uas.xml");
    const carrier = h.sipp("127.0.2.1", 0, "call-uac.xml", { service: "+15550100002", caller: "+15551239999" });
    await h.completed([carrier, failover]);
    const cdr = await h.closedCdr();
    assert.equal(cdr.disposition, "answered");
    assert.deepEqual(cdr.attempts.map((x) => [x.target.split(" ")[1], x.outcome]), [["static", "timeout"], ["failover", "answered"]]);
    await h.channelsFreed("acme", "alpha");
  });

  test("every URI of acme fails: the call is forwarded to its forward-to number through outbound routing", async () => {
    const h = await harness.start((p) => ({
      ...p,
      customers: p.customers.map((c) => (c.id === "acme" ? { ...c, failover: { ...c.failover, uris: [], forwardTo: "+15551230002" } } : c)),
    }));
    const gw = h.sipp("127.0.2.1", h.ports.gw1, "call-uas.xml");
    const carrier = h.sipp("127.0.3.1", 0, "call-uac.xml", { service: "15550100003", caller: "15551239999" });
    await h.completed([carrier, gw]);
    const cdr = await h.closedCdr();
    assert.equal(cdr.disposition, "answered");
    assert.equal(cdr.carrierId, "beta", "the carrier the call came from");
    assert.equal(cdr.attempts[1]?.carrierId, "alpha", "the carrier of the forward leg");
    assert.deepEqual(cdr.attempts.map((x) => [x.gatewayId, x.outcome]), [[null, "timeout"], ["alpha-gw1", "answered"]]);
    assert.ok(cdr.trace.some((t) => t.step === "forward"));
    await h.channelsFreed("acme", "alpha", "beta");
  });

  test("an unknown DID is refused with 404 and a refused CDR", async () => {
    const h = await harness.start();
    const carrier = h.sipp("127.0.2.1", 0, "call-uac-404.xml", { service: "+15559990000", caller: "+15551239999" });
    await h.completed([carrier]);
    const cdr = await h.closedCdr();
    assert.equal(cdr.disposition, "refused");
    assert.equal(cdr.finalStatus, 404);
    assert.equal(cdr.q850Cause, 1);
    assert.deepEqual(cdr.trace.map((t) => [t.step, t.result]), [["identify", "pass"], ["did", "refuse"], ["end", "refuse"]]);
    await h.channelsFreed("alpha");
  });

  test("a registration-mode customer with no binding gets 480", async () => {
    const h = await harness.start();
    const carrier = h.sipp("127.0.2.1", 0, "call-uac-480.xml", { service: "+15550200001", caller: "+15551239999" });
    await h.completed([carrier]);
    const cdr = await h.closedCdr();
    assert.equal(cdr.disposition, "refused");
    assert.equal(cdr.finalStatus, 480);
    await h.channelsFreed("globex", "alpha");
  });
});
