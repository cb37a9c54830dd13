import { test } from "node:test";
import assert from "node:assert/strict";
import { classifyPacket } from "./demux.ts";
import { type RtcpPacket, marshalRtcpCompound, parseRtcpCompound, parseRtcpPacket, rtcpCompoundSize } from "./rtcp-compound.ts";

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

// SR with one report block, 52 octets.
const SR = bytes(
  0x81, 0xc8, 0x00, 0x0c, // V=2 P=0 RC=1, PT=200, length 12 (13 words)
  0x11, 0x22, 0x33, 0x44, // sender SSRC
  0xe8, 0x6b, 0x3c, 0x00, // NTP msw
  0x80, 0x00, 0x00, 0x00, // NTP lsw (0.5 s)
  0x00, 0x01, 0x86, 0xa0, // RTP timestamp 100000
  0x00, 0x00, 0x01, 0xf4, // packet count 500
  0x00, 0x01, 0x38, 0x80, // octet count 80000
  0x55, 0x66, 0x77, 0x88, // block: source SSRC
  0x19, // fraction lost 25/256
  0xff, 0xff, 0xfe, // cumulative lost -2 (24-bit signed)
  0x00, 0x01, 0x00, 0x05, // extended highest seq: 1 cycle, seq 5
  0x00, 0x00, 0x00, 0x50, // jitter 80
  0x3c, 0x00, 0x80, 0x00, // LSR
  0x00, 0x01, 0x00, 0x00, // DLSR 1 s
);

// SDES with one chunk: CNAME "ab" and TOOL "t", then the terminating null and padding.
const SDES = bytes(
  0x81, 0xca, 0x00, 0x03, // V=2 P=0 SC=1, PT=202, length 3 (4 words)
  0x11, 0x22, 0x33, 0x44, // chunk SSRC
  0x01, 0x02, 0x61, 0x62, // CNAME, length 2, "ab"
  0x06, 0x01, 0x74, 0x00, // TOOL, length 1, "t", null terminator
);

// BYE for one source with reason "bye", padded to a word.
const BYE = bytes(
  0x81, 0xcb, 0x00, 0x02, // V=2 P=0 SC=1, PT=203, length 2 (3 words)
  0x11, 0x22, 0x33, 0x44, // SSRC
  0x03, 0x62, 0x79, 0x65, // reason length 3, "bye"
);

// APP packet: not decoded, kept raw; P set with 4 octets of padding.
const APP = bytes(
  0xa1, 0xcc, 0x00, 0x03, // V=2 P=1 subtype=1, PT=204, length 3
  0x11, 0x22, 0x33, 0x44, // SSRC
  0x6e, 0x61, 0x6d, 0x65, // name "name"
  0x00, 0x00, 0x00, 0x04, // padding, count 4
);

// RR with no report blocks (a receiver that has heard nothing yet).
const RR = bytes(
  0x80, 0xc9, 0x00, 0x01, // V=2 P=0 RC=0, PT=201, length 1
  0x99, 0x88, 0x77, 0x66, // SSRC
);

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

test("compound packet splits, and marshals back byte for byte", () => {
  const cases = [concat(SR, SDES, BYE), concat(RR, SDES), concat(SR, SDES, APP), RR];
  for (const raw of cases) {
    const r = parseRtcpCompound(raw);
    assert.ok(r.ok);
    assert.equal(rtcpCompoundSize(r.value), raw.length);
    const out = new Uint8Array(raw.length);
    assert.equal(marshalRtcpCompound(r.value, out), raw.length);
    assert.deepEqual(out, raw);
  }
  const kinds = parseRtcpCompound(concat(SR, SDES, APP, BYE));
  assert.ok(kinds.ok);
  assert.deepEqual(kinds.value.map((p) => p.kind), ["sr", "sdes", "raw", "bye"]);
});

test("marshal pads SDES chunks and BYE reasons to a word", () => {
  const packets: RtcpPacket[] = [
    { kind: "sdes", chunks: [{ source: 7, items: [{ type: 1, text: "user@host" }] }, { source: 8, items: [] }] },
    { kind: "bye", sources: [7, 8], reason: "hangup" },
    { kind: "bye", sources: [] },
  ];
  for (const p of packets) {
    const size = rtcpCompoundSize([p]);
    assert.equal(size % 4, 0);
    const out = new Uint8Array(size);
    assert.equal(marshalRtcpCompound([p], out), size);
    const back = parseRtcpPacket(out);
    assert.ok(back.ok);
    assert.deepEqual(back.value, p.kind === "bye" && p.reason === undefined ? { ...p } : p);
  }
});

test("malformed RTCP is a typed error", () => {
  const cases: { name: string; raw: Uint8Array; code: string }[] = [
    { name: "3 octets", raw: bytes(0x80, 0xc9, 0x00), code: "RTCP_TOO_SHORT" },
    { name: "version 0", raw: bytes(0x00, 0xc9, 0x00, 0x01, 0, 0, 0, 0), code: "RTCP_BAD_VERSION" },
    { name: "length past the end", raw: bytes(0x80, 0xc9, 0x00, 0x05, 0, 0, 0, 0), code: "RTCP_BAD_LENGTH" },
    { name: "RC=1 with no block", raw: bytes(0x81, 0xc9, 0x00, 0x01, 0, 0, 0, 0), code: "RTCP_COUNT_OVERRUN" },
    { name: "SR too short", raw: bytes(0x80, 0xc8, 0x00, 0x01, 0, 0, 0, 0), code: "RTCP_TOO_SHORT" },
    { name: "SDES item past the end", raw: bytes(0x81, 0xca, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x09, 0x61, 0x62), code: "RTCP_BAD_SDES" },
    { name: "padding larger than packet", raw: bytes(0xa0, 0xc9, 0x00, 0x01, 0, 0, 0, 0x40), code: "RTCP_BAD_PADDING" },
  ];
  for (const c of cases) {
    const r = parseRtcpCompound(c.raw);
    assert.ok(!r.ok, c.name);
    assert.equal(r.error, c.code, c.name);
  }
  for (let i = 0; i < 2000; i++) {
    const junk = Uint8Array.from({ length: (i % 13) * 4 }, (_, k) => (k === 0 ? 0x80 | (i & 0x1f) : (k * 97 + i * 31) & 0xff));
    parseRtcpCompound(junk);
  }
});

test("a muxed port tells RTP, RTCP, STUN and DTLS apart (RFC 5761 4, RFC 7983)", () => {
  const rtp = bytes(0x80, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1); // PT 0
  const rtpMarker = bytes(0x80, 0xe5, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1); // M=1 PT 101 -> 229, outside 192-223
  const cases: [string, Uint8Array, string][] = [
    ["RTP PCMU", rtp, "rtp"],
    ["RTP telephone-event with marker", rtpMarker, "rtp"],
    ["RTCP SR", SR, "rtcp"],
    ["RTCP RR", RR, "rtcp"],
    ["STUN binding request", bytes(0x00, 0x01, 0x00, 0x00), "stun"],
    ["DTLS handshake", bytes(0x16, 0xfe, 0xfd, 0x00), "dtls"],
    ["empty", bytes(), "unknown"],
    ["short RTP", bytes(0x80, 0x00, 0x00), "unknown"],
  ];
  for (const [name, raw, kind] of cases) assert.equal(classifyPacket(raw), kind, name);
});
