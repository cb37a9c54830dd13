// The transport-error ending: a gateway reached over TCP refuses the connection, the call layer
// sees the synthesized 503 (RFC 3261 8.1.3.1), fails over to the next gateway, and every channel
// taken for the failed attempt is released. With no gateway left the PBX gets a final error. A
// 2xx that cannot be acknowledged ends the call on both legs.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type Socket, connect } from "node:net";
import { freePort } from "../support/ports.ts";
import { pause, tcpServerPeer } from "../support/transport-peers.ts";
import { until } from "../support/until.ts";
import { callHarnessPerTest, skipWithoutSipp as skip } from "./call-harness.ts";
import type { Provisioning } from "../../src/domain/index.ts";

const harness = callHarnessPerTest();

/**
 * A carrier on TCP that takes the first INVITE, then closes that connection and stops listening,
 * and sends its 200 OK over a new connection to the top Via's sent-by (as a UAS does when the
 * request's connection is gone, RFC 3261 18.2.2). The ACK then has nowhere to go: the gateway
 * address refuses the connection it needs.
 */
async function vanishingCarrier(address: string): Promise<{ port: number; answered: Promise<void>; close(): Promise<void> }> {
  const peer = await tcpServerPeer(address);
  let back: Socket | undefined;
  const answered = (async () => {
    await until(() => peer.connections.length > 0, 10_000, "the INVITE's connection");
    const lines = (await peer.connections[0]!.reader.next(1, 10_000)).split("\r\n");
    assert.match(lines[0]!, /^INVITE /);
    const sentBy = /^via:\s*SIP\/2\.0\/TCP\s+([^;:\s]+):(\d+)/i.exec(lines.find((l) => /^via:/i.test(l))!)!;
    const sdp = ["v=0", `o=carrier 1 1 IN IP4 ${address}`, "s=-", `c=IN IP4 ${address}`, "t=0 0", "m=audio 40000 RTP/AVP 0", "a=rtpmap:0 PCMU/8000", ""].join("\r\n");
    const ok = [
      "SIP/2.0 200 OK",
      ...lines.filter((l) => /^(via|from|call-id|cseq):/i.test(l)),
      `${lines.find((l) => /^to:/i.test(l))!};tag=carrier1`,
      `Contact: <sip:carrier@${address}:${peer.port};transport=tcp>`,
      "Content-Type: application/sdp",
      `Content-Length: ${Buffer.byteLength(sdp)}`,
      "",
      sdp,
    ].join("\r\n");
    await peer.close();
    // Trunkline has seen the connection close by the time the answer comes on the new one.
    await pause(200);
    back = connect({ host: sentBy[1]!, port: Number(sentBy[2]), localAddress: address });
    back.on("error", () => back?.destroy());
    back.write(ok);
  })();
  return {
    port: peer.port,
    answered,
    close: async () => {
      back?.destroy();
      await peer.close();
    },
  };
}

/** Points alpha's first gateway at a TCP port (one nobody listens on, for a refusal); keepSecond keeps gateway 2 behind it. */
function alphaOverTcp(port: number, keepSecond: boolean) {
  return (p: Provisioning): Provisioning => ({
    ...p,
    carriers: p.carriers.map((c) =>
      c.id !== "alpha"
        ? c
        : {
            ...c,
            gateways: [
              { ...c.gateways[0]!, uri: `sip:127.0.2.1:${port};transport=tcp`, transport: "tcp" as const },
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
    const h = await harness.start(alphaOverTcp(deadPort, true));
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
    const h = await harness.start(alphaOverTcp(deadPort, false));
    const pbx = h.sipp("127.0.4.1", 0, "call-uac-503.xml");
    await h.completed([pbx]);
    const cdr = await h.closedCdr();
    assert.equal(cdr.disposition, "failed");
    assert.deepEqual(cdr.attempts.map((x) => x.outcome), ["transport-error"]);
    await h.channelsFreed("loadtest", "alpha");
    assert.equal(h.layer.activeCalls().length, 0);
  });

  test("a 2xx that cannot be acknowledged (the carrier's TCP address gone) ends the call on both legs and the CDR says why", async () => {
    const carrier = await vanishingCarrier("127.0.2.1");
    try {
      const h = await harness.start(alphaOverTcp(carrier.port, false));
      // The PBX is answered, then gets our BYE and answers it.
      const pbx = h.sipp("127.0.4.1", 0, "call-uac-wait-bye.xml");
      await Promise.all([h.completed([pbx]), carrier.answered]);
      const cdr = await h.closedCdr();
      assert.equal(cdr.disposition, "answered");
      assert.match(cdr.endReason ?? "", /ACK to the callee could not be sent/);
      assert.ok(
        cdr.trace.some((t) => t.step === "attempt" && t.result === "error" && /ACK to .* not sent/.test(t.detail)),
        JSON.stringify(cdr.trace),
      );
      await h.channelsFreed("loadtest", "alpha");
      assert.equal(h.layer.activeCalls().length, 0);
    } finally {
      await carrier.close();
    }
  });
});
