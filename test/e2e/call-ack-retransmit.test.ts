// A held call keeps what rebuilds the ACK of its answered INVITE, not the ACK itself: when the
// carrier retransmits its 2xx (its ACK got lost, RFC 3261 13.3.1.4), the ACK it gets again must be
// the same request, byte for byte (same branch, CSeq, Request-URI and Route). The PBX is SIPp;
// the carrier is a raw UDP socket here, so the test can send the 2xx twice and compare the ACKs.
import { afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { haveSipp } from "../support/sipp.ts";
import { stopAll } from "../support/processes.ts";
import { startCallHarness, until, type CallHarness } from "./call-harness.ts";

const skip = haveSipp() ? false : "sipp is not installed";
let h: CallHarness | undefined;
let carrier: Socket | undefined;

afterEach(async () => {
  await stopAll();
  carrier?.close();
  carrier = undefined;
  await h?.stop();
  h = undefined;
});

/** The header lines of a request that a response copies (RFC 3261 8.2.6.2). */
function copied(text: string): string[] {
  return text.split("\r\n").filter((l) => /^(Via|v|From|f|To|t|Call-ID|i|CSeq):/i.test(l));
}

function answer(request: string, status: string, port: number, withTag: boolean): string {
  const body = "v=0\r\no=gw 1 1 IN IP4 127.0.2.1\r\ns=-\r\nc=IN IP4 127.0.2.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
  const headers = copied(request).map((l) => (withTag && /^(To|t):/i.test(l) && !/;tag=/i.test(l) ? `${l};tag=gw-tag-1` : l));
  const sdp = status.startsWith("200 OK") && /^INVITE /.test(request);
  return [
    `SIP/2.0 ${status}`,
    ...headers,
    `Contact: <sip:gw@127.0.2.1:${port}>`,
    ...(sdp ? ["Content-Type: application/sdp", `Content-Length: ${Buffer.byteLength(body)}`, "", body] : ["Content-Length: 0", "", ""]),
  ].join("\r\n");
}

describe("ACK for a retransmitted 2xx", { skip }, () => {
  test("the carrier's retransmitted 200 gets the same ACK again, byte for byte", async () => {
    h = await startCallHarness();
    const port = h.ports.gw1;
    const acks: string[] = [];
    let ok200: Buffer | undefined;
    const sock = createSocket("udp4");
    carrier = sock;
    sock.on("message", (data, from) => {
      const text = data.toString("utf8");
      const reply = (s: string): void => {
        sock.send(Buffer.from(s), from.port, from.address);
      };
      if (text.startsWith("INVITE ")) {
        ok200 ??= Buffer.from(answer(text, "200 OK", port, true));
        sock.send(ok200, from.port, from.address);
      } else if (text.startsWith("ACK ")) {
        acks.push(text);
        // The first ACK arrived: our 2xx is sent again as if that ACK had been lost.
        if (acks.length === 1 && ok200 !== undefined) sock.send(ok200, from.port, from.address);
      } else if (text.startsWith("BYE ")) {
        reply(answer(text, "200 OK", port, false));
      }
    });
    await new Promise<void>((resolve) => sock.bind(port, "127.0.2.1", resolve));
    const pbx = h.sipp("127.0.4.1", 0, "call-uac.xml", { pauseMs: 1500 });
    const a = await pbx.done();
    assert.equal(a.stats.successful, 1, a.output.slice(-1500) + "\n" + h.logLines.join("\n"));
    await until(() => acks.length >= 2);
    assert.equal(acks.length, 2, "one ACK for each 200");
    assert.equal(acks[1], acks[0]);
    assert.match(acks[0] ?? "", /^CSeq: 1 ACK$/m);
    assert.match(acks[0] ?? "", /^Via: .*;branch=z9hG4bK/m);
    const [cdr] = await h.cdrs.waitClosed(1);
    assert.equal(cdr?.disposition, "answered");
  });
  test("after the call ended, a retransmitted 200 still gets the same ACK (the ended call is let go, its INVITE transaction is not)", async () => {
    h = await startCallHarness();
    const port = h.ports.gw1;
    const acks: string[] = [];
    let ok200: Buffer | undefined;
    let byeSeen = false;
    let inviteFrom: { port: number; address: string } | undefined;
    const sock = createSocket("udp4");
    carrier = sock;
    sock.on("message", (data, from) => {
      const text = data.toString("utf8");
      if (text.startsWith("INVITE ")) {
        inviteFrom = { port: from.port, address: from.address };
        ok200 ??= Buffer.from(answer(text, "200 OK", port, true));
        sock.send(ok200, from.port, from.address);
      } else if (text.startsWith("ACK ")) {
        acks.push(text);
      } else if (text.startsWith("BYE ")) {
        byeSeen = true;
        sock.send(Buffer.from(answer(text, "200 OK", port, false)), from.port, from.address);
      }
    });
    await new Promise<void>((resolve) => sock.bind(port, "127.0.2.1", resolve));
    const pbx = h.sipp("127.0.4.1", 0, "call-uac.xml", { pauseMs: 200 });
    const a = await pbx.done();
    assert.equal(a.stats.successful, 1, a.output.slice(-1500) + "\n" + h.logLines.join("\n"));
    const [cdr] = await h.cdrs.waitClosed(1);
    assert.equal(cdr?.disposition, "answered");
    await until(() => byeSeen && acks.length >= 1);
    assert.equal(acks.length, 1);
    // The call is over; the carrier sends its 200 again, as if our ACK had been lost.
    assert.ok(ok200 !== undefined && inviteFrom !== undefined);
    sock.send(ok200, inviteFrom.port, inviteFrom.address);
    await until(() => acks.length >= 2);
    assert.equal(acks.length, 2, `the repeated 200 was not acknowledged after the call ended\n${h.logLines.join("\n")}`);
    assert.equal(acks[1], acks[0]);
  });
});
