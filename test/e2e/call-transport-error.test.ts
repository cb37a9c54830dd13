// The transport-error ending: a gateway reached over TCP refuses the connection, the call layer
// sees the synthesized 503 (RFC 3261 8.1.3.1), fails over to the next gateway, and every channel
// taken for the failed attempt is released. With no gateway left the PBX gets a final error.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { freePort } from "../support/ports.ts";
import { callHarnessPerTest, skipWithoutSipp as skip } from "./call-harness.ts";
import type { Provisioning } from "../../src/domain/index.ts";

const harness = callHarnessPerTest();

/** Points alpha's first gateway at a TCP port nobody listens on. */
function refusingGateway(deadPort: number, keepSecond: boolean) {
  return (p: Provisioning): Provisioning => ({
    ...p,
    carriers: p.carriers.map((c) =>
      c.id !== "alpha"
        ? c
        : {
            ...c,
            gateways: [
              { ...c.gateways[0]!, uri: `sip:127.0.2.1:${deadPort};transport=tcp`, transport: "tcp" as const },
              ...(keepSecond ? c.gateways.slice(1) : []),
            ],
          },
    ),
    // Only alpha on +1, so a refused attempt with no second gateway ends the call.
    routes: p.routes.map((r) => (r.prefix === "1" || r.prefix === "+1" ? { ...r, carriers: r.carriers.filter((x) => x.carrierId === "alpha") } : r)),
  });
}

describe("transport errors", { skip }, () => {
  test("a refused TCP connection fails over to gateway 2 and releases the first attempt's channel", async () => {
    const deadPort = await freePort("127.0.2.1");
    const h = await harness.start(refusingGateway(deadPort, true));
    const gw2 = h.sipp("127.0.2.2", h.ports.gw2, "call-uas.xml");
    const pbx = h.sipp("127.0.4.1", 0, "call-uac.xml");
    await h.completed([pbx, gw2]);
    const cdr = await h.closedCdr();
    assert.equal(cdr.disposition, "answered");
    assert.deepEqual(
      cdr.attempts.map((x) => [x.gatewayId, x.outcome]),
      [["alpha-gw1", "transport-error"], ["alpha-gw2", "answered"]],
    );
    await h.channelsFreed("loadtest", "alpha");
  });

  test("with no gateway left the PBX gets a final error, the CDR says why, no channel is held", async () => {
    const deadPort = await freePort("127.0.2.1");
    const h = await harness.start(refusingGateway(deadPort, false));
    const pbx = h.sipp("127.0.4.1", 0, "call-uac-503.xml");
    await h.completed([pbx]);
    const cdr = await h.closedCdr();
    assert.equal(cdr.disposition, "failed");
    assert.deepEqual(cdr.attempts.map((x) => x.outcome), ["transport-error"]);
    await h.channelsFreed("loadtest", "alpha");
    assert.equal(h.layer.activeCalls().length, 0);
  });
});
