import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { FakeClock } from "../../lib/index.ts";
import { nativeIo } from "./native-io.ts";
import { type PortAllocator, createPortAllocator } from "./port-allocator.ts";
import { createQualitySink } from "./quality-sink.ts";
import { type RelayEvent, type RelaySessionOptions, RelaySession } from "./relay-session.ts";
import { type TestPeer, rtcpRr, rtp, settle, testPeer, until } from "../../../test/support/rtp-peer.ts";

import { type RelayIo, dgramIo } from "./udp-io.ts";

// Every test runs on node:dgram sockets and, when the addon is built, on native ones.
const ios: RelayIo[] = [dgramIo, ...(nativeIo() === undefined ? [] : [nativeIo()!])];
const made: PortAllocator[] = [];
let allocator: PortAllocator;
let allocator6: PortAllocator;
function useIo(io: RelayIo): void {
  allocator = createPortAllocator({ address: "127.0.0.1", portMin: 31100, portMax: 31199, io });
  allocator6 = createPortAllocator({ address: "::1", portMin: 31100, portMax: 31119, io });
  made.push(allocator, allocator6);
}
after(() => Promise.all(made.map((a) => a.close())));

interface Rig {
  session: RelaySession;
  clock: FakeClock;
  events: RelayEvent[];
  phone: TestPeer;
  gateway: TestPeer;
  done(): Promise<void>;
}

/** Session between a "phone" on leg a and a "gateway" on leg b, each signaled where it really is. */
async function rig(
  options: Partial<Omit<RelaySessionOptions, "a" | "b" | "clock" | "id">> & { muxA?: boolean; muxB?: boolean; ipv6?: boolean } = {},
): Promise<Rig> {
  const alloc = options.ipv6 === true ? allocator6 : allocator;
  const host = options.ipv6 === true ? "::1" : "127.0.0.1";
  const clock = new FakeClock();
  const a = await alloc.allocate({ rtcpMux: options.muxA ?? false });
  const b = await alloc.allocate({ rtcpMux: options.muxB ?? false });
  const session = new RelaySession({ id: "t", ...options, a, b, clock });
  const events: RelayEvent[] = [];
  session.on((e) => events.push(e));
  const phone = await testPeer(host);
  const gateway = await testPeer(host);
  return {
    session,
    clock,
    events,
    phone,
    gateway,
    async done() {
      await session.close();
      await Promise.all([phone.close(), gateway.close()]);
    },
  };
}

for (const io of ios) describe(`relay session (${io.kind} I/O)`, () => {
  before(() => useIo(io));
  it("relays RTP both ways unchanged and sends from the leg's own port (symmetric RTP, RFC 4961)", async () => {
    const r = await rig();
    try {
      r.session.setRemote("a", { address: "127.0.0.1", port: r.phone.port });
      r.session.setRemote("b", { address: "127.0.0.1", port: r.gateway.port });
      const a = r.session.leg("a").local;
      const b = r.session.leg("b").local;
      const sent = rtp(7, { ssrc: 0xcafe, timestamp: 123456 });
      await r.phone.send(sent, a.rtpPort);
      const got = await r.gateway.next();
      assert.deepEqual(got.msg, sent); // SSRC, sequence and timestamp kept
      assert.equal(got.from.port, b.rtpPort);
      const back = rtp(9, { ssrc: 0xbeef });
      await r.gateway.send(back, b.rtpPort);
      const gotBack = await r.phone.next();
      assert.deepEqual(gotBack.msg, back);
      assert.equal(gotBack.from.port, a.rtpPort);
      const stats = r.session.leg("a").stats;
      assert.deepEqual(stats.received.rtp, { packets: 1, bytes: 172 });
      assert.deepEqual(stats.sent.rtp, { packets: 1, bytes: 172 });
      assert.equal(r.session.leg("b").stats.received.rtp.packets, 1);
    } finally {
      await r.done();
    }
  });

  it("relays RTCP on port + 1 to the remote's RTCP port", async () => {
    const r = await rig();
    const phoneRtcp = await testPeer();
    const gatewayRtcp = await testPeer();
    try {
      r.session.setRemote("a", { address: "127.0.0.1", port: r.phone.port, rtcpPort: phoneRtcp.port });
      r.session.setRemote("b", { address: "127.0.0.1", port: r.gateway.port, rtcpPort: gatewayRtcp.port });
      const a = r.session.leg("a").local;
      const b = r.session.leg("b").local;
      await phoneRtcp.send(rtcpRr(1), a.rtcpPort);
      const got = await gatewayRtcp.next();
      assert.deepEqual(got.msg, rtcpRr(1));
      assert.equal(got.from.port, b.rtcpPort);
      await gatewayRtcp.send(rtcpRr(2), b.rtcpPort);
      assert.deepEqual((await phoneRtcp.next()).msg, rtcpRr(2));
      assert.equal(r.session.leg("b").stats.received.rtcp.packets, 1);
      assert.equal(r.gateway.pending() + r.phone.pending(), 0);
    } finally {
      await Promise.all([phoneRtcp.close(), gatewayRtcp.close()]);
      await r.done();
    }
  });

  it("demultiplexes RTP and RTCP on one muxed port (RFC 5761 4), also towards a non-muxed leg", async () => {
    const r = await rig({ muxA: true, muxB: false });
    const gatewayRtcp = await testPeer();
    try {
      assert.equal(r.session.leg("a").local.rtcpPort, r.session.leg("a").local.rtpPort);
      r.session.setRemote("a", { address: "127.0.0.1", port: r.phone.port, rtcpMux: true });
      r.session.setRemote("b", { address: "127.0.0.1", port: r.gateway.port, rtcpPort: gatewayRtcp.port });
      const a = r.session.leg("a").local;
      const b = r.session.leg("b").local;
      await r.phone.send(rtp(1), a.rtpPort);
      await r.phone.send(rtcpRr(5), a.rtpPort);
      assert.deepEqual((await r.gateway.next()).msg, rtp(1));
      const rtcpOut = await gatewayRtcp.next();
      assert.deepEqual(rtcpOut.msg, rtcpRr(5));
      assert.equal(rtcpOut.from.port, b.rtcpPort);
      // Back towards the muxed leg: both arrive on the phone's one port, from the relay's one port.
      await gatewayRtcp.send(rtcpRr(6), b.rtcpPort);
      await r.gateway.send(rtp(2), b.rtpPort);
      const first = await r.phone.next();
      const second = await r.phone.next();
      assert.deepEqual(new Set([first.msg.toString("hex"), second.msg.toString("hex")]), new Set([rtcpRr(6).toString("hex"), rtp(2).toString("hex")]));
      assert.equal(first.from.port, a.rtpPort);
      assert.equal(second.from.port, a.rtpPort);
    } finally {
      await gatewayRtcp.close();
      await r.done();
    }
  });

  it("latches to a NATed source within the learning window and sends there", async () => {
    const r = await rig({ latchWindowMs: 2000 });
    try {
      // The phone signals a private address it cannot be reached at; its packets come from elsewhere.
      r.session.setRemote("a", { address: "127.0.0.1", port: 9 });
      r.session.setRemote("b", { address: "127.0.0.1", port: r.gateway.port });
      r.clock.advance(1500);
      await r.phone.send(rtp(1), r.session.leg("a").local.rtpPort);
      await r.gateway.next();
      assert.deepEqual(r.session.leg("a").latched.rtp, { address: "127.0.0.1", port: r.phone.port });
      assert.deepEqual(r.events[0], { type: "latched", leg: "a", channel: "rtp", source: { address: "127.0.0.1", port: r.phone.port } });
      await r.gateway.send(rtp(2), r.session.leg("b").local.rtpPort);
      assert.deepEqual((await r.phone.next()).msg, rtp(2));
      // Once the window has closed, a second source cannot take the latched stream over.
      r.clock.advance(1000);
      const hijacker = await testPeer();
      try {
        await hijacker.send(rtp(99), r.session.leg("a").local.rtpPort);
        await until(() => r.session.leg("a").stats.dropped.stranger === 1);
        await r.gateway.send(rtp(3), r.session.leg("b").local.rtpPort);
        assert.deepEqual((await r.phone.next()).msg, rtp(3));
        assert.equal(hijacker.pending(), 0);
        assert.equal(r.session.leg("a").latched.rtp?.port, r.phone.port);
      } finally {
        await hijacker.close();
      }
    } finally {
      await r.done();
    }
  });

  it("a throwing event listener does not stop relaying", async () => {
    const r = await rig();
    try {
      r.session.on(() => {
        throw new Error("listener bug");
      });
      r.session.setRemote("a", { address: "127.0.0.1", port: 9 });
      r.session.setRemote("b", { address: "127.0.0.1", port: r.gateway.port });
      await r.phone.send(rtp(1), r.session.leg("a").local.rtpPort); // latches: emits to the bad listener
      assert.deepEqual((await r.gateway.next()).msg, rtp(1));
    } finally {
      await r.done();
    }
  });

  it("drops and counts a stranger after the window; neither the stream nor the latch moves", async () => {
    const r = await rig({ latchWindowMs: 2000 });
    const stranger = await testPeer();
    try {
      r.session.setRemote("a", { address: "127.0.0.1", port: r.phone.port });
      r.session.setRemote("b", { address: "127.0.0.1", port: r.gateway.port });
      r.clock.advance(2001);
      const a = r.session.leg("a").local;
      await stranger.send(rtp(66, { fill: 0x11 }), a.rtpPort);
      await until(() => r.session.leg("a").stats.dropped.stranger === 1);
      await r.phone.send(rtp(1), a.rtpPort); // the signaled endpoint is always accepted
      assert.deepEqual((await r.gateway.next()).msg, rtp(1));
      await settle();
      assert.equal(r.gateway.pending(), 0);
      assert.equal(r.session.leg("a").latched.rtp, undefined);
      // A re-INVITE reopens the window: now the new source may be learned.
      r.session.updateRemote("a", { address: "127.0.0.1", port: r.phone.port });
      await stranger.send(rtp(67), a.rtpPort);
      assert.deepEqual((await r.gateway.next()).msg, rtp(67));
      assert.equal(r.session.leg("a").latched.rtp?.port, stranger.port);
    } finally {
      await stranger.close();
      await r.done();
    }
  });

  it("start() reopens the window: a phone that first sends when the call is answered is learned", async () => {
    const r = await rig({ latchWindowMs: 1000 });
    try {
      r.session.setRemote("a", { address: "127.0.0.1", port: 9 });
      r.session.setRemote("b", { address: "127.0.0.1", port: r.gateway.port });
      r.clock.advance(30_000); // ringing
      r.session.start();
      await r.phone.send(rtp(1), r.session.leg("a").local.rtpPort);
      assert.deepEqual((await r.gateway.next()).msg, rtp(1));
    } finally {
      await r.done();
    }
  });

  it("strict mode accepts only the signaled address, even within the window", async () => {
    const r = await rig({ strict: { a: true } });
    const nat = await testPeer();
    try {
      r.session.setRemote("a", { address: "127.0.0.1", port: r.phone.port });
      r.session.setRemote("b", { address: "127.0.0.1", port: r.gateway.port });
      const a = r.session.leg("a").local;
      await nat.send(rtp(5), a.rtpPort);
      await until(() => r.session.leg("a").stats.dropped.stranger === 1);
      await r.phone.send(rtp(6), a.rtpPort);
      assert.deepEqual((await r.gateway.next()).msg, rtp(6));
      assert.equal(r.gateway.pending(), 0);
      assert.equal(r.session.leg("b").strict, false);
    } finally {
      await nat.close();
      await r.done();
    }
  });

  it("on hold stops RTP towards the held leg but keeps RTCP, and resumes on unhold", async () => {
    const r = await rig();
    const gatewayRtcp = await testPeer();
    try {
      r.session.setRemote("a", { address: "127.0.0.1", port: r.phone.port });
      const gw = { address: "127.0.0.1", port: r.gateway.port, rtcpPort: gatewayRtcp.port };
      r.session.setRemote("b", gw);
      const a = r.session.leg("a").local;
      const b = r.session.leg("b").local;
      r.session.updateRemote("b", { ...gw, direction: "sendonly" }); // the gateway plays music on hold
      await r.phone.send(rtp(1), a.rtpPort);
      await until(() => r.session.leg("a").stats.dropped.held === 1);
      await r.gateway.send(rtp(2), b.rtpPort); // music still reaches the phone
      assert.deepEqual((await r.phone.next()).msg, rtp(2));
      await r.phone.send(rtcpRr(), a.rtcpPort); // RTCP keeps flowing while held
      await gatewayRtcp.next();
      assert.equal(r.gateway.pending(), 0);
      r.session.updateRemote("b", { ...gw, direction: "sendrecv" });
      await r.phone.send(rtp(3), a.rtpPort);
      assert.deepEqual((await r.gateway.next()).msg, rtp(3));
      // Old-style hold (RFC 3264 8.4, c=0.0.0.0): nothing is sent, the held side is still heard.
      r.session.updateRemote("b", { address: "0.0.0.0", port: r.gateway.port });
      await r.phone.send(rtp(4), a.rtpPort);
      await r.gateway.send(rtp(5), b.rtpPort);
      assert.deepEqual((await r.phone.next()).msg, rtp(5));
      await until(() => r.session.leg("a").stats.dropped.held === 2);
      assert.equal(r.gateway.pending(), 0);
    } finally {
      await gatewayRtcp.close();
      await r.done();
    }
  });

  it("counts garbage without throwing and keeps relaying", async () => {
    const r = await rig({ muxA: true });
    try {
      r.session.setRemote("a", { address: "127.0.0.1", port: r.phone.port, rtcpMux: true });
      r.session.setRemote("b", { address: "127.0.0.1", port: r.gateway.port });
      const a = r.session.leg("a").local;
      for (const junk of [Buffer.alloc(0), Buffer.from([0x80]), Buffer.from("hello world!"), Buffer.from([0x00, 0x01, 0x00, 0x00])]) {
        await r.phone.send(junk, a.rtpPort);
      }
      await until(() => r.session.leg("a").stats.dropped.malformed === 4);
      await r.phone.send(rtp(1), a.rtpPort);
      assert.deepEqual((await r.gateway.next()).msg, rtp(1));
    } finally {
      await r.done();
    }
  });

  it("drops packets while the other leg has no remote, and before its own remote is known", async () => {
    const r = await rig();
    try {
      const a = r.session.leg("a").local;
      await r.phone.send(rtp(1), a.rtpPort);
      await until(() => r.session.leg("a").stats.dropped.stranger === 1);
      r.session.setRemote("a", { address: "127.0.0.1", port: r.phone.port });
      await r.phone.send(rtp(2), a.rtpPort);
      await until(() => r.session.leg("a").stats.dropped.noRoute === 1);
    } finally {
      await r.done();
    }
  });

  it("raises media-timeout when nothing flowed in either direction for mediaTimeoutMs", async () => {
    const r = await rig({ mediaTimeoutMs: 5000, oneWayAfterMs: 0 });
    try {
      r.session.setRemote("a", { address: "127.0.0.1", port: r.phone.port });
      r.session.setRemote("b", { address: "127.0.0.1", port: r.gateway.port });
      r.session.start();
      r.clock.advance(3000);
      await r.phone.send(rtp(1), r.session.leg("a").local.rtpPort);
      await r.gateway.next();
      assert.equal(r.session.lastPacketAt(), 3000);
      assert.equal(r.session.leg("a").stats.lastPacketAt, 3000);
      r.clock.advance(4000); // t=7000: 4000 ms idle
      assert.equal(r.events.filter((e) => e.type === "media-timeout").length, 0);
      r.clock.advance(1000); // t=8000: 5000 ms idle
      assert.deepEqual(r.events.filter((e) => e.type === "media-timeout"), [{ type: "media-timeout", idleMs: 5000 }]);
      r.clock.advance(60_000);
      assert.equal(r.events.filter((e) => e.type === "media-timeout").length, 1); // once
    } finally {
      await r.done();
    }
  });

  it("raises one-way when one side has sent RTP and the other none", async () => {
    const r = await rig({ oneWayAfterMs: 4000, mediaTimeoutMs: 0 });
    try {
      r.session.setRemote("a", { address: "127.0.0.1", port: r.phone.port });
      r.session.setRemote("b", { address: "127.0.0.1", port: r.gateway.port });
      r.session.start();
      await r.gateway.send(rtp(1), r.session.leg("b").local.rtpPort);
      await r.phone.next();
      r.clock.advance(4000);
      assert.deepEqual(r.events.filter((e) => e.type === "one-way"), [{ type: "one-way", silentLeg: "a", afterMs: 4000 }]);
      assert.equal(r.clock.pending(), 0);
    } finally {
      await r.done();
    }
  });

  it("feeds accepted RTP into quality.ts receive statistics", async () => {
    const sink = createQualitySink({ clockRate: 8000, ignorePayloadTypes: [101] });
    const r = await rig({ statsSink: sink });
    try {
      r.session.setRemote("a", { address: "127.0.0.1", port: r.phone.port });
      r.session.setRemote("b", { address: "127.0.0.1", port: r.gateway.port });
      const a = r.session.leg("a").local;
      for (const seq of [1, 2, 4, 5]) await r.phone.send(rtp(seq), a.rtpPort); // 3 is lost
      await r.phone.send(rtp(6, { pt: 101 }), a.rtpPort); // an RFC 4733 event is left out
      for (let i = 0; i < 5; i++) await r.gateway.next();
      const snap = sink.snapshot("a");
      assert.equal(snap?.packets, 4);
      assert.equal(snap?.lost, 1);
      assert.equal(sink.snapshot("b"), undefined);
    } finally {
      await r.done();
    }
  });

  it("relays over IPv6 loopback and matches the signaled address in any spelling", async () => {
    const r = await rig({ ipv6: true, strict: true });
    try {
      r.session.setRemote("a", { address: "0:0:0:0:0:0:0:1", port: r.phone.port });
      r.session.setRemote("b", { address: "::1", port: r.gateway.port });
      await r.phone.send(rtp(1), r.session.leg("a").local.rtpPort, "::1");
      assert.deepEqual((await r.gateway.next()).msg, rtp(1));
      await r.gateway.send(rtp(2), r.session.leg("b").local.rtpPort, "::1");
      assert.deepEqual((await r.phone.next()).msg, rtp(2));
    } finally {
      await r.done();
    }
  });

  it("close() releases both legs' ports and stops timers", async () => {
    const r = await rig({ mediaTimeoutMs: 1000, oneWayAfterMs: 1000 });
    r.session.start();
    const before = allocator.inUse();
    await r.done();
    assert.equal(allocator.inUse(), before - 4);
    assert.equal(r.session.closed, true);
    r.clock.advance(10_000);
    assert.deepEqual(r.events.map((e) => e.type), ["closed"]);
  });
});
