import { test } from "node:test";
import assert from "node:assert/strict";
import { type RtcpSourceDescription, marshalRtcpSourceDescription, parseRtcpSourceDescription } from "./rtcp-sdes.ts";

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

const cases: { name: string; raw: Uint8Array; want: RtcpSourceDescription }[] = [
  {
    name: "CNAME and TOOL, terminator fits the last word",
    raw: bytes(
      0x81, 0xca, 0x00, 0x03, // V=2 P=0 SC=1, PT=202, length 3
      0x11, 0x22, 0x33, 0x44, // chunk SSRC
      0x01, 0x02, 0x61, 0x62, // CNAME, length 2, "ab"
      0x06, 0x01, 0x74, 0x00, // TOOL, length 1, "t", null terminator
    ),
    want: { kind: "sdes", chunks: [{ source: 0x11223344, items: [{ type: 1, text: "ab" }, { type: 6, text: "t" }] }] },
  },
  {
    name: "two chunks; the first ends on a word, so a whole null word follows",
    raw: bytes(
      0x82, 0xca, 0x00, 0x05, // V=2 P=0 SC=2, PT=202, length 5
      0x00, 0x00, 0x00, 0x01, // chunk 1 SSRC
      0x01, 0x02, 0x78, 0x79, // CNAME "xy"
      0x00, 0x00, 0x00, 0x00, // terminator and padding
      0x00, 0x00, 0x00, 0x02, // chunk 2 SSRC
      0x00, 0x00, 0x00, 0x00, // no items
    ),
    want: { kind: "sdes", chunks: [{ source: 1, items: [{ type: 1, text: "xy" }] }, { source: 2, items: [] }] },
  },
];

test("SDES: items per chunk, and marshal(parse(x)) = x", () => {
  for (const c of cases) {
    const r = parseRtcpSourceDescription(c.raw);
    assert.ok(r.ok, c.name);
    assert.deepEqual(r.value, c.want, c.name);
    const out = new Uint8Array(c.raw.length);
    assert.equal(marshalRtcpSourceDescription(c.want, out), c.raw.length, c.name);
    assert.deepEqual(out, c.raw, c.name);
  }
});

test("SDES: UTF-8 text round-trips; overlong items and missing terminators are refused", () => {
  const p: RtcpSourceDescription = { kind: "sdes", chunks: [{ source: 9, items: [{ type: 2, text: "Zoë 📞" }] }] };
  const out = new Uint8Array(64);
  const n = marshalRtcpSourceDescription(p, out);
  const back = parseRtcpSourceDescription(out.subarray(0, n));
  assert.ok(back.ok);
  assert.deepEqual(back.value, p);
  assert.equal(marshalRtcpSourceDescription({ kind: "sdes", chunks: [{ source: 1, items: [{ type: 1, text: "x".repeat(256) }] }] }, new Uint8Array(400)), -1);
  const unterminated = bytes(0x81, 0xca, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x02, 0x61, 0x62);
  const r = parseRtcpSourceDescription(unterminated);
  assert.ok(!r.ok && r.error === "RTCP_BAD_SDES");
});
