import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ReceiveStats,
  delayImpairment,
  effectiveEquipmentImpairment,
  mosFromEModel,
  mosFromR,
  ntpFromUnixMs,
  ntpMiddle32,
  rttFromReport,
  CODEC_IMPAIRMENTS,
  eModelCodecOf,
  SendStats,
  ntpMiddle32FromUnixMs,
} from "./quality.ts";

/** Feeds packets 20 ms apart (160 timestamp units at 8000 Hz) in the order given. */
function feed(seqs: readonly number[], firstTs = 0): ReceiveStats {
  const s = new ReceiveStats({ clockRate: 8000 });
  const base = seqs[0]!;
  for (const seq of seqs) {
    const n = (seq - base + 65536) % 65536;
    s.onPacket(seq, (firstTs + n * 160) >>> 0, n * 20, 172);
  }
  return s;
}

const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => (from + i) % 65536);

test("loss, reordering and duplicates from sequence numbers, across the wrap", () => {
  const cases: { name: string; seqs: number[]; expected: number; lost: number; outOfOrder: number; duplicates: number; highest: number }[] = [
    { name: "clean", seqs: range(0, 100), expected: 100, lost: 0, outOfOrder: 0, duplicates: 0, highest: 99 },
    {
      name: "two lost across the wrap",
      seqs: range(65530, 16).filter((s) => s !== 65533 && s !== 2),
      expected: 16,
      lost: 2,
      outOfOrder: 0,
      duplicates: 0,
      highest: 65536 + 9,
    },
    { name: "one swapped pair", seqs: [1, 2, 4, 3, 5], expected: 5, lost: 0, outOfOrder: 1, duplicates: 0, highest: 5 },
    { name: "reordered over the wrap", seqs: [65534, 0, 65535, 1], expected: 4, lost: 0, outOfOrder: 1, duplicates: 0, highest: 65537 },
    { name: "duplicates, immediate and late", seqs: [1, 2, 2, 3, 4, 2], expected: 4, lost: 0, outOfOrder: 0, duplicates: 2, highest: 4 },
    { name: "late packet fills a gap once", seqs: [10, 12, 11, 11], expected: 3, lost: 0, outOfOrder: 1, duplicates: 1, highest: 12 },
  ];
  for (const c of cases) {
    const snap = feed(c.seqs).snapshot();
    assert.equal(snap.expected, c.expected, c.name);
    assert.equal(snap.lost, c.lost, c.name);
    assert.equal(snap.outOfOrder, c.outOfOrder, c.name);
    assert.equal(snap.duplicates, c.duplicates, c.name);
    assert.equal(snap.highestSequence, c.highest, c.name);
    assert.equal(snap.packets, c.seqs.length, c.name);
  }
});

test("a jump is believed only when the next packet confirms it (RFC 3550 A.1)", () => {
  const s = new ReceiveStats({ clockRate: 8000 });
  assert.equal(s.onPacket(100, 0, 0, 10), "restart");
  assert.equal(s.onPacket(101, 160, 20, 10), "in-order");
  assert.equal(s.onPacket(40000, 320, 40, 10), "bad-sequence");
  assert.equal(s.onPacket(102, 480, 60, 10), "in-order", "stray packet ignored");
  assert.equal(s.onPacket(50000, 640, 80, 10), "bad-sequence");
  assert.equal(s.onPacket(50001, 800, 100, 10), "restart");
  assert.equal(s.snapshot().expected, 1);
});

test("interarrival jitter (RFC 3550 A.8) in timestamp units and ms, across the timestamp wrap", () => {
  for (const firstTs of [0, 0xffffff00 - 160 * 50]) {
    const steady = new ReceiveStats({ clockRate: 8000 });
    const wobbly = new ReceiveStats({ clockRate: 8000 });
    for (let i = 0; i < 400; i++) {
      const ts = (firstTs + i * 160) >>> 0;
      steady.onPacket(i, ts, 1000 + i * 20, 172);
      // Every other packet 10 ms late: |D| = 80 units each time, so J tends to 80.
      wobbly.onPacket(i, ts, 1000 + i * 20 + (i % 2) * 10, 172);
    }
    assert.equal(steady.snapshot().jitter, 0);
    const j = wobbly.snapshot();
    assert.ok(Math.abs(j.jitter - 80) < 0.01, `jitter ${j.jitter}`);
    assert.ok(Math.abs(j.jitterMs - 10) < 0.01);
  }
});

test("reception report: fraction lost per interval, cumulative lost, LSR/DLSR", () => {
  const s = new ReceiveStats({ clockRate: 8000 });
  for (const seq of range(0, 100)) if (seq % 4 !== 1) s.onPacket(seq, seq * 160, seq * 20, 172);
  const ntp = ntpFromUnixMs(1_700_000_000_000);
  s.onSenderReport(ntp.msw, ntp.lsw, 2000);
  const r1 = s.receptionReport(0xabc, 2500);
  assert.equal(r1.fractionLost, 64, "25% of 256");
  assert.equal(r1.cumulativeLost, 25);
  assert.equal(r1.highestSequence, 99);
  assert.equal(r1.lastSenderReport, ntpMiddle32(ntp.msw, ntp.lsw));
  assert.equal(r1.delaySinceLastSenderReport, 32768, "0.5 s in 1/65536 s");
  for (const seq of range(100, 50)) s.onPacket(seq, seq * 160, seq * 20, 172);
  const r2 = s.receptionReport(0xabc, 3000);
  assert.equal(r2.fractionLost, 0, "nothing lost in the second interval");
  assert.equal(r2.cumulativeLost, 25);
});

test("RTT from LSR and DLSR: the RFC 3550 6.4.1 example gives 6.125 s", () => {
  // A = 0xb710:8000 (46864.5 s), LSR = 0xb705:2000 (46853.125 s), DLSR = 0x0005:4000 (5.25 s).
  const rtt = rttFromReport({ lastSenderReport: 0xb7052000, delaySinceLastSenderReport: 0x00054000 }, 0xb7108000);
  assert.equal(rtt, 6125);
  assert.equal(rttFromReport({ lastSenderReport: 0, delaySinceLastSenderReport: 0 }, 0xb7108000), undefined);
  assert.equal(rttFromReport({ lastSenderReport: 0xb7108000, delaySinceLastSenderReport: 0x10000 }, 0xb7108000), undefined, "negative");
  const ntp = ntpFromUnixMs(0);
  assert.equal(ntp.msw, 2208988800);
  assert.equal(ntp.lsw, 0);
  assert.equal(ntpFromUnixMs(500).lsw, 0x80000000);
});

test("E-model: R and MOS at known points", () => {
  const clean = mosFromEModel({ codec: "PCMU", lossPercent: 0, jitterMs: 0, rttMs: 0 });
  assert.ok(Math.abs(clean.r - 93.2) < 0.05, `R ${clean.r}`);
  assert.ok(Math.abs(clean.mos - 4.41) < 0.01, `MOS ${clean.mos}`);
  const g729 = mosFromEModel({ codec: "G729", lossPercent: 0, jitterMs: 0, rttMs: 0 });
  assert.ok(Math.abs(g729.r - 82.2) < 0.05, `R ${g729.r}`);
  // 1% random loss on G.711 with PLC: Ie,eff = 95 * 1 / (1 + 25.1) = 3.64.
  assert.ok(Math.abs(effectiveEquipmentImpairment(CODEC_IMPAIRMENTS.PCMA, 1) - 3.64) < 0.01);
  const lossy = mosFromEModel({ codec: "PCMA", lossPercent: 1, jitterMs: 0, rttMs: 0 });
  assert.ok(Math.abs(lossy.r - 89.57) < 0.05, `R ${lossy.r}`);
  // R to MOS (G.107 Annex B).
  const points: [number, number][] = [[-5, 1], [0, 1], [50, 2.575], [80, 4.024], [100, 4.5], [120, 4.5]];
  for (const [r, mos] of points) assert.ok(Math.abs(mosFromR(r) - mos) < 0.001, `R ${r}`);
});

test("E-model: delay, jitter and loss only ever lower the score", () => {
  assert.ok(delayImpairment(0) < 0.2);
  assert.ok(delayImpairment(100) < delayImpairment(200));
  assert.ok(delayImpairment(200) < delayImpairment(400));
  const base = mosFromEModel({ codec: "PCMU", lossPercent: 0, jitterMs: 0, rttMs: 40 }).mos;
  const jittery = mosFromEModel({ codec: "PCMU", lossPercent: 0, jitterMs: 60, rttMs: 40 });
  assert.equal(jittery.oneWayDelayMs, 140);
  assert.ok(jittery.mos < base);
  const far = mosFromEModel({ codec: "PCMU", lossPercent: 0, jitterMs: 0, rttMs: 800 });
  assert.ok(far.mos < 3.9, `MOS at 400 ms one way ${far.mos}`);
  let last = 5;
  for (const loss of [0, 1, 2, 5, 10, 20]) {
    const m = mosFromEModel({ codec: "G729", lossPercent: loss, jitterMs: 10, rttMs: 60 }).mos;
    assert.ok(m < last, `loss ${loss}`);
    last = m;
  }
});

test("SDP encoding names map to E-model codecs", () => {
  assert.equal(eModelCodecOf("pcmu"), "PCMU");
  assert.equal(eModelCodecOf("OPUS"), "opus");
  assert.equal(eModelCodecOf("G729"), "G729");
  assert.equal(eModelCodecOf("telephone-event"), undefined);
});

test("sender report from send counters, and the RTT when its report block comes back", () => {
  const t0 = 1_700_000_000_000;
  const tx = new SendStats({ clockRate: 8000 });
  for (let i = 0; i < 50; i++) tx.onPacketSent(1000 + i * 160, 160, t0 + i * 20);
  // 10 ms after the last packet: 80 timestamp units later than it.
  const sr = tx.senderReport(0x1234, t0 + 49 * 20 + 10);
  assert.equal(sr.packetCount, 50);
  assert.equal(sr.octetCount, 8000);
  assert.equal(sr.rtpTimestamp, 1000 + 49 * 160 + 80);
  // The peer holds the SR 100 ms and its RR reaches us 180 ms after we sent the SR: RTT 80 ms.
  const sentAt = t0 + 49 * 20 + 10;
  const lsr = ntpMiddle32FromUnixMs(sentAt);
  assert.equal(lsr, ((sr.ntpMsw & 0xffff) << 16 | (sr.ntpLsw >>> 16)) >>> 0);
  const rtt = rttFromReport({ lastSenderReport: lsr, delaySinceLastSenderReport: Math.round(0.1 * 65536) }, ntpMiddle32FromUnixMs(sentAt + 180));
  assert.ok(rtt !== undefined && Math.abs(rtt - 80) < 0.1, `rtt ${rtt}`);
});
