// The transport-error ending: a gateway reached over TCP refuses the connection, the call layer
// sees the synthesized 503 (RFC 3261 8.1.3.1), fails over to the next gateway, and every channel
// taken for the failed attempt is released. With no gateway left the PBX gets a final error. A
// 2xx that cannot be acknowledged ends the call on both legs.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type Server, type Socket, connect, createServer } from "node:net";
import { freePort } from "../support/ports.ts";
import { callHarnessPerTest, skipWithoutSipp as skip } from "./call-harness.ts";
import type { Provisioning } from "../../src/domain/index.ts";

const harness = callHarnessPerTest();

/**
 * A carrier on TCP that takes the first INVITE, then closes that connection and stops listening,
 * and sends its 200 OK over a new connection to the top Via's sent-by (as a UAS does when the
 * request's connection is gone, RFC 3261 18.2.2). The ACK then has nowhere to go: the gateway
 * address refuses the connection it needs.
 */
async function vanishingCarrier(address: string): Promise<{ port: number; invites: () => number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let invites = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    let pending = "";
    socket.on("data", (chunk) => {
      pending += chunk.toString("latin1");
      const headEnd = pending.indexOf("\r\n\r\n");
      if (headEnd < 0) return;
      const head = pending.slice(0, headEnd);
      const length = Number(/^content-length:\s*(\d+)/im.exec(head)?.[1] ?? 0);
      if (pending.length < headEnd + 4 + length || !head.startsWith("INVITE ") || invites > 0) return;
      invites++;
      const lines = head.split("\r\n");
      const sentBy = /^via:\s*SIP\/2\.0\/TCP\s+([^;:\s]+):(\d+)/i.exec(lines.find((l) => /^via:/i.test(l))!)!;
      const sdp = ["v=0", `o=carrier 1 1 IN IP4 ${address}`, "s=-", `c=IN IP4 ${address}`, "t=0 0", "m=audio 40000 RTP/AVP 0", "a=rtpmap:0 PCMU/8000", ""].join("\r\n");
      const ok = [
        "SIP/2.0 200 OK",
        ...lines.filter((l) => /^(via|from|call-id|cseq):/i.test(l)),
        `${lines.find((l) => /^to:/i.test(l))!};tag=carrier1`,
        `Contact: <sip:carrier@${address}:${port};transport=tcp>`,
        "Content-Type: application/sdp",
        `Content-Length: ${Buffer.byteLength(sdp)}`,
        "",
        sdp,
      ].join("\r\n");
      socket.end();
      server.close();
      // Trunkline has seen the connection close by the time the answer comes on the new one.
      setTimeout(() => {
        const back = connect({ host: sentBy[1]!, port: Number(sentBy[2]), localAddress: address }, () => back.write(ok));
        back.on("error", () => back.destroy());
        sockets.add(back);
      }, 200);
    });
    socket.on("error", () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    invites: () => invites,
    close: async () => {
      for (const s of sockets) s.destroy();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
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
      await h.completed([pbx]);
      const cdr = await h.closedCdr();
      assert.equal(carrier.invites(), 1);
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
