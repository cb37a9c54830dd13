import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readStreams } from "../../sdp/index.ts";
import { createSocket } from "node:dgram";
import { type MediaRelay, type MediaSession, createMediaRelay } from "./media-relay.ts";
import { nativeFastPackets, nativeIo } from "./native-io.ts";
import { createPortAllocator } from "./port-allocator.ts";
import { mayRunRealtime, mediaIoThreads } from "../../../test/support/threads.ts";
import { TE101, type TestPeer, audioSdp, rtcpRr, rtp, settle, testPeer, until } from "../../../test/support/rtp-peer.ts";

const HOST = "127.0.0.1";
const native = nativeIo() !== undefined;

interface Rig {
  relay: MediaRelay;
  session: MediaSession;
  phone: TestPeer;
  gateway: TestPeer;
  /** Where the phone sends (leg a's relay port) and where the gateway sends (leg b's). */
  toRelayA: number;
  toRelayB: number;
  done(): Promise<void>;
}

/** An answered call between a phone (leg a) and a gateway (leg b), both offering PCMU and telephone-event. */
async function rig(portMin: number, options: Parameters<MediaRelay["createSession"]>[0] = {}, io: "native" | "dgram" = "native"): Promise<Rig> {
  const relay = createMediaRelay({ address: HOST, portMin, portMax: portMin + 9, io });
  const phone = await testPeer();
  const gateway = await testPeer();
  const session = relay.createSession(options);
  const toGateway = await session.offer("a", audioSdp(phone.port, "0 101", TE101));
  const toPhone = await session.answer("b", audioSdp(gateway.port, "0 101", TE101));
  session.start();
  return {
    relay,
    session,
    phone,
    gateway,
    toRelayA: readStreams(toPhone)[0]!.port,
    toRelayB: readStreams(toGateway)[0]!.port,
    async done() {
      await relay.close();
      await Promise.all([phone.close(), gateway.close()]);
    },
  };
}

/** Sends packets one at a time, each awaited at the receiver, and checks they arrive unchanged. */
async function relayAll(from: TestPeer, to: TestPeer, port: number, packets: readonly Buffer[]): Promise<void> {
  for (const p of packets) {
    await from.send(p, port);
    assert.deepEqual((await to.next()).msg, p);
  }
}

// The test command installs a compiler, so a missing addon is a broken build, not a reason to skip;
// TRUNKLINE_SKIP_NATIVE=1 (the install's own opt-out) is the one way to run without it.
const optedOut = process.env["TRUNKLINE_SKIP_NATIVE"] === "1";

it("the native media I/O addon was built at install (scripts/build-native.mjs)", { skip: optedOut ? "TRUNKLINE_SKIP_NATIVE=1" : false }, () => {
  assert.ok(native, "native/media-io did not build or load: run `node scripts/build-native.mjs` to see why");
});

describe("native media I/O", { skip: native ? false : "addon not built" }, () => {
  it("forwards plain RTP in C: intact and counted per leg; RTCP and events go through JavaScript", async () => {
    const r = await rig(31900);
    try {
      assert.equal(r.relay.io, "native");
      const before = nativeFastPackets();
      await relayAll(r.phone, r.gateway, r.toRelayA, Array.from({ length: 10 }, (_, i) => rtp(100 + i, { ssrc: 0xa11ce })));
      await relayAll(r.gateway, r.phone, r.toRelayB, [rtp(7, { ssrc: 0xb0b })]);
      // The fast path took every audio packet.
      assert.equal(nativeFastPackets() - before, 11);
      const a = r.session.stream(0)!.leg("a").stats;
      const b = r.session.stream(0)!.leg("b").stats;
      assert.deepEqual(a.received.rtp, { packets: 10, bytes: 1720 });
      assert.deepEqual(b.sent.rtp, { packets: 10, bytes: 1720 });
      assert.deepEqual(b.received.rtp, { packets: 1, bytes: 172 });
      assert.deepEqual(a.sent.rtp, { packets: 1, bytes: 172 });
      assert.notEqual(a.lastPacketAt, undefined);
      assert.equal(r.session.totals().a.packetsReceived, 10);

      // A telephone-event packet is relayed by JavaScript, which sees the digit.
      const event = rtp(110, { ssrc: 0xa11ce, pt: 101, size: 16 });
      event.writeUInt32BE(0x05800320, 12); // digit 5, end bit, volume 0, duration 800
      const fast = nativeFastPackets();
      await relayAll(r.phone, r.gateway, r.toRelayA, [event]);
      assert.equal(nativeFastPackets(), fast);
      // RTCP goes to JavaScript too (it reads RTT and quality from it): counted there, not in C.
      await r.gateway.send(rtcpRr(), r.toRelayB + 1);
      await until(() => r.session.stream(0)!.leg("b").stats.received.rtcp.packets === 1, 2000, "RTCP counted by JavaScript");
      assert.equal(nativeFastPackets(), fast);
      assert.equal(r.session.stream(0)!.leg("a").stats.received.rtp.packets, 11);
    } finally {
      await r.done();
    }
  });

  it("keeps RFC 3550 statistics of fast-path RTP: loss across a gap and a sequence wrap, duplicates, reordering", async () => {
    const r = await rig(31910);
    try {
      // 65530..65535, 0..3, then 8..9 (4..7 lost), then 2 again (duplicate) and 5 late (out of order).
      const seqs = [65530, 65531, 65532, 65533, 65534, 65535, 0, 1, 2, 3, 8, 9];
      await relayAll(r.phone, r.gateway, r.toRelayA, seqs.map((s) => rtp(s)));
      await relayAll(r.phone, r.gateway, r.toRelayA, [rtp(2), rtp(5)]);
      const q = r.session.qualityReport(0)!.a.received;
      assert.equal(q.packets, 14);
      assert.equal(q.lost, 3); // 4, 6, 7: the late 5 arrived
      assert.equal(q.duplicates, 1);
      assert.equal(q.outOfOrder, 1);
      const snap = r.session.quality(0)!.snapshot("a")!;
      assert.equal(snap.highestSequence, 65536 + 9);
      assert.equal(snap.expected, 16);
    } finally {
      await r.done();
    }
  });

  it("measures interarrival jitter (RFC 3550 A.8) of fast-path RTP", async () => {
    const r = await rig(31920);
    try {
      // Sent back to back but stamped one second (8000 units) apart: each transit differs by
      // about 8000 units, so J converges on 8000 as J += (|D| - J) / 16.
      const packets = Array.from({ length: 20 }, (_, i) => rtp(i, { timestamp: i * 8000 }));
      await relayAll(r.phone, r.gateway, r.toRelayA, packets);
      const expected = 8000 * (1 - (15 / 16) ** 19);
      const snap = r.session.quality(0)!.snapshot("a")!;
      // Arrival spacing moves each |D| by 8 units per millisecond: a wide band keeps this about the formula, not the machine.
      assert.ok(Math.abs(snap.jitter - expected) < expected * 0.15, `jitter ${snap.jitter}, expected about ${expected}`);
      assert.ok(Math.abs(snap.jitterMs - expected / 8) < (expected / 8) * 0.15);
    } finally {
      await r.done();
    }
  });

  it("hands a new source to JavaScript, which latches it; later packets from it take the fast path", async () => {
    const r = await rig(31930);
    const natted = await testPeer();
    try {
      const before = nativeFastPackets();
      await relayAll(natted, r.gateway, r.toRelayA, [rtp(1)]);
      assert.equal(nativeFastPackets(), before); // the latching decision was JavaScript's
      assert.equal(r.session.stream(0)!.leg("a").latched.rtp?.port, natted.port);
      await relayAll(natted, r.gateway, r.toRelayA, [rtp(2), rtp(3)]);
      assert.equal(nativeFastPackets() - before, 2);
      // Replies go to the latched source.
      await relayAll(r.gateway, natted, r.toRelayB, [rtp(9)]);
      assert.equal(r.session.stream(0)!.leg("a").stats.received.rtp.packets, 3);
      // The signaled endpoint wins the stream back at once.
      await relayAll(r.phone, r.gateway, r.toRelayA, [rtp(4)]);
      assert.equal(r.session.stream(0)!.leg("a").latched.rtp?.port, r.phone.port);
    } finally {
      await natted.close();
      await r.done();
    }
  });

  it("leaves a rewritten stream (DTMF interworking) to JavaScript, and DTMF injected after fast-path audio continues its numbering", async () => {
    const rewritten = await rig(31940, { legs: { b: { srtp: "off", dtmf: "info" } } });
    try {
      const before = nativeFastPackets();
      await relayAll(rewritten.phone, rewritten.gateway, rewritten.toRelayA, [rtp(1), rtp(2)]);
      assert.equal(nativeFastPackets(), before);
    } finally {
      await rewritten.done();
    }
    const r = await rig(31950);
    try {
      await relayAll(r.phone, r.gateway, r.toRelayA, [rtp(500, { ssrc: 0x5eed }), rtp(501, { ssrc: 0x5eed })]);
      await r.session.sendDtmf("b", "7", 40);
      const first = (await r.gateway.next()).msg;
      assert.equal(first[1]! & 0x7f, 101);
      assert.equal(first.readUInt16BE(2), 502);
      assert.equal(first.readUInt32BE(8), 0x5eed);
      // Audio after the events is shifted past them, by JavaScript.
      await settle();
      while (r.gateway.pending() > 0) await r.gateway.next();
      await r.phone.send(rtp(502, { ssrc: 0x5eed }), r.toRelayA);
      const audio = (await r.gateway.next()).msg;
      assert.equal(audio[1]! & 0x7f, 0);
      assert.ok(audio.readUInt16BE(2) > 502);
    } finally {
      await r.done();
    }
  });

  it("forwards while JavaScript is blocked: the fast path runs on the addon's own thread", async () => {
    const relay = createMediaRelay({ address: HOST, portMin: 31990, portMax: 31999, io: "native" });
    // The phone is a native socket too, because its send() is synchronous and the test must not yield.
    const phone = await nativeIo()!.bind(HOST, 0, 0);
    assert.notEqual(phone, "in-use");
    if (phone === "in-use") return;
    const gateway = await testPeer();
    try {
      const session = relay.createSession();
      const toGateway = await session.offer("a", audioSdp(phone.address().port, "0 101", TE101));
      const toPhone = await session.answer("b", audioSdp(gateway.port, "0 101", TE101));
      session.start();
      const toRelayA = readStreams(toPhone)[0]!.port;
      assert.ok(readStreams(toGateway)[0]!.port > 0);
      const packets = Array.from({ length: 5 }, (_, i) => rtp(300 + i, { ssrc: 0xb10c }));
      const before = nativeFastPackets();
      for (const p of packets) phone.send(p, toRelayA, HOST, () => {});
      // A busy loop: the event loop gets no turn, so only a thread of the addon's own can forward.
      const deadline = Date.now() + 2000;
      while (nativeFastPackets() - before < packets.length && Date.now() < deadline) {
        // spin
      }
      assert.equal(nativeFastPackets() - before, packets.length);
      for (const p of packets) assert.deepEqual((await gateway.next()).msg, p);
    } finally {
      await phone.close();
      await relay.close();
      await gateway.close();
    }
  });

  it("reports a port taken by another socket as in use, so the allocator binds the next pair", async () => {
    const squatter = createSocket("udp4");
    await new Promise<void>((resolve) => squatter.bind(31980, HOST, () => resolve()));
    const allocator = createPortAllocator({ address: HOST, portMin: 31980, portMax: 31983, io: nativeIo()! });
    try {
      assert.equal(allocator.io, "native");
      const pair = await allocator.allocate();
      assert.equal(pair.rtpPort, 31982);
      assert.deepEqual(pair.rtp.address(), { address: HOST, port: 31982 });
      await assert.rejects(allocator.allocate(), /no free media port/);
      await pair.release();
      assert.equal(allocator.inUse(), 0);
    } finally {
      await allocator.close();
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
  });

  it("drops strangers once the learning window is over, and frees every port on close", async () => {
    const r = await rig(31960);
    const stranger = await testPeer();
    try {
      r.session.setLegOptions("a", { srtp: "optional", dtmf: "rfc4733", strictLatching: true });
      await stranger.send(rtp(1), r.toRelayA);
      await settle();
      assert.equal(r.gateway.pending(), 0);
      assert.equal(r.session.stream(0)!.leg("a").stats.dropped.stranger, 1);
      await relayAll(r.phone, r.gateway, r.toRelayA, [rtp(2)]);
      await r.session.close();
      assert.equal(r.relay.portsInUse(), 0);
    } finally {
      await stranger.close();
      await r.done();
    }
  });
});

describe("media.io dgram", () => {
  it("relays through node:dgram when asked, with the same counters", async () => {
    const r = await rig(31970, {}, "dgram");
    try {
      assert.equal(r.relay.io, "dgram");
      const before = nativeFastPackets();
      await relayAll(r.phone, r.gateway, r.toRelayA, [rtp(1), rtp(2)]);
      assert.equal(nativeFastPackets(), before);
      assert.deepEqual(r.session.stream(0)!.leg("a").stats.received.rtp, { packets: 2, bytes: 344 });
      assert.equal(r.session.qualityReport(0)!.a.received.packets, 2);
    } finally {
      await r.done();
    }
  });
});

describe("media.realtimePriority", { skip: native ? false : "addon not built" }, () => {
  const logger = () => {
    const lines: { level: string; obj: object; msg: string }[] = [];
    const at = (level: string) => (obj: object, msg: string) => void lines.push({ level, obj, msg });
    return { lines, debug: at("debug"), info: at("info"), warn: at("warn") };
  };

  it("runs the I/O thread under SCHED_FIFO while the relay is open (or warns why not), and relays as before", async () => {
    const log = logger();
    const relay = createMediaRelay({ address: HOST, portMin: 36_400, portMax: 36_409, io: "native", realtimePriority: 7, logger: log });
    const threads = mediaIoThreads();
    assert.equal(threads.length, 1, "one I/O thread per JavaScript thread");
    if (mayRunRealtime(7)) {
      assert.deepEqual(threads[0], { policy: 1, priority: 7 });
      assert.ok(log.lines.some((l) => l.level === "info" && /real-time/.test(l.msg)));
    } else {
      assert.deepEqual(threads[0], { policy: 0, priority: 0 });
      assert.ok(log.lines.some((l) => l.level === "warn" && (l.obj as { error?: string }).error === "EPERM"), JSON.stringify(log.lines));
    }
    // Media still flows through the real-time thread.
    const phone = await testPeer();
    const gateway = await testPeer();
    const session = relay.createSession();
    const toGateway = await session.offer("a", audioSdp(phone.port, "0"));
    const toPhone = await session.answer("b", audioSdp(gateway.port, "0"));
    session.start();
    await relayAll(phone, gateway, readStreams(toPhone)[0]!.port, [rtp(1, { ssrc: 0x1234 }), rtp(2, { ssrc: 0x1234, timestamp: 320 })]);
    await relayAll(gateway, phone, readStreams(toGateway)[0]!.port, [rtp(9, { ssrc: 0x9876 })]);
    await relay.close();
    await Promise.all([phone.close(), gateway.close()]);
    assert.deepEqual(mediaIoThreads(), [{ policy: 0, priority: 0 }], "closing the relay hands the thread back to the normal scheduler");
  });

  it("refuses a priority outside 1-99 and ignores one with node:dgram I/O, saying so", () => {
    for (const bad of [0, 100, 2.5]) {
      assert.throws(() => createMediaRelay({ address: HOST, portMin: 36_410, portMax: 36_419, realtimePriority: bad }), { code: "MEDIA_BAD_OPTIONS" });
    }
    const log = logger();
    const relay = createMediaRelay({ address: HOST, portMin: 36_420, portMax: 36_429, io: "dgram", realtimePriority: 5, logger: log });
    assert.ok(log.lines.some((l) => l.level === "warn" && /ignored/.test(l.msg)));
    return relay.close();
  });
});
