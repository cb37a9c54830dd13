import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { describe, it } from "node:test";
import { isMediaRelayError } from "./errors.ts";
import { type PortPair, createPortAllocator } from "./port-allocator.ts";

// Each test file owns a slice of ports below the kernel's ephemeral range (32768+), so neither
// parallel test files nor ephemeral sockets of other tests take them.
const BASE = 31000;

function bindRaw(port: number, address = "127.0.0.1"): Promise<() => Promise<void>> {
  const s = createSocket(address.includes(":") ? "udp6" : "udp4");
  return new Promise((resolve, reject) => {
    s.once("error", reject);
    s.bind(port, address, () => resolve(() => new Promise((r) => s.close(() => r()))));
  });
}

describe("port allocator", () => {
  it("binds RTP on an even port and RTCP on the next one (RFC 3550 11)", async () => {
    const alloc = createPortAllocator({ address: "127.0.0.1", portMin: BASE + 1, portMax: BASE + 9 });
    const pair = await alloc.allocate();
    try {
      assert.equal(pair.rtpPort % 2, 0);
      assert.equal(pair.rtcpPort, pair.rtpPort + 1);
      assert.ok(pair.rtpPort >= BASE + 2 && pair.rtcpPort <= BASE + 9);
      assert.equal(pair.rtp.address().port, pair.rtpPort);
      assert.equal(pair.rtcp?.address().port, pair.rtcpPort);
      assert.equal(alloc.inUse(), 2);
    } finally {
      await alloc.close();
    }
    assert.equal(alloc.inUse(), 0);
  });

  it("binds a single port for rtcp-mux (RFC 5761)", async () => {
    const alloc = createPortAllocator({ address: "127.0.0.1", portMin: BASE + 10, portMax: BASE + 13 });
    const pair = await alloc.allocate({ rtcpMux: true });
    assert.equal(pair.rtcpMux, true);
    assert.equal(pair.rtcp, undefined);
    assert.equal(pair.rtcpPort, pair.rtpPort);
    assert.equal(alloc.inUse(), 1);
    await alloc.close();
  });

  it("never hands out a port twice, fails with MEDIA_PORTS_EXHAUSTED, and reuses a released pair", async () => {
    const alloc = createPortAllocator({ address: "127.0.0.1", portMin: BASE + 20, portMax: BASE + 27 });
    assert.equal(alloc.capacity, 4);
    // Concurrent requests must not race for the same pair.
    const pairs = await Promise.all([alloc.allocate(), alloc.allocate(), alloc.allocate(), alloc.allocate()]);
    const ports = pairs.flatMap((p) => [p.rtpPort, p.rtcpPort]);
    assert.equal(new Set(ports).size, 8);
    await assert.rejects(alloc.allocate(), (e) => isMediaRelayError(e, "MEDIA_PORTS_EXHAUSTED"));
    await assert.rejects(alloc.allocate({ rtcpMux: true }), (e) => isMediaRelayError(e, "MEDIA_PORTS_EXHAUSTED"));
    const freed = pairs[1]!;
    await freed.release();
    await freed.release(); // twice is harmless
    const again = await alloc.allocate();
    assert.equal(again.rtpPort, freed.rtpPort);
    await alloc.close();
  });

  it("releases the ports to the OS: they can be bound again after release and after close", async () => {
    const alloc = createPortAllocator({ address: "127.0.0.1", portMin: BASE + 30, portMax: BASE + 33 });
    const a: PortPair = await alloc.allocate();
    await a.release();
    const closeRtp = await bindRaw(a.rtpPort);
    const closeRtcp = await bindRaw(a.rtcpPort);
    await closeRtp();
    await closeRtcp();
    const b = await alloc.allocate();
    await alloc.close();
    const closeAgain = await bindRaw(b.rtpPort);
    await closeAgain();
    await assert.rejects(alloc.allocate(), (e) => isMediaRelayError(e, "MEDIA_CLOSED"));
  });

  it("skips a port another process holds, leaving no half-bound pair behind", async () => {
    const alloc = createPortAllocator({ address: "127.0.0.1", portMin: BASE + 40, portMax: BASE + 43 });
    const closeForeign = await bindRaw(BASE + 41); // the RTCP half of the first pair
    try {
      const pair = await alloc.allocate();
      assert.equal(pair.rtpPort, BASE + 42);
      assert.equal(alloc.inUse(), 2);
      await assert.rejects(alloc.allocate(), (e) => isMediaRelayError(e, "MEDIA_PORTS_EXHAUSTED"));
      // The even port of the skipped pair was released again.
      const closeEven = await bindRaw(BASE + 40);
      await closeEven();
    } finally {
      await closeForeign();
      await alloc.close();
    }
  });

  it("serves muxed streams from odd ports once even ones run out", async () => {
    const alloc = createPortAllocator({ address: "127.0.0.1", portMin: BASE + 50, portMax: BASE + 51 });
    const first = await alloc.allocate({ rtcpMux: true });
    const second = await alloc.allocate({ rtcpMux: true });
    assert.deepEqual([first.rtpPort, second.rtpPort], [BASE + 50, BASE + 51]);
    await alloc.close();
  });

  it("binds on IPv6 loopback", async () => {
    const alloc = createPortAllocator({ address: "::1", portMin: BASE + 60, portMax: BASE + 63 });
    const pair = await alloc.allocate();
    assert.equal(pair.family, 6);
    assert.equal(pair.rtp.address().address, "::1");
    await alloc.close();
  });

  it("rejects unusable options with MEDIA_BAD_OPTIONS", () => {
    for (const bad of [
      { address: "localhost", portMin: 10000, portMax: 10010 },
      { address: "127.0.0.1", portMin: 10010, portMax: 10000 },
      { address: "127.0.0.1", portMin: 10001, portMax: 10002 },
      { address: "127.0.0.1", portMin: 0, portMax: 70000 },
    ]) {
      assert.throws(() => createPortAllocator(bad), (e) => isMediaRelayError(e, "MEDIA_BAD_OPTIONS"));
    }
  });
});
