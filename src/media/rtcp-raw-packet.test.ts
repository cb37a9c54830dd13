import { test } from "node:test";
import assert from "node:assert/strict";
import { marshalRtcpRawPacket, parseRtcpRawPacket } from "./rtcp-raw-packet.ts";

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

test("unknown types (APP, RTPFB, XR) are kept whole and written back unchanged", () => {
  const cases: [string, Uint8Array, number, number][] = [
    [
      "APP with padding",
      bytes(
        0xa1, 0xcc, 0x00, 0x03, // V=2 P=1 subtype=1, PT=204, length 3
        0x11, 0x22, 0x33, 0x44, // SSRC
        0x6e, 0x61, 0x6d, 0x65, // name "name"
        0x00, 0x00, 0x00, 0x04, // padding, count 4
      ),
      204,
      1,
    ],
    [
      "RTPFB generic NACK",
      bytes(
        0x81, 0xcd, 0x00, 0x03, // V=2 P=0 FMT=1, PT=205, length 3
        0x00, 0x00, 0x00, 0x01, // sender SSRC
        0x00, 0x00, 0x00, 0x02, // media SSRC
        0x00, 0x10, 0x00, 0x01, // PID 16, BLP 1
      ),
      205,
      1,
    ],
  ];
  for (const [name, raw, type, count] of cases) {
    const r = parseRtcpRawPacket(raw);
    assert.ok(r.ok, name);
    assert.equal(r.value.packetType, type);
    assert.equal(r.value.count, count);
    const out = new Uint8Array(raw.length);
    assert.equal(marshalRtcpRawPacket(r.value, out), raw.length);
    assert.deepEqual(out, raw);
  }
  const bad = parseRtcpRawPacket(bytes(0x80, 0xcc, 0x00, 0x03));
  assert.ok(!bad.ok && bad.error === "RTCP_BAD_LENGTH");
});
