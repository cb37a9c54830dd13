import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ALAW_TO_ULAW,
  ULAW_TO_ALAW,
  decodeAlaw,
  decodeG711,
  decodeUlaw,
  encodeAlaw,
  encodeG711,
  encodeUlaw,
  transcodeG711,
  transcodeRtpPacketG711,
} from "./g711.ts";

test("known code words decode to the G.711 values", () => {
  // [code, linear] for µ-law: 0xFF and 0x7F are +0 and -0; 0x80/0x00 are the extremes.
  const ulaw: [number, number][] = [
    [0xff, 0],
    [0x7f, 0],
    [0xfe, 8],
    [0x7e, -8],
    [0x80, 32124],
    [0x00, -32124],
  ];
  for (const [code, value] of ulaw) assert.equal(decodeUlaw(code), value, `µ-law ${code.toString(16)}`);
  // A-law: 0xD5/0x55 are the smallest positive/negative steps; 0xAA/0x2A the extremes.
  const alaw: [number, number][] = [
    [0xd5, 8],
    [0x55, -8],
    [0xaa, 32256],
    [0x2a, -32256],
  ];
  for (const [code, value] of alaw) assert.equal(decodeAlaw(code), value, `A-law ${code.toString(16)}`);
});

test("encode picks the code word whose decision interval holds the sample", () => {
  const cases: [number, number, number][] = [
    // [sample, µ-law, A-law]
    [0, 0xff, 0xd5],
    [-1, 0x7f, 0x55],
    [32767, 0x80, 0xaa],
    [-32768, 0x00, 0x2a],
    [1000, 0xce, 0xfa],
  ];
  for (const [s, u, a] of cases) {
    assert.equal(encodeUlaw(s), u, `µ-law ${s}`);
    assert.equal(encodeAlaw(s), a, `A-law ${s}`);
  }
});

test("decode then encode gives every code word back", () => {
  for (let c = 0; c < 256; c++) {
    if (c !== 0x7f) assert.equal(encodeUlaw(decodeUlaw(c)), c); // -0 encodes as +0
    assert.equal(encodeAlaw(decodeAlaw(c)), c);
  }
});

test("quantization error stays within half a step of each segment", () => {
  for (let s = -32000; s <= 32000; s += 7) {
    const u = decodeUlaw(encodeUlaw(s));
    const a = decodeAlaw(encodeAlaw(s));
    const limit = Math.max(16, Math.abs(s) / 16);
    assert.ok(Math.abs(u - s) <= limit, `µ-law ${s} -> ${u}`);
    assert.ok(Math.abs(a - s) <= limit, `A-law ${s} -> ${a}`);
  }
});

test("µ-law <-> A-law tables keep the sign and stay close in value", () => {
  for (let c = 0; c < 256; c++) {
    const viaA = decodeAlaw(ULAW_TO_ALAW[c]!);
    const u = decodeUlaw(c);
    assert.ok(Math.abs(viaA - u) <= Math.max(16, Math.abs(u) / 16), `µ ${c}`);
    const viaU = decodeUlaw(ALAW_TO_ULAW[c]!);
    const a = decodeAlaw(c);
    assert.ok(Math.abs(viaU - a) <= Math.max(16, Math.abs(a) / 16), `A ${c}`);
  }
  assert.equal(ULAW_TO_ALAW[0xff], 0xd5);
  assert.equal(ALAW_TO_ULAW[0xd5], 0xfe);
});

test("payload transcoding in place and into a target buffer", () => {
  const payload = Uint8Array.from([0xff, 0x80, 0x00, 0x7e, 0xce]);
  const target = new Uint8Array(8);
  assert.equal(transcodeG711(payload, "PCMU", "PCMA", target), 5);
  assert.deepEqual([...target.subarray(0, 5)], [...payload].map((c) => ULAW_TO_ALAW[c]!));
  const inPlace = Uint8Array.from(payload);
  transcodeG711(inPlace, "PCMU", "PCMA");
  assert.deepEqual(inPlace, target.subarray(0, 5));
  assert.equal(transcodeG711(payload, "PCMA", "PCMA", target), 5);
  assert.equal(transcodeG711(payload, "PCMU", "PCMA", new Uint8Array(2)), -1);

  const pcm = Int16Array.from([0, 1000, -1000, 32767]);
  const coded = new Uint8Array(4);
  assert.equal(encodeG711(pcm, "PCMA", coded), 4);
  const back = new Int16Array(4);
  assert.equal(decodeG711(coded, "PCMA", back), 4);
  assert.deepEqual([...back], [8, 1008, -1008, 32256]);
});

test("an RTP packet is transcoded in place, padding and header untouched but the payload type", () => {
  const packet = Uint8Array.from([
    0xa0, // V=2 P=1 X=0 CC=0
    0x80, // M=1 PT=0 (PCMU)
    0x00, 0x01, 0x00, 0x00, 0x00, 0xa0, 0x00, 0x00, 0x00, 0x07, // seq 1, ts 160, SSRC 7
    0xff, 0x80, 0x00, // µ-law payload
    0xff, 0x02, // padding: one octet and the count 2
  ]);
  assert.equal(transcodeRtpPacketG711(packet, "PCMU", "PCMA"), true);
  assert.equal(packet[1], 0x88, "marker kept, PT 8");
  assert.deepEqual([...packet.subarray(12, 15)], [ULAW_TO_ALAW[0xff], ULAW_TO_ALAW[0x80], ULAW_TO_ALAW[0x00]]);
  assert.deepEqual([...packet.subarray(15)], [0xff, 0x02], "padding untouched");
  assert.equal(transcodeRtpPacketG711(packet, "PCMU", "PCMA"), false, "already PCMA");
  assert.equal(transcodeRtpPacketG711(Uint8Array.from([0x80, 0x00, 0x00]), "PCMU", "PCMA"), false, "short");
});
