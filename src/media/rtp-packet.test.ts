import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type RtpPacket,
  marshalRtpPacket,
  parseRtpPacket,
  readRtpMarker,
  readRtpPayloadType,
  readRtpSequenceNumber,
  readRtpSsrc,
  readRtpTimestamp,
  rtpPacketSize,
  rtpPayloadOffset,
  writeRtpPayloadType,
  writeRtpSequenceNumber,
  writeRtpSsrc,
  writeRtpTimestamp,
} from "./rtp-packet.ts";

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

const valid: { name: string; raw: Uint8Array; want: RtpPacket }[] = [
  {
    name: "plain PCMU packet",
    raw: bytes(
      0x80, // V=2 P=0 X=0 CC=0
      0x00, // M=0 PT=0 (PCMU)
      0x12, 0x34, // sequence 0x1234
      0x00, 0x00, 0x0a, 0x00, // timestamp 2560
      0xde, 0xad, 0xbe, 0xef, // SSRC
      0xff, 0xfe, 0xfd, // payload
    ),
    want: {
      marker: false,
      payloadType: 0,
      sequenceNumber: 0x1234,
      timestamp: 2560,
      ssrc: 0xdeadbeef,
      csrc: [],
      extension: undefined,
      payload: bytes(0xff, 0xfe, 0xfd),
      paddingLength: 0,
    },
  },
  {
    name: "marker, two CSRCs, extension and padding",
    raw: bytes(
      0xb2, // V=2 P=1 X=1 CC=2
      0xe5, // M=1 PT=101 (telephone-event)
      0xff, 0xff, // sequence 65535
      0xff, 0xff, 0xff, 0xff, // timestamp 2^32-1
      0x00, 0x00, 0x00, 0x01, // SSRC 1
      0x00, 0x00, 0x00, 0x02, // CSRC 2
      0x00, 0x00, 0x00, 0x03, // CSRC 3
      0xbe, 0xde, 0x00, 0x01, // extension profile 0xBEDE, length 1 word
      0x10, 0xaa, 0x00, 0x00, // extension data
      0x05, 0x80, 0x00, 0xa0, // payload
      0x00, 0x00, 0x03, // padding: two zeros and the count 3
    ),
    want: {
      marker: true,
      payloadType: 101,
      sequenceNumber: 65535,
      timestamp: 0xffffffff,
      ssrc: 1,
      csrc: [2, 3],
      extension: { profile: 0xbede, data: bytes(0x10, 0xaa, 0x00, 0x00) },
      payload: bytes(0x05, 0x80, 0x00, 0xa0),
      paddingLength: 3,
    },
  },
];

test("parse reads every field of valid packets", () => {
  for (const c of valid) {
    const r = parseRtpPacket(c.raw);
    assert.ok(r.ok, c.name);
    assert.deepEqual(r.value, c.want, c.name);
  }
});

test("marshal(parse(x)) is x, into a caller's buffer at an offset", () => {
  for (const c of valid) {
    const r = parseRtpPacket(c.raw);
    assert.ok(r.ok);
    assert.equal(rtpPacketSize(r.value), c.raw.length);
    const out = new Uint8Array(c.raw.length + 8).fill(0x77);
    assert.equal(marshalRtpPacket(r.value, out, 4), c.raw.length, c.name);
    assert.deepEqual(out.subarray(4, 4 + c.raw.length), c.raw, c.name);
    assert.equal(out[3], 0x77);
    assert.equal(marshalRtpPacket(r.value, new Uint8Array(c.raw.length - 1)), -1, "too small");
  }
});

test("garbage is a typed error, never a throw", () => {
  const cases: { name: string; raw: Uint8Array; code: string }[] = [
    { name: "empty", raw: bytes(), code: "RTP_TOO_SHORT" },
    { name: "11 octets", raw: new Uint8Array(11).fill(0x80), code: "RTP_TOO_SHORT" },
    { name: "version 1", raw: bytes(0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), code: "RTP_BAD_VERSION" },
    { name: "CC=15 in 12 octets", raw: bytes(0x8f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), code: "RTP_CSRC_OVERRUN" },
    { name: "X set, no extension header", raw: bytes(0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), code: "RTP_EXTENSION_OVERRUN" },
    {
      name: "extension length past the end",
      raw: bytes(0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0x00, 0x09),
      code: "RTP_EXTENSION_OVERRUN",
    },
    { name: "padding count 0", raw: bytes(0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xaa, 0x00), code: "RTP_BAD_PADDING" },
    { name: "padding into header", raw: bytes(0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xaa, 0x09), code: "RTP_BAD_PADDING" },
  ];
  for (const c of cases) {
    const r = parseRtpPacket(c.raw);
    assert.ok(!r.ok, c.name);
    assert.equal(r.error, c.code, c.name);
  }
  for (let i = 0; i < 2000; i++) {
    const junk = Uint8Array.from({ length: i % 40 }, (_, k) => (k * 131 + i * 17) & 0xff);
    parseRtpPacket(junk);
    rtpPayloadOffset(junk);
  }
});

test("in-place accessors read and rewrite header fields without touching the rest", () => {
  const raw = Uint8Array.from(valid[1]!.raw);
  assert.equal(rtpPayloadOffset(raw), 28);
  assert.equal(readRtpPayloadType(raw), 101);
  assert.equal(readRtpMarker(raw), true);
  writeRtpPayloadType(raw, 96);
  assert.equal(readRtpPayloadType(raw), 96);
  assert.equal(readRtpMarker(raw), true, "marker kept");
  writeRtpSequenceNumber(raw, 65536 + 7);
  assert.equal(readRtpSequenceNumber(raw), 7);
  writeRtpTimestamp(raw, 2 ** 32 + 160);
  assert.equal(readRtpTimestamp(raw), 160);
  writeRtpSsrc(raw, 0xcafebabe);
  assert.equal(readRtpSsrc(raw), 0xcafebabe);
  assert.deepEqual(raw.subarray(12), valid[1]!.raw.subarray(12), "CSRCs, extension and payload unchanged");
});
