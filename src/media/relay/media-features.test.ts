import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FakeClock } from "../../lib/index.ts";
import { type SessionDescription, formatCrypto, readStreams, serializeSdp } from "../../sdp/index.ts";
import { DtmfReceiver, dtmfPacketSequence, marshalDtmfEvent, parseDtmfEvent } from "../dtmf-event.ts";
import { ALAW_TO_LINEAR, ALAW_TO_ULAW, ULAW_TO_ALAW } from "../g711.ts";
import { ntpMiddle32 } from "../quality.ts";
import { marshalRtcpCompound, parseRtcpCompound, rtcpCompoundSize } from "../rtcp-compound.ts";
import { parseRtpPacket } from "../rtp-packet.ts";
import { generateSrtpMasterKey, sdesCryptoAttribute, sdesKeyOf } from "../sdes-key.ts";
import { type SrtpContext, type SrtpMasterKey, createSrtpContext } from "../srtp.ts";
import { isMediaRelayError } from "./errors.ts";
import { type MediaSessionEvent, createMediaRelay } from "./media-relay.ts";
import { type TestPeer, TE101, audioSdp as sdp, rtcpRr, rtp, settle, testPeer, until } from "../../../test/support/rtp-peer.ts";

const PROFILE = "AES_CM_128_HMAC_SHA1_80";

function ctx(key: SrtpMasterKey): SrtpContext {
  const c = createSrtpContext(PROFILE, key);
  if (!c.ok) throw new Error(c.error);
  return c.value;
}

function protect(c: SrtpContext, packet: Buffer): Buffer {
  const out = Buffer.alloc(packet.length + 10);
  const r = c.protectRtp(packet, out);
  if (!r.ok) throw new Error(r.error);
  return out;
}

function unprotect(c: SrtpContext, packet: Buffer): Buffer {
  const out = Buffer.alloc(packet.length);
  const r = c.unprotectRtp(packet, out);
  if (!r.ok) throw new Error(r.error);
  return out.subarray(0, r.value);
}

/** The relay's key as the SDP it sent names it. */
function relayKey(body: SessionDescription): SrtpMasterKey {
  const crypto = readStreams(body)[0]!.crypto[0];
  assert.ok(crypto !== undefined, "an a=crypto line");
  const k = sdesKeyOf(crypto);
  if (!k.ok) throw new Error(k.error);
  return k.value.key;
}

/** One RFC 4733 event as packets, as a phone would send it. */
function eventPackets(event: number, durationUnits: number, seq0: number, timestamp: number, pt = 101): Buffer[] {
  return dtmfPacketSequence({ event, timestamp, duration: durationUnits }).map((step, i) => {
    const b = rtp(seq0 + i, { pt, timestamp: step.timestamp, size: 16 });
    if (step.marker) b[1] = b[1]! | 0x80;
    marshalDtmfEvent(step.payload, b, 12);
    return b;
  });
}

async function peers(n: number): Promise<TestPeer[]> {
  return Promise.all(Array.from({ length: n }, () => testPeer()));
}

describe("media features: SRTP, transcoding, DTMF interworking, quality", () => {
  it("terminates SRTP on the PBX leg and sends plain RTP to an RTP-only carrier, both ways", async () => {
    const relay = createMediaRelay({ address: "127.0.0.1", portMin: 31400, portMax: 31409, clock: new FakeClock() });
    const [phone, gateway] = await peers(2);
    try {
      const call = relay.createSession({ legs: { a: { srtp: "required", dtmf: "rfc4733" }, b: { srtp: "off", dtmf: "rfc4733" } } });
      const phoneKey = generateSrtpMasterKey();
      const crypto = `a=crypto:${formatCrypto(sdesCryptoAttribute(1, PROFILE, phoneKey))}`;
      const toGateway = await call.offer("a", sdp(phone!.port, "0 101", [...TE101, crypto, "a=rtcp-mux"], "RTP/SAVP"));
      assert.equal(toGateway.media[0]!.protocol, "RTP/AVP");
      assert.doesNotMatch(serializeSdp(toGateway), /a=crypto/);
      const toPhone = await call.answer("b", sdp(gateway!.port, "0 101", [...TE101, "a=rtcp-mux"]));
      assert.equal(toPhone.media[0]!.protocol, "RTP/SAVP");
      assert.match(serializeSdp(toPhone), /a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:/);
      const ourKey = relayKey(toPhone);
      assert.notDeepEqual(Buffer.from(ourKey.key), Buffer.from(phoneKey.key)); // a fresh key per direction
      const phoneSend = ctx(phoneKey);
      const phoneRecv = ctx(ourKey);
      const relayForPhone = readStreams(toPhone)[0]!.port;
      const relayForGateway = readStreams(toGateway)[0]!.port;

      await phone!.send(protect(phoneSend, rtp(1)), relayForPhone);
      assert.deepEqual((await gateway!.next()).msg, rtp(1));
      await gateway!.send(rtp(2, { ssrc: 0x55 }), relayForGateway);
      assert.deepEqual(unprotect(phoneRecv, (await phone!.next()).msg), rtp(2, { ssrc: 0x55 }));

      // SRTCP from the phone leaves the relay as plain RTCP.
      const srtcp = Buffer.alloc(8 + 14);
      assert.ok(phoneSend.protectRtcp(rtcpRr(), srtcp).ok);
      await phone!.send(srtcp, relayForPhone);
      assert.deepEqual((await gateway!.next()).msg, rtcpRr());

      // A tampered packet fails authentication: counted, never forwarded.
      const tampered = protect(phoneSend, rtp(3));
      tampered[20] = tampered[20]! ^ 0x01;
      await phone!.send(tampered, relayForPhone);
      await until(() => call.stream(0)!.leg("a").stats.dropped.srtp === 1);
      await phone!.send(protect(phoneSend, rtp(4)), relayForPhone);
      assert.deepEqual((await gateway!.next()).msg, rtp(4)); // the next datagram is 4, not the tampered 3
      assert.equal(call.qualityReport()!.a.srtp, true);
      assert.equal(call.qualityReport()!.b.srtp, false);

      // A re-INVITE with the same key keeps both contexts, so the streams continue (ROC, replay window).
      await call.offer("a", sdp(phone!.port, "0 101", [...TE101, crypto, "a=rtcp-mux"], "RTP/SAVP"));
      const again = await call.answer("b", sdp(gateway!.port, "0 101", [...TE101, "a=rtcp-mux"]));
      assert.deepEqual(Buffer.from(relayKey(again).key), Buffer.from(ourKey.key));
      await gateway!.send(rtp(5, { ssrc: 0x55 }), relayForGateway);
      assert.deepEqual(unprotect(phoneRecv, (await phone!.next()).msg), rtp(5, { ssrc: 0x55 }));
      await phone!.send(protect(phoneSend, rtp(6)), relayForPhone);
      assert.deepEqual((await gateway!.next()).msg, rtp(6));
    } finally {
      await Promise.all([phone!.close(), gateway!.close()]);
      await relay.close();
    }
  });

  it("offers SRTP to a carrier that requires it and relays its AES_CM_128_HMAC_SHA1_32 media to a plain PBX", async () => {
    const relay = createMediaRelay({ address: "127.0.0.1", portMin: 31460, portMax: 31469, clock: new FakeClock() });
    const [phone, gateway] = await peers(2);
    try {
      const call = relay.createSession({ legs: { a: { srtp: "off", dtmf: "rfc4733" }, b: { srtp: "required", dtmf: "rfc4733" } } });
      const toGateway = await call.offer("a", sdp(phone!.port, "0"));
      assert.equal(toGateway.media[0]!.protocol, "RTP/SAVP");
      const offered = readStreams(toGateway)[0]!.crypto;
      assert.deepEqual(offered.map((c) => [c.tag, c.suite]), [[1, "AES_CM_128_HMAC_SHA1_80"], [2, "AES_CM_128_HMAC_SHA1_32"]]);
      const k32 = sdesKeyOf(offered[1]!);
      assert.ok(k32.ok);
      const gatewayKey = generateSrtpMasterKey();
      const answerCrypto = `a=crypto:${formatCrypto(sdesCryptoAttribute(2, "AES_CM_128_HMAC_SHA1_32", gatewayKey))}`;
      // Without a crypto line the answer is refused; with one, the call goes on.
      await assert.rejects(call.answer("b", sdp(gateway!.port, "0")), (e) => isMediaRelayError(e, "MEDIA_SRTP_REQUIRED"));
      const toPhone = await call.answer("b", sdp(gateway!.port, "0", [answerCrypto], "RTP/SAVP"));
      assert.equal(toPhone.media[0]!.protocol, "RTP/AVP");
      assert.doesNotMatch(serializeSdp(toPhone), /a=crypto/);
      const send32 = createSrtpContext("AES_CM_128_HMAC_SHA1_32", gatewayKey);
      const recv32 = createSrtpContext("AES_CM_128_HMAC_SHA1_32", k32.value.key);
      assert.ok(send32.ok && recv32.ok);
      const srtp = Buffer.alloc(172 + 4);
      assert.ok(send32.value.protectRtp(rtp(9, { ssrc: 3 }), srtp).ok);
      await gateway!.send(srtp, readStreams(toGateway)[0]!.port);
      assert.deepEqual((await phone!.next()).msg, rtp(9, { ssrc: 3 }));
      await phone!.send(rtp(1), readStreams(toPhone)[0]!.port);
      const wire = (await gateway!.next()).msg;
      assert.equal(wire.length, 172 + 4);
      const clear = Buffer.alloc(wire.length);
      const r = recv32.value.unprotectRtp(wire, clear);
      assert.ok(r.ok);
      assert.deepEqual(clear.subarray(0, r.value), rtp(1));
    } finally {
      await Promise.all([phone!.close(), gateway!.close()]);
      await relay.close();
    }
  });

  it("transcodes PCMU on one leg to PCMA on the other and remaps telephone-event numbers", async () => {
    const relay = createMediaRelay({ address: "127.0.0.1", portMin: 31410, portMax: 31419, clock: new FakeClock() });
    const [phone, gateway] = await peers(2);
    try {
      const call = relay.createSession();
      const toGateway = await call.offer("a", sdp(phone!.port, "0 101", TE101), { allow: [{ name: "PCMA" }, { name: "telephone-event" }] });
      assert.deepEqual(toGateway.media[0]!.formats, ["8", "101"]);
      const toPhone = await call.answer("b", sdp(gateway!.port, "8 96", ["a=rtpmap:96 telephone-event/8000"]));
      assert.deepEqual(toPhone.media[0]!.formats, ["0", "101"]);
      const relayForPhone = readStreams(toPhone)[0]!.port;
      const relayForGateway = readStreams(toGateway)[0]!.port;

      await phone!.send(rtp(1, { pt: 0, fill: 0x9c }), relayForPhone);
      const toB = parseRtpPacket((await gateway!.next()).msg);
      assert.ok(toB.ok);
      assert.equal(toB.value.payloadType, 8);
      assert.ok(toB.value.payload.every((o) => o === ULAW_TO_ALAW[0x9c]));

      await gateway!.send(rtp(1, { pt: 8, fill: 0x2a, ssrc: 7 }), relayForGateway);
      const toA = parseRtpPacket((await phone!.next()).msg);
      assert.ok(toA.ok);
      assert.equal(toA.value.payloadType, 0);
      assert.ok(toA.value.payload.every((o) => o === ALAW_TO_ULAW[0x2a]));

      const [event] = eventPackets(5, 800, 2, 320);
      await phone!.send(event!, relayForPhone);
      const te = parseRtpPacket((await gateway!.next()).msg);
      assert.ok(te.ok);
      assert.equal(te.value.payloadType, 96);
      assert.deepEqual(te.value.payload, event!.subarray(12)); // events are not audio: untouched
    } finally {
      await Promise.all([phone!.close(), gateway!.close()]);
      await relay.close();
    }
  });

  it("turns RFC 4733 digits from an rfc4733 leg into one dtmf event for an info leg, and sends none on", async () => {
    const relay = createMediaRelay({ address: "127.0.0.1", portMin: 31420, portMax: 31429, clock: new FakeClock() });
    const [phone, gateway] = await peers(2);
    try {
      const call = relay.createSession({ legs: { b: { srtp: "off", dtmf: "info" } } });
      const events: MediaSessionEvent[] = [];
      call.on((e) => events.push(e));
      const toGateway = await call.offer("a", sdp(phone!.port, "0 101", TE101));
      assert.deepEqual(toGateway.media[0]!.formats, ["0"]); // the INFO leg is not offered events
      const toPhone = await call.answer("b", sdp(gateway!.port, "0"));
      assert.deepEqual(toPhone.media[0]!.formats, ["0", "101"]); // the RFC 4733 leg keeps them
      const relayForPhone = readStreams(toPhone)[0]!.port;
      await phone!.send(rtp(9), relayForPhone);
      assert.deepEqual((await gateway!.next()).msg, rtp(9));
      const packets = eventPackets(5, 800, 10, 1600);
      for (const p of packets) await phone!.send(p, relayForPhone);
      await until(() => call.stream(0)!.leg("a").stats.dropped.filtered === packets.length);
      await phone!.send(rtp(10 + packets.length), relayForPhone);
      // Audio still flows, renumbered so the withheld events do not read as loss; no event packet came first.
      const next = (await gateway!.next()).msg;
      assert.equal(next.readUInt16BE(2), 10);
      assert.deepEqual(next.subarray(4), rtp(10 + packets.length).subarray(4));
      assert.deepEqual(
        events.filter((e) => e.type === "dtmf"),
        [{ type: "dtmf", digit: "5", durationMs: 100, fromLeg: "a", relayed: false, stream: 0 }],
      );
    } finally {
      await Promise.all([phone!.close(), gateway!.close()]);
      await relay.close();
    }
  });

  it("plays RFC 4733 events as in-band G.711 tones towards an inband leg", async () => {
    const relay = createMediaRelay({ address: "127.0.0.1", portMin: 31470, portMax: 31479, clock: new FakeClock() });
    const [phone, gateway] = await peers(2);
    try {
      const call = relay.createSession({ legs: { b: { srtp: "off", dtmf: "inband" } } });
      const events: MediaSessionEvent[] = [];
      call.on((e) => events.push(e));
      await call.offer("a", sdp(phone!.port, "8 101", TE101));
      const toPhone = await call.answer("b", sdp(gateway!.port, "8"));
      const packets = eventPackets(5, 800, 10, 1600);
      for (const p of packets) await phone!.send(p, readStreams(toPhone)[0]!.port);
      const samples: number[] = [];
      for (let i = 0; i < 5; i++) {
        const p = parseRtpPacket((await gateway!.next()).msg);
        assert.ok(p.ok);
        assert.equal(p.value.payloadType, 8);
        assert.equal(p.value.timestamp, 1600 + 160 * i); // audio advances where the events stood still
        assert.equal(p.value.payload.length, 160);
        for (const o of p.value.payload) samples.push(ALAW_TO_LINEAR[o]!);
      }
      await until(() => call.stream(0)!.leg("a").stats.dropped.filtered === 2); // the two repeats of the end packet add nothing
      // Digit 5 is 770 Hz + 1336 Hz (ITU-T Q.23); the other row and column stay quiet.
      const power = (f: number): number => goertzel(samples, f);
      assert.ok(power(770) > 50 * power(697) && power(770) > 50 * power(852));
      assert.ok(power(1336) > 50 * power(1209) && power(1336) > 50 * power(1477));
      assert.deepEqual(
        events.filter((e) => e.type === "dtmf").map((e) => e.type === "dtmf" && [e.digit, e.relayed]),
        [["5", true]],
      );
    } finally {
      await Promise.all([phone!.close(), gateway!.close()]);
      await relay.close();
    }
  });

  it("sendDtmf puts a valid RFC 4733 event on the wire, in the numbering of the stream already flowing", async () => {
    const relay = createMediaRelay({ address: "127.0.0.1", portMin: 31430, portMax: 31439 });
    const [phone, gateway] = await peers(2);
    try {
      const call = relay.createSession({ legs: { b: { srtp: "off", dtmf: "info" } } });
      const toGateway = await call.offer("a", sdp(phone!.port, "0 101", TE101));
      const toPhone = await call.answer("b", sdp(gateway!.port, "0"));
      const relayForGateway = readStreams(toGateway)[0]!.port;
      await gateway!.send(rtp(500, { ssrc: 0xabc, timestamp: 8000 }), relayForGateway);
      await phone!.next();
      assert.ok(readStreams(toPhone)[0]!.port > 0);

      await call.sendDtmf("a", "#", 100);
      const receiver = new DtmfReceiver();
      const digits = [];
      for (let i = 0; i < 7; i++) {
        const p = parseRtpPacket((await phone!.next()).msg);
        assert.ok(p.ok);
        assert.equal(p.value.payloadType, 101);
        assert.equal(p.value.ssrc, 0xabc);
        assert.equal(p.value.sequenceNumber, 501 + i);
        assert.equal(p.value.marker, i === 0);
        const e = parseDtmfEvent(p.value.payload);
        assert.ok(e.ok);
        assert.equal(e.value.event, 11);
        assert.equal(e.value.end, i >= 4); // four updates, then the end packet three times
        digits.push(...receiver.push(p.value.timestamp, e.value));
      }
      assert.deepEqual(digits.map((d) => [d.digit, d.duration, d.ended]), [["#", 800, true]]);
      // The stream carries on after the injected packets without a gap or a repeat.
      await gateway!.send(rtp(501, { ssrc: 0xabc }), relayForGateway);
      const after = parseRtpPacket((await phone!.next()).msg);
      assert.ok(after.ok);
      assert.equal(after.value.sequenceNumber, 508);
      await assert.rejects(call.sendDtmf("b", "1", 100), (e) => isMediaRelayError(e, "MEDIA_BAD_OPTIONS"));
    } finally {
      await Promise.all([phone!.close(), gateway!.close()]);
      await relay.close();
    }
  });

  it("measures RTT per leg from an SR/RR exchange and reports quality per leg and direction", async () => {
    const clock = new FakeClock();
    const relay = createMediaRelay({ address: "127.0.0.1", portMin: 31440, portMax: 31449, clock });
    const [phone, gateway] = await peers(2);
    try {
      const call = relay.createSession();
      const toGateway = await call.offer("a", sdp(phone!.port, "8", ["a=rtcp-mux"]));
      const toPhone = await call.answer("b", sdp(gateway!.port, "8", ["a=rtcp-mux"]));
      const relayForPhone = readStreams(toPhone)[0]!.port;
      const relayForGateway = readStreams(toGateway)[0]!.port;
      for (const seq of [1, 2, 3, 5]) {
        await phone!.send(rtp(seq, { pt: 8 }), relayForPhone);
        await gateway!.next();
      }
      const ntpMsw = 0xe000_1234;
      const ntpLsw = 0x8000_0000;
      const sr = marshal([{ kind: "sr", ssrc: 0x1234abcd, ntpMsw, ntpLsw, rtpTimestamp: 800, packetCount: 4, octetCount: 640, reports: [], profileExtension: new Uint8Array(0) }]);
      await phone!.send(sr, relayForPhone);
      assert.deepEqual((await gateway!.next()).msg, sr);
      clock.advance(100);
      // The gateway held the SR 40 ms (DLSR in 1/65536 s): the relay<->gateway round trip is 60 ms.
      const block = { ssrc: 0x1234abcd, fractionLost: 3, cumulativeLost: 1, highestSequence: 5, jitter: 80, lastSenderReport: ntpMiddle32(ntpMsw, ntpLsw), delaySinceLastSenderReport: 2621 };
      const rr = marshal([{ kind: "rr", ssrc: 0x99, reports: [block], profileExtension: new Uint8Array(0) }]);
      await gateway!.send(rr, relayForGateway);
      assert.deepEqual((await phone!.next()).msg, rr);

      const q = call.qualityReport();
      assert.ok(q !== undefined);
      assert.equal(q.b.codec, "PCMA");
      assert.ok(Math.abs(q.b.sent.rttMs! - 60) < 0.1, `rtt ${q.b.sent.rttMs}`);
      assert.equal(q.b.sent.packets, 4);
      assert.equal(q.b.sent.lost, 1);
      assert.equal(q.b.sent.jitterMs, 10); // 80 units at 8000 Hz
      assert.ok(q.b.sent.mos! > 4 && q.b.sent.mos! < 4.5, `mos ${q.b.sent.mos}`); // about 1% loss, 60 ms RTT
      assert.equal(q.a.received.packets, 4);
      assert.equal(q.a.received.lost, 1); // sequence 4 never came
      assert.equal(q.a.received.rttMs, undefined); // the phone sent no report about our SRs
      assert.ok(q.a.received.mos! > 1 && q.a.received.mos! < 4.5);
    } finally {
      await Promise.all([phone!.close(), gateway!.close()]);
      await relay.close();
    }
  });

  it("applies leg options set after the session exists (the B trunk is known only after routing)", async () => {
    const relay = createMediaRelay({ address: "127.0.0.1", portMin: 31480, portMax: 31489 });
    try {
      const call = relay.createSession();
      call.setLegOptions("b", { srtp: "off", dtmf: "info", strictLatching: true });
      assert.deepEqual(call.legOptions("b"), { srtp: "off", dtmf: "info", strictLatching: true });
      const toGateway = await call.offer("a", sdp(5000, "0 101", TE101));
      assert.deepEqual(toGateway.media[0]!.formats, ["0"]);
      assert.equal(call.stream(0)!.leg("b").strict, true);
      assert.equal(call.stream(0)!.leg("a").strict, false);
      call.setLegOptions("a", { srtp: "optional", dtmf: "rfc4733", strictLatching: true });
      assert.equal(call.stream(0)!.leg("a").strict, true);
    } finally {
      await relay.close();
    }
  });

  it("fails 488-style: SRTP required without crypto, SAVP to an SRTP-off trunk, non-G.711 codec mismatch", async () => {
    const relay = createMediaRelay({ address: "127.0.0.1", portMin: 31450, portMax: 31459 });
    try {
      const required = relay.createSession({ legs: { a: { srtp: "required", dtmf: "rfc4733" } } });
      await assert.rejects(required.offer("a", sdp(5000, "0")), (e) => isMediaRelayError(e, "MEDIA_SRTP_REQUIRED") && e.warnCode === 302);
      const crypto = `a=crypto:${formatCrypto(sdesCryptoAttribute(1, PROFILE, generateSrtpMasterKey()))}`;
      const off = relay.createSession({ legs: { a: { srtp: "off", dtmf: "rfc4733" } } });
      await assert.rejects(off.offer("a", sdp(5000, "0", [crypto], "RTP/SAVP")), (e) => isMediaRelayError(e, "MEDIA_SRTP_UNSUPPORTED"));
      const g729 = relay.createSession();
      await assert.rejects(
        g729.offer("a", sdp(5000, "18 101", TE101), { allow: [{ name: "PCMA" }] }),
        (e) => isMediaRelayError(e, "MEDIA_CODEC_MISMATCH") && e.warnCode === 305 && /G729\/8000/.test(e.message),
      );
      assert.equal(relay.portsInUse(), 0); // nothing stays allocated for a refused offer
    } finally {
      await relay.close();
    }
  });

  it("terminates RTCP of a transcoded stream: forwards none, sends its own SR with report blocks to each leg, and gets RTT on both", async () => {
    // Issue 4 / RFC 3550 7.1: a transcoded stream's RTCP must not be forwarded, so the relay reports itself.
    const clock = new FakeClock();
    const relay = createMediaRelay({ address: "127.0.0.1", portMin: 31480, portMax: 31489, clock });
    const [phone, gateway] = await peers(2);
    try {
      const call = relay.createSession();
      const toGateway = await call.offer("a", sdp(phone!.port, "0", ["a=rtcp-mux"]), { allow: [{ name: "PCMA" }] });
      const toPhone = await call.answer("b", sdp(gateway!.port, "8", ["a=rtcp-mux"]));
      call.start();
      const relayForPhone = readStreams(toPhone)[0]!.port;
      const relayForGateway = readStreams(toGateway)[0]!.port;
      for (const seq of [1, 2, 3]) {
        await phone!.send(rtp(seq, { pt: 0, ssrc: 0x1111 }), relayForPhone);
        await gateway!.next();
      }
      for (const seq of [7, 8]) {
        await gateway!.send(rtp(seq, { pt: 8, ssrc: 0x2222 }), relayForGateway);
        await phone!.next();
      }
      // The phone's own report describes PCMU packets the gateway never saw as such: not forwarded.
      await phone!.send(rtcpRr(0x1111), relayForPhone);
      await until(() => call.stream(0)!.leg("a").stats.dropped.filtered === 1);
      assert.equal(gateway!.pending(), 0);

      // Time moves in steps until the randomized (2.5-7.5 s) report timer has fired once, and only once.
      for (let waited = 0; phone!.pending() === 0 && waited < 7500; waited += 500) {
        clock.advance(500);
        await settle(20);
      }
      const read = async (peer: TestPeer) => {
        const parsed = parseRtcpCompound((await peer.next()).msg);
        assert.ok(parsed.ok);
        const [report, sdes] = parsed.value;
        assert.equal(report?.kind, "sr");
        assert.equal(sdes?.kind, "sdes");
        return report!.kind === "sr" ? report! : assert.fail("not an SR");
      };
      const toPhoneSr = await read(phone!);
      assert.equal(toPhoneSr.ssrc, 0x2222); // the stream the phone gets from us
      assert.equal(toPhoneSr.packetCount, 2);
      assert.equal(toPhoneSr.octetCount, 2 * 160);
      assert.equal(toPhoneSr.reports[0]?.ssrc, 0x1111); // about what the phone sends
      assert.equal(toPhoneSr.reports[0]?.highestSequence, 3);
      const toGatewaySr = await read(gateway!);
      assert.equal(toGatewaySr.ssrc, 0x1111);
      assert.equal(toGatewaySr.packetCount, 3);
      assert.equal(toGatewaySr.reports[0]?.ssrc, 0x2222);
      assert.equal(toGatewaySr.reports[0]?.cumulativeLost, 0);

      // Each endpoint answers our SR after holding it 10 ms (DLSR), 30 ms after this point; the SR
      // left when the randomized timer fired, which its NTP timestamp tells.
      clock.advance(30);
      const sentAt = (toPhoneSr.ntpMsw - 2_208_988_800) * 1000 + (toPhoneSr.ntpLsw * 1000) / 2 ** 32;
      const expected = clock.wallNow() - sentAt - 10;
      const answer = (ssrc: number, sr: typeof toPhoneSr) =>
        marshal([{ kind: "rr", ssrc, reports: [{ ssrc: sr.ssrc, fractionLost: 0, cumulativeLost: 0, highestSequence: 0, jitter: 0, lastSenderReport: ntpMiddle32(sr.ntpMsw, sr.ntpLsw), delaySinceLastSenderReport: 655 }], profileExtension: new Uint8Array(0) }]);
      await phone!.send(answer(0x1111, toPhoneSr), relayForPhone);
      await gateway!.send(answer(0x2222, toGatewaySr), relayForGateway);
      await until(() => call.qualityReport()?.a.received.rttMs !== undefined && call.qualityReport()?.b.received.rttMs !== undefined);
      const q = call.qualityReport()!;
      // The timer may fire anywhere in a 500 ms step, even at its very end: then the SR is 30 ms old
      // when answered, and the RTT is those 30 ms less the 10 ms the endpoint held it.
      assert.ok(expected >= 20 && expected <= 5030, `our SR left within the report interval (${expected})`);
      assert.ok(Math.abs(q.a.received.rttMs! - expected) < 1, `rtt a ${q.a.received.rttMs}, expected ${expected}`);
      assert.ok(Math.abs(q.b.received.rttMs! - expected) < 1, `rtt b ${q.b.received.rttMs}, expected ${expected}`);
      assert.equal(phone!.pending() + gateway!.pending(), 0, "their reports were not forwarded");
    } finally {
      await Promise.all([phone!.close(), gateway!.close()]);
      await relay.close();
    }
  });
});

function marshal(packets: Parameters<typeof marshalRtcpCompound>[0]): Buffer {
  const b = Buffer.alloc(rtcpCompoundSize(packets));
  marshalRtcpCompound(packets, b);
  return b;
}

/** Signal power at one frequency (Goertzel), enough to tell DTMF rows and columns apart. */
function goertzel(samples: readonly number[], frequency: number, rate = 8000): number {
  const coeff = 2 * Math.cos((2 * Math.PI * frequency) / rate);
  let s1 = 0;
  let s2 = 0;
  for (const x of samples) {
    const s0 = x + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}
