import { test } from "node:test";
import assert from "node:assert/strict";
import { type RtcpSenderReport, marshalRtcpSenderReport, parseRtcpSenderReport, rtcpSenderReportSize } from "./rtcp-sender-report.ts";

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

const cases: { name: string; raw: Uint8Array; want: RtcpSenderReport }[] = [
  {
    name: "one report block",
    raw: bytes(
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
    ),
    want: {
      kind: "sr",
      ssrc: 0x11223344,
      ntpMsw: 0xe86b3c00,
      ntpLsw: 0x80000000,
      rtpTimestamp: 100000,
      packetCount: 500,
      octetCount: 80000,
      reports: [
        {
          ssrc: 0x55667788,
          fractionLost: 25,
          cumulativeLost: -2,
          highestSequence: 0x10005,
          jitter: 80,
          lastSenderReport: 0x3c008000,
          delaySinceLastSenderReport: 65536,
        },
      ],
      profileExtension: bytes(),
    },
  },
  {
    name: "no blocks, profile extension",
    raw: bytes(
      0x80, 0xc8, 0x00, 0x07, // V=2 P=0 RC=0, PT=200, length 7 (8 words)
      0x00, 0x00, 0x00, 0x01, // sender SSRC
      0x00, 0x00, 0x00, 0x02, // NTP msw
      0x00, 0x00, 0x00, 0x03, // NTP lsw
      0x00, 0x00, 0x00, 0x04, // RTP timestamp
      0x00, 0x00, 0x00, 0x05, // packet count
      0x00, 0x00, 0x00, 0x06, // octet count
      0xca, 0xfe, 0xba, 0xbe, // profile-specific extension
    ),
    want: {
      kind: "sr",
      ssrc: 1,
      ntpMsw: 2,
      ntpLsw: 3,
      rtpTimestamp: 4,
      packetCount: 5,
      octetCount: 6,
      reports: [],
      profileExtension: bytes(0xca, 0xfe, 0xba, 0xbe),
    },
  },
];

test("sender report: fields, and marshal(parse(x)) = x", () => {
  for (const c of cases) {
    const r = parseRtcpSenderReport(c.raw);
    assert.ok(r.ok, c.name);
    assert.deepEqual(r.value, c.want, c.name);
    assert.equal(rtcpSenderReportSize(c.want), c.raw.length);
    const out = new Uint8Array(c.raw.length);
    assert.equal(marshalRtcpSenderReport(c.want, out), c.raw.length);
    assert.deepEqual(out, c.raw, c.name);
  }
});

test("sender report: padding is stripped; short or mistyped packets are refused", () => {
  const padded = Uint8Array.from([...cases[1]!.raw.subarray(0, 28), 0, 0, 0, 4]);
  padded[0] = 0xa0; // P=1
  const r = parseRtcpSenderReport(padded);
  assert.ok(r.ok);
  assert.equal(r.value.profileExtension.length, 0);
  const rr = bytes(0x80, 0xc9, 0x00, 0x01, 0, 0, 0, 1);
  const wrong = parseRtcpSenderReport(rr);
  assert.ok(!wrong.ok && wrong.error === "RTCP_WRONG_TYPE");
  const short = parseRtcpSenderReport(bytes(0x80, 0xc8, 0x00, 0x01, 0, 0, 0, 1));
  assert.ok(!short.ok && short.error === "RTCP_TOO_SHORT");
});
