import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { FakeClock } from "../lib/index.ts";
import { createLogger } from "../observability/index.ts";
import type { SipLadderMessage } from "../ports/index.ts";
import { parseMessage, type Endpoint, type SipMessage } from "../sip/index.ts";
import { MemorySipLadderRepository } from "../storage/index.ts";
import { createSipLadderRecorder } from "./sip-ladder.ts";
import { ladderJson, ladderPcap, ladderText, summarize } from "./sip-ladder-format.ts";
import { addressBytes, createHepSender, encodeHep3, HEP_CHUNK } from "./sip-ladder-hep.ts";

const logger = createLogger({ level: "silent" });
const US: Endpoint = { address: "127.0.0.1", port: 5060 };
const PBX: Endpoint = { address: "127.0.24.1", port: 5062 };
const GW: Endpoint = { address: "127.0.22.1", port: 5070 };

function request(method: string, callId: string, opts: { toTag?: string; cseq?: number } = {}): string {
  return [
    `${method} sip:+15550400001@127.0.0.1 SIP/2.0`,
    "Via: SIP/2.0/UDP 127.0.24.1:5062;branch=z9hG4bK-1",
    "From: <sip:+15551230000@127.0.24.1>;tag=f1",
    `To: <sip:+15550400001@127.0.0.1>${opts.toTag === undefined ? "" : `;tag=${opts.toTag}`}`,
    `Call-ID: ${callId}`,
    `CSeq: ${opts.cseq ?? 1} ${method}`,
    "Max-Forwards: 70",
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n");
}

function response(status: number, reason: string, method: string, callId: string): string {
  return [
    `SIP/2.0 ${status} ${reason}`,
    "Via: SIP/2.0/UDP 127.0.24.1:5062;branch=z9hG4bK-1",
    "From: <sip:+15551230000@127.0.24.1>;tag=f1",
    "To: <sip:+15550400001@127.0.0.1>;tag=t1",
    `Call-ID: ${callId}`,
    `CSeq: 1 ${method}`,
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n");
}

function parsed(text: string): { message: SipMessage; data: Buffer } {
  const data = Buffer.from(text);
  const r = parseMessage(data);
  assert.ok(r.ok, "fixture parses");
  return { message: r.message, data };
}

function setup(options: Parameters<typeof createSipLadderRecorder>[0]["options"] = {}) {
  const clock = new FakeClock();
  const repository = new MemorySipLadderRepository();
  const recorder = createSipLadderRecorder({ repository, clock, logger, options: { lingerMs: 1000, ...options } });
  const tap = (direction: "in" | "out", text: string, remote: Endpoint, protocol: "UDP" | "TCP" = "UDP"): void => {
    const { message, data } = parsed(text);
    recorder.observe(direction, message, protocol === "UDP" ? data : null, protocol, US, remote);
  };
  return { clock, repository, recorder, tap };
}

describe("SIP ladder recorder", () => {
  it("captures both legs of a call under our id, in order, and saves them once the call has ended and lingered", async () => {
    const { clock, repository, recorder, tap } = setup();
    tap("in", request("INVITE", "a-leg"), PBX);
    tap("out", response(100, "Trying", "INVITE", "a-leg"), PBX);
    recorder.link("a-leg", "call-1", "a");
    recorder.link("b-leg", "call-1", "b");
    tap("out", request("INVITE", "b-leg"), GW);
    clock.advance(5);
    tap("in", response(180, "Ringing", "INVITE", "b-leg"), GW);
    tap("out", response(180, "Ringing", "INVITE", "a-leg"), PBX);
    tap("in", response(200, "OK", "INVITE", "b-leg"), GW);
    tap("out", response(200, "OK", "INVITE", "a-leg"), PBX);
    tap("in", request("ACK", "a-leg", { toTag: "t1" }), PBX);
    tap("out", request("ACK", "b-leg", { toTag: "t1" }), GW);
    tap("in", request("BYE", "a-leg", { toTag: "t1", cseq: 2 }), PBX);
    tap("out", request("BYE", "b-leg", { toTag: "t1", cseq: 2 }), GW);
    tap("out", response(200, "OK", "BYE", "a-leg"), PBX);
    recorder.finish("call-1");
    // The 200 to our BYE comes after the call ended: still caught during the linger.
    tap("in", response(200, "OK", "BYE", "b-leg"), GW);

    const live = await recorder.read("call-1");
    assert.equal(live?.live, true);
    assert.equal(await repository.get("call-1"), undefined, "not saved before the linger ends");
    clock.advance(1000);
    await new Promise((r) => setImmediate(r));
    const saved = await repository.get("call-1");
    assert.ok(saved !== undefined);
    const labels = saved.map((m) => `${m.leg}${m.direction === "in" ? "<" : ">"}${summarize(m.raw).kind === "request" ? summarize(m.raw).method : summarize(m.raw).status}`);
    assert.deepEqual(labels, [
      "a<INVITE", "a>100", "b>INVITE", "b<180", "a>180", "b<200", "a>200", "a<ACK", "b>ACK", "a<BYE", "b>BYE", "a>200", "b<200",
    ]);
    assert.ok((saved[3]?.at ?? 0) - (saved[0]?.at ?? 0) >= 5, "times follow the clock");
    const read = await recorder.read("call-1");
    assert.equal(read?.live, false);
    assert.equal(read?.messages.length, 13);
    assert.deepEqual(recorder.size(), { calls: 0, unclaimed: 0 });
    // After the save, the legs' Call-IDs are forgotten: a late retransmission is not captured.
    tap("in", response(200, "OK", "BYE", "b-leg"), GW);
    assert.deepEqual(recorder.size(), { calls: 0, unclaimed: 0 });
    await recorder.stop();
  });

  it("captures nothing of messages that belong to no call (OPTIONS, REGISTER, stray responses)", async () => {
    const { recorder, tap } = setup();
    tap("in", request("OPTIONS", "ping"), PBX);
    tap("out", response(200, "OK", "OPTIONS", "ping"), PBX);
    tap("in", request("REGISTER", "reg"), PBX);
    tap("in", response(200, "OK", "INVITE", "stray"), GW);
    tap("in", request("INVITE", "re-invite", { toTag: "x" }), PBX);
    assert.deepEqual(recorder.size(), { calls: 0, unclaimed: 0 });
    await recorder.stop();
  });

  it("drops an INVITE no call claims after unclaimedMs, and holds at most maxUnclaimed", async () => {
    const { clock, recorder, tap } = setup({ unclaimedMs: 1000, maxUnclaimed: 2 });
    tap("in", request("INVITE", "u1"), PBX);
    tap("in", request("INVITE", "u2"), PBX);
    tap("in", request("INVITE", "u3"), PBX);
    assert.equal(recorder.size().unclaimed, 2, "the oldest went first");
    clock.advance(1500);
    tap("in", request("INVITE", "u4"), PBX);
    assert.equal(recorder.size().unclaimed, 1);
    // An evicted Call-ID is no longer captured, except by a new initial INVITE.
    tap("out", response(407, "Proxy Authentication Required", "INVITE", "u1"), PBX);
    assert.equal(recorder.size().unclaimed, 1);
    await recorder.stop();
  });

  it("keeps at most maxMessagesPerCall and counts the rest", async () => {
    const { recorder, tap } = setup({ maxMessagesPerCall: 10 });
    tap("in", request("INVITE", "a"), PBX);
    recorder.link("a", "call-2", "a");
    for (let i = 0; i < 14; i++) tap("in", request("INVITE", "a"), PBX);
    const ladder = await recorder.read("call-2");
    assert.equal(ladder?.messages.length, 10);
    assert.equal(ladder?.dropped, 5);
    await recorder.stop();
  });

  it("serializes a TCP message (the transport has no bytes for it) and saves live ladders on stop", async () => {
    const { repository, recorder, tap } = setup();
    tap("in", request("INVITE", "tcp-call"), PBX, "TCP");
    recorder.link("tcp-call", "call-3", "a");
    const live = await recorder.read("call-3");
    assert.match(Buffer.from(live?.messages[0]?.raw ?? []).toString(), /^INVITE sip:\+15550400001@127\.0\.0\.1 SIP\/2\.0\r\n/);
    await recorder.stop();
    assert.equal((await repository.get("call-3"))?.length, 1);
  });

  it("copies a live call's bytes out of the transport's shared buffers after compactAfterMs, keeping them intact", async () => {
    const { clock, recorder } = setup({ compactAfterMs: 2000 });
    // Two messages in one shared slab, as Node's buffer pool hands them out.
    const a = Buffer.from(request("INVITE", "held"));
    const b = Buffer.from(response(200, "OK", "INVITE", "held"));
    const slab = Buffer.alloc(8192);
    a.copy(slab, 0);
    b.copy(slab, 4096);
    const pa = parsed(a.toString());
    const pb = parsed(b.toString());
    recorder.observe("in", pa.message, slab.subarray(0, a.length), "UDP", US, PBX);
    recorder.link("held", "call-held", "a");
    recorder.observe("out", pb.message, slab.subarray(4096, 4096 + b.length), "UDP", US, PBX);
    const before = await recorder.read("call-held");
    assert.equal(before?.messages[0]?.raw.buffer, slab.buffer, "kept as handed over at first");
    clock.advance(2000);
    const after = await recorder.read("call-held");
    assert.notEqual(after?.messages[0]?.raw.buffer, slab.buffer);
    assert.equal(after?.messages[0]?.raw.buffer, after?.messages[1]?.raw.buffer, "one buffer of the call's own");
    assert.equal(after?.messages[0]?.raw.buffer.byteLength, a.length + b.length);
    assert.deepEqual(Buffer.from(after!.messages[1]!.raw), b);
    await recorder.stop();
  });

  it("prunes saved ladders older than the retention, periodically", async () => {
    const clock = new FakeClock();
    const repository = new MemorySipLadderRepository();
    const msg: SipLadderMessage = { at: 1, direction: "in", leg: "a", protocol: "UDP", local: US, remote: PBX, raw: Buffer.from(request("INVITE", "x")) };
    await repository.save("old", clock.wallNow(), [msg]);
    const recorder = createSipLadderRecorder({ repository, clock, logger, options: { retentionMs: 60_000, pruneIntervalMs: 10_000 } });
    clock.advance(1);
    await new Promise((r) => setImmediate(r));
    assert.ok((await repository.get("old")) !== undefined, "younger than the retention");
    // The first run past the retention (every 10 s) removes it.
    clock.advance(70_000);
    await new Promise((r) => setImmediate(r));
    assert.equal(await repository.get("old"), undefined);
    await recorder.stop();
  });
});

function sampleLadder(protocol: "UDP" | "TCP", local: Endpoint, pbx: Endpoint, gw: Endpoint): SipLadderMessage[] {
  const t0 = Date.UTC(2026, 10, 24, 2, 0, 0) + 0.25;
  const m = (i: number, direction: "in" | "out", leg: "a" | "b", remote: Endpoint, text: string): SipLadderMessage => ({
    at: t0 + i * 10.5,
    direction,
    leg,
    protocol,
    local,
    remote,
    raw: Buffer.from(text),
  });
  return [
    m(0, "in", "a", pbx, request("INVITE", "a-leg")),
    m(1, "out", "a", pbx, response(100, "Trying", "INVITE", "a-leg")),
    m(2, "out", "b", gw, request("INVITE", "b-leg")),
    m(3, "in", "b", gw, response(200, "OK", "INVITE", "b-leg")),
    m(4, "out", "a", pbx, response(200, "OK", "INVITE", "a-leg")),
  ];
}

describe("SIP ladder formats", () => {
  it("summarizes start lines, Call-ID (long or compact) and CSeq", () => {
    const s = summarize(Buffer.from(response(486, "Busy Here", "INVITE", "c1")));
    assert.deepEqual({ kind: s.kind, method: s.method, status: s.status, reason: s.reason, callId: s.callId, cseq: s.cseq }, {
      kind: "response", method: "INVITE", status: 486, reason: "Busy Here", callId: "c1", cseq: "1 INVITE",
    });
    const r = summarize(Buffer.from("BYE sip:x@y SIP/2.0\r\ni: compact\r\nCSeq: 2 BYE\r\n\r\n"));
    assert.deepEqual({ kind: r.kind, method: r.method, callId: r.callId }, { kind: "request", method: "BYE", callId: "compact" });
  });

  it("lists messages as JSON with flows from the network's point of view", () => {
    const [first, , third] = ladderJson(sampleLadder("UDP", US, PBX, GW));
    assert.equal(first?.src, "127.0.24.1:5062");
    assert.equal(first?.dst, "127.0.0.1:5060");
    assert.equal(third?.src, "127.0.0.1:5060");
    assert.equal(third?.dst, "127.0.22.1:5070");
    assert.equal(third?.summary.method, "INVITE");
  });

  it("writes a readable text ladder with UTC microsecond times and every message in full", () => {
    const text = ladderText("call-9", sampleLadder("UDP", US, PBX, GW));
    assert.match(text, /^SIP ladder of call call-9: 5 message\(s\)/);
    assert.match(text, /2026-11-24 02:00:00\.000250 {2}\+0\.000000 +A< +UDP +127\.0\.24\.1:5062 -> 127\.0\.0\.1:5060 +INVITE {2}\(CSeq 1 INVITE\)/);
    assert.match(text, /\+0\.042000 +A> +UDP .* 200 OK/);
    assert.equal(text.match(/^==== #\d/gm)?.length, 5);
  });

  it("writes a libpcap file: header, one Ethernet/IPv4/UDP frame per message with correct lengths", () => {
    const pcap = ladderPcap(sampleLadder("UDP", US, PBX, GW));
    assert.equal(pcap.readUInt32LE(0), 0xa1b2c3d4);
    assert.equal(pcap.readUInt32LE(20), 1, "Ethernet link type");
    let off = 24;
    let frames = 0;
    while (off < pcap.length) {
      const incl = pcap.readUInt32LE(off + 8);
      const frame = pcap.subarray(off + 16, off + 16 + incl);
      assert.equal(frame.readUInt16BE(12), 0x0800);
      assert.equal(frame.readUInt16BE(14 + 2), incl - 14, "IPv4 total length");
      assert.equal(frame[14 + 9], 17, "UDP");
      assert.equal(frame.readUInt16BE(14 + 20 + 4), incl - 14 - 20, "UDP length");
      off += 16 + incl;
      frames++;
    }
    assert.equal(frames, 5);
    assert.equal(pcap.readUInt32LE(24), Math.floor(Date.UTC(2026, 10, 24, 2, 0, 0) / 1000));
    assert.equal(pcap.readUInt32LE(28), 250, "microseconds");
  });

  const tshark = ["/usr/bin/tshark"].find((p) => existsSync(p));
  it("is read by tshark as SIP over UDP/IPv4, TCP/IPv4 and UDP/IPv6 with the real addresses", { skip: tshark === undefined ? "tshark is not installed" : false }, () => {
    const dir = mkdtempSync(join(tmpdir(), "trunkline-pcap-"));
    try {
      const cases = [
        { protocol: "UDP" as const, local: US, pbx: PBX, gw: GW, src: "ip.src", dst: "ip.dst" },
        { protocol: "TCP" as const, local: US, pbx: PBX, gw: GW, src: "ip.src", dst: "ip.dst" },
        { protocol: "UDP" as const, local: { address: "::1", port: 5060 }, pbx: { address: "2001:db8::24", port: 5062 }, gw: { address: "2001:db8::22", port: 5070 }, src: "ipv6.src", dst: "ipv6.dst" },
      ];
      for (const c of cases) {
        const file = join(dir, `${c.protocol}-${c.src}.pcap`);
        writeFileSync(file, ladderPcap(sampleLadder(c.protocol, c.local, c.pbx, c.gw)));
        const out = execFileSync(tshark!, ["-r", file, "-Y", "sip", "-T", "fields", "-e", c.src, "-e", c.dst, "-e", "sip.Method", "-e", "sip.Status-Code", "-e", "sip.Call-ID"], {
          encoding: "utf8",
          env: { ...process.env, HOME: dir },
          stdio: ["ignore", "pipe", "ignore"],
        });
        const rows = out.trim().split("\n").map((l) => l.split("\t"));
        assert.equal(rows.length, 5, `${c.protocol} ${c.src}: ${out}`);
        assert.deepEqual(rows[0]?.slice(0, 3), [c.pbx.address, c.local.address, "INVITE"]);
        assert.deepEqual(rows[2]?.slice(0, 3), [c.local.address, c.gw.address, "INVITE"]);
        assert.equal(rows[3]?.[3], "200");
        assert.equal(rows[2]?.[4], "b-leg");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Reads a HEPv3 packet into its generic chunks (type -> value). */
function decodeHep(packet: Buffer): Map<number, Buffer> {
  assert.equal(packet.toString("latin1", 0, 4), "HEP3");
  assert.equal(packet.readUInt16BE(4), packet.length, "total length");
  const chunks = new Map<number, Buffer>();
  let off = 6;
  while (off < packet.length) {
    assert.equal(packet.readUInt16BE(off), 0, "generic vendor");
    const type = packet.readUInt16BE(off + 2);
    const length = packet.readUInt16BE(off + 4);
    assert.ok(length >= 6 && off + length <= packet.length, "chunk length");
    chunks.set(type, packet.subarray(off + 6, off + length));
    off += length;
  }
  return chunks;
}

describe("HEPv3", () => {
  it("writes IPv6 addresses in full, :: and IPv4-mapped included", () => {
    assert.equal(addressBytes("::1").toString("hex"), "00000000000000000000000000000001");
    assert.equal(addressBytes("2001:db8::22").toString("hex"), "20010db8000000000000000000000022");
    assert.equal(addressBytes("::ffff:127.0.0.1").toString("hex"), "00000000000000000000ffff7f000001");
    assert.equal(addressBytes("10.1.2.3").toString("hex"), "0a010203");
  });

  it("encodes each chunk the HEP3 specification names, with the flow as the network saw it", () => {
    const [invite] = sampleLadder("UDP", US, PBX, GW);
    const c = decodeHep(encodeHep3(invite!, { captureId: 2001, authKey: "k" }, "call-1"));
    assert.equal(c.get(HEP_CHUNK.ipFamily)?.[0], 2);
    assert.equal(c.get(HEP_CHUNK.ipProtocol)?.[0], 17);
    assert.equal(c.get(HEP_CHUNK.ipv4Source)?.toString("hex"), "7f001801");
    assert.equal(c.get(HEP_CHUNK.ipv4Destination)?.toString("hex"), "7f000001");
    assert.equal(c.get(HEP_CHUNK.sourcePort)?.readUInt16BE(), 5062);
    assert.equal(c.get(HEP_CHUNK.destinationPort)?.readUInt16BE(), 5060);
    assert.equal(c.get(HEP_CHUNK.timestampSeconds)?.readUInt32BE(), Math.floor(Date.UTC(2026, 10, 24, 2) / 1000));
    assert.equal(c.get(HEP_CHUNK.timestampMicros)?.readUInt32BE(), 250);
    assert.equal(c.get(HEP_CHUNK.protocolType)?.[0], 1);
    assert.equal(c.get(HEP_CHUNK.captureAgentId)?.readUInt32BE(), 2001);
    assert.equal(c.get(HEP_CHUNK.authKey)?.toString(), "k");
    assert.equal(c.get(HEP_CHUNK.correlationId)?.toString(), "call-1");
    assert.match(c.get(HEP_CHUNK.payload)?.toString() ?? "", /^INVITE sip:/);
  });

  it("sends every captured message to a collector over UDP", async () => {
    const collector = createSocket("udp4");
    const received: Buffer[] = [];
    await new Promise<void>((r) => collector.bind(0, "127.0.0.1", () => r()));
    const gotAll = new Promise<void>((r) =>
      collector.on("message", (m) => {
        received.push(m);
        if (received.length === 3) r();
      }),
    );
    const hep = createHepSender({ host: "127.0.0.1", port: collector.address().port, captureId: 7 }, logger);
    const clock = new FakeClock();
    const recorder = createSipLadderRecorder({ repository: new MemorySipLadderRepository(), clock, logger, sink: hep });
    try {
      const invite = parsed(request("INVITE", "h1"));
      recorder.observe("in", invite.message, invite.data, "UDP", US, PBX);
      recorder.link("h1", "call-h", "a");
      const trying = parsed(response(100, "Trying", "INVITE", "h1"));
      recorder.observe("out", trying.message, trying.data, "UDP", US, PBX);
      const other = parsed(request("OPTIONS", "not-a-call"));
      recorder.observe("in", other.message, other.data, "UDP", US, PBX);
      const bInvite = parsed(request("INVITE", "h1-b"));
      recorder.link("h1-b", "call-h", "b");
      recorder.observe("out", bInvite.message, bInvite.data, "UDP", US, GW);
      await gotAll;
      const decoded = received.map(decodeHep);
      assert.deepEqual(
        decoded.map((c) => summarize(c.get(HEP_CHUNK.payload) ?? Buffer.alloc(0)).startLine.split(" ")[0]),
        ["INVITE", "SIP/2.0", "INVITE"],
      );
      assert.equal(decoded[0]?.get(HEP_CHUNK.correlationId), undefined, "not linked yet when the INVITE came");
      assert.equal(decoded[1]?.get(HEP_CHUNK.correlationId)?.toString(), "call-h");
      assert.equal(decoded[2]?.get(HEP_CHUNK.ipv4Destination)?.toString("hex"), "7f001601");
      assert.equal(decoded[2]?.get(HEP_CHUNK.captureAgentId)?.readUInt32BE(), 7);
    } finally {
      await recorder.stop();
      await hep.close();
      collector.close();
    }
  });
});
