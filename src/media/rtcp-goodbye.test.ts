import { test } from "node:test";
import assert from "node:assert/strict";
import { type RtcpGoodbye, marshalRtcpGoodbye, parseRtcpGoodbye } from "./rtcp-goodbye.ts";

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

const cases: { name: string; raw: Uint8Array; want: RtcpGoodbye }[] = [
  {
    name: "one source with a reason",
    raw: bytes(
      0x81, 0xcb, 0x00, 0x02, // V=2 P=0 SC=1, PT=203, length 2
      0x11, 0x22, 0x33, 0x44, // SSRC
      0x03, 0x62, 0x79, 0x65, // reason length 3, "bye"
    ),
    want: { kind: "bye", sources: [0x11223344], reason: "bye" },
  },
  {
    name: "two sources, reason padded",
    raw: bytes(
      0x82, 0xcb, 0x00, 0x04, // V=2 P=0 SC=2, PT=203, length 4
      0x00, 0x00, 0x00, 0x01, // SSRC
      0x00, 0x00, 0x00, 0x02, // CSRC
      0x04, 0x64, 0x6f, 0x6e, // reason length 4, "don"
      0x65, 0x00, 0x00, 0x00, // "e", padding
    ),
    want: { kind: "bye", sources: [1, 2], reason: "done" },
  },
  {
    name: "no source, no reason",
    raw: bytes(0x80, 0xcb, 0x00, 0x00), // V=2 P=0 SC=0, PT=203, length 0
    want: { kind: "bye", sources: [] },
  },
];

test("BYE: sources and reason, and marshal(parse(x)) = x", () => {
  for (const c of cases) {
    const r = parseRtcpGoodbye(c.raw);
    assert.ok(r.ok, c.name);
    assert.deepEqual(r.value, c.want, c.name);
    const out = new Uint8Array(c.raw.length);
    assert.equal(marshalRtcpGoodbye(c.want, out), c.raw.length, c.name);
    assert.deepEqual(out, c.raw, c.name);
  }
});

test("BYE: a reason longer than the packet is refused", () => {
  const r = parseRtcpGoodbye(bytes(0x81, 0xcb, 0x00, 0x02, 0, 0, 0, 1, 0x09, 0x61, 0x62, 0x63));
  assert.ok(!r.ok && r.error === "RTCP_BAD_LENGTH");
  const sc = parseRtcpGoodbye(bytes(0x82, 0xcb, 0x00, 0x01, 0, 0, 0, 1));
  assert.ok(!sc.ok && sc.error === "RTCP_COUNT_OVERRUN");
});
