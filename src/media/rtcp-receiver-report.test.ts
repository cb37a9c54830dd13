import { test } from "node:test";
import assert from "node:assert/strict";
import { type RtcpReceiverReport, marshalRtcpReceiverReport, parseRtcpReceiverReport } from "./rtcp-receiver-report.ts";

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

const cases: { name: string; raw: Uint8Array; want: RtcpReceiverReport }[] = [
  {
    name: "empty (nothing received yet)",
    raw: bytes(
      0x80, 0xc9, 0x00, 0x01, // V=2 P=0 RC=0, PT=201, length 1
      0x99, 0x88, 0x77, 0x66, // SSRC
    ),
    want: { kind: "rr", ssrc: 0x99887766, reports: [], profileExtension: bytes() },
  },
  {
    name: "two blocks, extreme values",
    raw: bytes(
      0x82, 0xc9, 0x00, 0x0d, // V=2 P=0 RC=2, PT=201, length 13
      0x00, 0x00, 0x00, 0x01, // SSRC
      0x00, 0x00, 0x00, 0x02, // block 1: source
      0xff, 0x7f, 0xff, 0xff, // fraction 255, cumulative +8388607 (largest)
      0xff, 0xff, 0xff, 0xff, // highest sequence
      0x00, 0x00, 0x00, 0x00, // jitter 0
      0x00, 0x00, 0x00, 0x00, // LSR none
      0x00, 0x00, 0x00, 0x00, // DLSR none
      0x00, 0x00, 0x00, 0x03, // block 2: source
      0x00, 0x80, 0x00, 0x00, // fraction 0, cumulative -8388608 (smallest)
      0x00, 0x00, 0x00, 0x10, // highest sequence 16
      0x00, 0x00, 0x01, 0x00, // jitter 256
      0x12, 0x34, 0x56, 0x78, // LSR
      0x00, 0x00, 0x80, 0x00, // DLSR 0.5 s
    ),
    want: {
      kind: "rr",
      ssrc: 1,
      reports: [
        { ssrc: 2, fractionLost: 255, cumulativeLost: 8388607, highestSequence: 0xffffffff, jitter: 0, lastSenderReport: 0, delaySinceLastSenderReport: 0 },
        { ssrc: 3, fractionLost: 0, cumulativeLost: -8388608, highestSequence: 16, jitter: 256, lastSenderReport: 0x12345678, delaySinceLastSenderReport: 0x8000 },
      ],
      profileExtension: bytes(),
    },
  },
];

test("receiver report: fields, and marshal(parse(x)) = x", () => {
  for (const c of cases) {
    const r = parseRtcpReceiverReport(c.raw);
    assert.ok(r.ok, c.name);
    assert.deepEqual(r.value, c.want, c.name);
    const out = new Uint8Array(c.raw.length);
    assert.equal(marshalRtcpReceiverReport(c.want, out), c.raw.length);
    assert.deepEqual(out, c.raw, c.name);
  }
});

test("receiver report: cumulative loss beyond 24 bits is clamped, RC beyond the data refused", () => {
  const block = { ssrc: 2, fractionLost: 0, cumulativeLost: 1e9, highestSequence: 0, jitter: 0, lastSenderReport: 0, delaySinceLastSenderReport: 0 };
  const out = new Uint8Array(32);
  assert.equal(marshalRtcpReceiverReport({ kind: "rr", ssrc: 1, reports: [block], profileExtension: bytes() }, out), 32);
  const back = parseRtcpReceiverReport(out);
  assert.ok(back.ok);
  assert.equal(back.value.reports[0]!.cumulativeLost, 8388607);
  const overrun = parseRtcpReceiverReport(bytes(0x81, 0xc9, 0x00, 0x01, 0, 0, 0, 0));
  assert.ok(!overrun.ok && overrun.error === "RTCP_COUNT_OVERRUN");
  assert.equal(marshalRtcpReceiverReport(cases[1]!.want, new Uint8Array(10)), -1);
});
