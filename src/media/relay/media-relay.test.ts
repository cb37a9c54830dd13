import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FakeClock } from "../../lib/index.ts";
import { type SessionDescription, parseSdp, readStreams, serializeSdp } from "../../sdp/index.ts";
import { isMediaRelayError } from "./errors.ts";
import { type MediaSessionEvent, createMediaRelay } from "./media-relay.ts";
import { rtcpRr, rtp, testPeer, until } from "../../../test/support/rtp-peer.ts";

function sdp(address: string, port: number, extra: readonly string[] = []): SessionDescription {
  const text = [
    "v=0",
    `o=- 1 1 IN IP4 ${address}`,
    "s=-",
    `c=IN IP4 ${address}`,
    "t=0 0",
    `m=audio ${port} RTP/AVP 0 8 101`,
    "a=rtpmap:101 telephone-event/8000",
    ...extra,
    "",
  ].join("\r\n");
  const parsed = parseSdp(text);
  if (!parsed.ok) throw new Error(`bad test SDP: ${parsed.error.code}`);
  return parsed.value;
}

describe("media relay (the call's media anchor)", () => {
  it("anchors an offer and its answer on the relay and relays between the endpoints they name", async () => {
    const relay = createMediaRelay({ address: "127.0.0.1", portMin: 31200, portMax: 31219, clock: new FakeClock() });
    const phone = await testPeer();
    const phoneRtcp = await testPeer();
    const gateway = await testPeer();
    try {
      const call = relay.createSession({ id: "call-1" });
      assert.equal(relay.session("call-1"), call);
      // RFC 3605 a=rtcp names the phone's RTCP port explicitly.
      const toGateway = await call.offer("a", sdp("127.0.0.1", phone.port, [`a=rtcp:${phoneRtcp.port}`]));
      const offered = readStreams(toGateway)[0]!;
      const legB = call.stream(0)!.leg("b").local;
      assert.equal(offered.address, "127.0.0.1");
      assert.equal(offered.port, legB.rtpPort);
      assert.equal(offered.rtcpPort, legB.rtcpPort);
      assert.match(serializeSdp(toGateway), /a=rtpmap:101 telephone-event\/8000/); // codecs untouched

      const toPhone = await call.answer("b", sdp("127.0.0.1", gateway.port));
      const answered = readStreams(toPhone)[0]!;
      const legA = call.stream(0)!.leg("a").local;
      assert.equal(answered.port, legA.rtpPort);
      call.start();

      await phone.send(rtp(1), answered.port);
      assert.deepEqual((await gateway.next()).msg, rtp(1));
      await gateway.send(rtp(2), offered.port);
      assert.deepEqual((await phone.next()).msg, rtp(2));
      await gateway.send(rtcpRr(), offered.rtcpPort);
      assert.deepEqual((await phoneRtcp.next()).msg, rtcpRr());
      const totals = call.totals();
      assert.equal(totals.a.packetsReceived, 1);
      assert.equal(totals.a.packetsSent, 2);
      assert.equal(call.quality(0)?.snapshot("a")?.packets, 1);
      assert.deepEqual(relay.activeSessions(), [call]);
    } finally {
      await Promise.all([phone.close(), phoneRtcp.close(), gateway.close()]);
      await relay.close();
    }
    assert.equal(relay.portsInUse(), 0);
    assert.equal(relay.activeSessions().length, 0);
  });

  it("re-INVITE to hold (a=sendonly) stops forwarding towards the holder", async () => {
    const relay = createMediaRelay({ address: "127.0.0.1", portMin: 31220, portMax: 31229, clock: new FakeClock() });
    const phone = await testPeer();
    const gateway = await testPeer();
    try {
      const call = relay.createSession();
      const toGateway = await call.offer("a", sdp("127.0.0.1", phone.port));
      const toPhone = await call.answer("b", sdp("127.0.0.1", gateway.port));
      const phonePort = readStreams(toPhone)[0]!.port;
      const gatewayPort = readStreams(toGateway)[0]!.port;
      // The phone holds: its re-offer says sendonly, so it will not receive.
      const reOffer = await call.offer("a", sdp("127.0.0.1", phone.port, ["a=sendonly"]));
      assert.equal(readStreams(reOffer)[0]!.port, gatewayPort); // same relay port across the re-INVITE
      await call.answer("b", sdp("127.0.0.1", gateway.port, ["a=recvonly"]));
      await gateway.send(rtp(1), gatewayPort);
      await until(() => call.stream(0)!.leg("b").stats.dropped.held === 1);
      await phone.send(rtp(2), phonePort);
      assert.deepEqual((await gateway.next()).msg, rtp(2));
      assert.equal(phone.pending(), 0);
    } finally {
      await Promise.all([phone.close(), gateway.close()]);
      await relay.close();
    }
  });

  it("fails with MEDIA_PORTS_EXHAUSTED when the range is full and leaks nothing", async () => {
    // Two pairs: one call's stream uses both.
    const relay = createMediaRelay({ address: "127.0.0.1", portMin: 31230, portMax: 31233 });
    try {
      const first = relay.createSession();
      await first.offer("a", sdp("127.0.0.1", 5000));
      assert.equal(relay.portsInUse(), 4);
      const second = relay.createSession();
      await assert.rejects(second.offer("a", sdp("127.0.0.1", 5002)), (e) => isMediaRelayError(e, "MEDIA_PORTS_EXHAUSTED"));
      assert.equal(relay.portsInUse(), 4);
      await second.close();
      await first.close();
      assert.equal(relay.portsInUse(), 0);
      assert.equal(relay.session(first.id), undefined);
      const third = relay.createSession();
      await third.offer("a", sdp("127.0.0.1", 5004)); // the freed ports serve again
      assert.equal(relay.portsInUse(), 4);
    } finally {
      await relay.close();
    }
  });

  it("frees a stream's ports when the answer rejects it (port 0)", async () => {
    const relay = createMediaRelay({ address: "127.0.0.1", portMin: 31240, portMax: 31249 });
    try {
      const call = relay.createSession();
      await call.offer("a", sdp("127.0.0.1", 5000));
      assert.equal(relay.portsInUse(), 4);
      const toPhone = await call.answer("b", sdp("127.0.0.1", 0));
      assert.equal(readStreams(toPhone)[0]!.rejected, true);
      assert.equal(call.stream(0), undefined);
      assert.equal(relay.portsInUse(), 0);
    } finally {
      await relay.close();
    }
  });

  it("reports media timeout per stream through the session", async () => {
    const clock = new FakeClock();
    const relay = createMediaRelay({ address: "127.0.0.1", portMin: 31250, portMax: 31259, clock, mediaTimeoutMs: 30_000, oneWayAfterMs: 0 });
    try {
      const call = relay.createSession();
      const events: MediaSessionEvent[] = [];
      call.on((e) => events.push(e));
      await call.offer("a", sdp("127.0.0.1", 5000));
      await call.answer("b", sdp("127.0.0.1", 5002));
      call.start();
      clock.advance(30_000);
      assert.deepEqual(events, [{ type: "media-timeout", idleMs: 30_000, stream: 0 }]);
    } finally {
      await relay.close();
    }
  });

  it("close() during an offer in flight still releases the ports it was allocating", async () => {
    const relay = createMediaRelay({ address: "127.0.0.1", portMin: 31270, portMax: 31279 });
    try {
      const call = relay.createSession();
      const offering = call.offer("a", sdp("127.0.0.1", 5000));
      // Let the offer reach the allocator (its binds wait on the event loop), then close.
      for (let i = 0; i < 5; i++) await Promise.resolve();
      const closing = call.close();
      await assert.rejects(offering, (e) => isMediaRelayError(e, "MEDIA_CLOSED"));
      await closing;
      assert.equal(relay.portsInUse(), 0);
      await assert.rejects(call.offer("a", sdp("127.0.0.1", 5000)), (e) => isMediaRelayError(e, "MEDIA_CLOSED"));
    } finally {
      await relay.close();
    }
  });

  it("anchors on IPv6 with an IP6 connection line", async () => {
    const relay = createMediaRelay({ address: "::1", portMin: 31280, portMax: 31289 });
    try {
      const call = relay.createSession();
      const out = await call.offer("a", sdp("127.0.0.1", 5000));
      assert.match(serializeSdp(out), /c=IN IP6 ::1/);
      assert.equal(readStreams(out)[0]!.port, call.stream(0)!.leg("b").local.rtpPort);
    } finally {
      await relay.close();
    }
  });

  it("rejects duplicate ids and use after close", async () => {
    const relay = createMediaRelay({ address: "127.0.0.1", portMin: 31260, portMax: 31263 });
    relay.createSession({ id: "x" });
    assert.throws(() => relay.createSession({ id: "x" }), (e) => isMediaRelayError(e, "MEDIA_BAD_OPTIONS"));
    await relay.close();
    assert.throws(() => relay.createSession(), (e) => isMediaRelayError(e, "MEDIA_CLOSED"));
  });
});
