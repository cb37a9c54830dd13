import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import {
  type SdpParseErrorCode,
  type SessionDescription,
  attributeValue,
  codecsOf,
  cryptosOf,
  iceOf,
  maxptimeOf,
  mediaDirection,
  parseSdp,
  ptimeOf,
  rtcpMuxOf,
  rtcpOf,
  serializeSdp,
} from "./index.ts";

const FIXTURES = fileURLToPath(new URL("../../test/fixtures/sdp/", import.meta.url));

function fixture(name: string): string {
  return readFileSync(FIXTURES + name, "utf8");
}

function sdp(...lines: string[]): string {
  return lines.map((l) => `${l}\r\n`).join("");
}

function parsed(text: string): SessionDescription {
  const r = parseSdp(text);
  if (!r.ok) assert.fail(`parse failed: ${r.error.code} ${r.error.message}`);
  return r.value;
}

test("serialize(parse(x)) reproduces every fixture byte for byte", () => {
  const names = readdirSync(FIXTURES).filter((n) => n.endsWith(".sdp"));
  assert.ok(names.length >= 6);
  for (const name of names) {
    const text = fixture(name);
    assert.ok(text.includes("\r\n"), `${name} must use CRLF`);
    assert.equal(serializeSdp(parsed(text)), text, name);
  }
});

test("bare LF input is accepted and written back with CRLF", () => {
  const crlf = fixture("pbx-offer.sdp");
  const lf = crlf.replaceAll("\r\n", "\n");
  assert.equal(serializeSdp(parsed(lf)), crlf);
  // A body whose last line lacks its line end is still complete.
  assert.equal(serializeSdp(parsed(lf.trimEnd())), crlf);
});

test("typed fields of the session and media sections", () => {
  const cases: { name: string; check: (s: SessionDescription) => void }[] = [
    {
      name: "pbx-offer.sdp",
      check: (s) => {
        assert.deepEqual(s.origin, { username: "-", sessionId: "1204565281", sessionVersion: "1204565281", netType: "IN", addrType: "IP4", address: "192.0.2.10" });
        assert.deepEqual(s.connection, { netType: "IN", addrType: "IP4", address: "192.0.2.10" });
        assert.deepEqual(s.bandwidths, [{ type: "CT", value: 384 }]);
        assert.deepEqual(s.timings, [{ start: 0, stop: 0, repeats: [] }]);
        const m = s.media[0]!;
        assert.equal(m.port, 10562);
        assert.deepEqual(m.formats, ["9", "0", "8", "18", "101"]);
        assert.deepEqual(
          codecsOf(m).map((c) => [c.payloadType, c.name, c.clockRate, c.channels, c.fmtp]),
          [
            [9, "G722", 8000, 1, undefined],
            [0, "PCMU", 8000, 1, undefined],
            [8, "PCMA", 8000, 1, undefined],
            [18, "G729", 8000, 1, "annexb=no"],
            [101, "telephone-event", 8000, 1, "0-16"],
          ],
        );
        assert.equal(ptimeOf(m), 20);
        assert.equal(maxptimeOf(m), 150);
        assert.deepEqual(rtcpOf(m), { port: 10563 });
        assert.equal(rtcpMuxOf(m), false);
        assert.equal(mediaDirection(m, s), "sendrecv");
      },
    },
    {
      name: "srtp-ice.sdp",
      check: (s) => {
        assert.equal(s.origin.sessionId, "4611731400430051336");
        assert.equal(s.connection, undefined);
        const m = s.media[0]!;
        assert.equal(m.protocol, "RTP/SAVPF");
        assert.deepEqual(m.connections, [{ netType: "IN", addrType: "IP4", address: "203.0.113.7" }]);
        assert.deepEqual(rtcpOf(m), { port: 54400, netType: "IN", addrType: "IP4", address: "203.0.113.7" });
        assert.equal(rtcpMuxOf(m), true);
        assert.deepEqual(cryptosOf(m), [
          { tag: 1, suite: "AES_CM_128_HMAC_SHA1_80", keyParams: ["inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32"], sessionParams: [] },
          { tag: 2, suite: "AES_CM_128_HMAC_SHA1_32", keyParams: ["inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:32"], sessionParams: ["UNENCRYPTED_SRTCP"] },
        ]);
        const ice = iceOf(m, s);
        assert.equal(ice.ufrag, "Oyef7uvBlwafI3hT");
        assert.equal(ice.pwd, "T0teqPLNQQOf+5W+ls+P2p16");
        assert.equal(ice.candidates.length, 2);
        assert.deepEqual(codecsOf(m).map((c) => `${c.name}/${c.clockRate}/${c.channels}`), ["opus/48000/2", "PCMU/8000/1", "PCMA/8000/1", "telephone-event/8000/1"]);
        assert.equal(attributeValue(s.attributes, "group"), "BUNDLE 0");
      },
    },
    {
      name: "ipv6.sdp",
      check: (s) => {
        assert.equal(s.origin.addrType, "IP6");
        assert.equal(s.origin.address, "2001:db8:85a3::8a2e:370:7334");
        assert.deepEqual(s.media[0]!.connections, [{ netType: "IN", addrType: "IP6", address: "2001:db8::1" }]);
      },
    },
    {
      name: "extensions.sdp",
      check: (s) => {
        assert.deepEqual(s.connection, { netType: "IN", addrType: "IP4", address: "224.2.17.12", ttl: 127 });
        assert.deepEqual(s.timings, [{ start: 2873397496, stop: 2873404696, repeats: ["7d 1h 0 25h"] }]);
        assert.equal(s.zone, "2882844526 -1h 2898848070 0");
        assert.equal(s.key, "prompt");
        assert.deepEqual(s.attributes, [
          { kind: "attribute", name: "recvonly", value: null },
          { kind: "line", type: "x", value: "unknown line kept in place" },
        ]);
        const m = s.media[0]!;
        assert.equal(m.portCount, 2);
        assert.equal(m.information, "main audio");
        assert.deepEqual(m.attributes.slice(1), [
          { kind: "attribute", name: "x-vendor", value: "value with spaces" },
          { kind: "attribute", name: "empty", value: "" },
        ]);
        assert.equal(mediaDirection(m, s), "recvonly", "session-level direction applies to media without its own");
      },
    },
    {
      name: "t38.sdp",
      check: (s) => {
        const m = s.media[0]!;
        assert.deepEqual([m.type, m.protocol, m.formats], ["image", "udptl", ["t38"]]);
        assert.deepEqual(codecsOf(m), []);
      },
    },
  ];
  for (const c of cases) c.check(parsed(fixture(c.name)));
});

test("IPv6 multicast c= takes a count and no TTL", () => {
  const body = "v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ff15::101/3\r\nt=0 0\r\n";
  const s = parsed(body);
  assert.deepEqual(s.connection, { netType: "IN", addrType: "IP6", address: "ff15::101", count: 3 });
  assert.equal(serializeSdp(s), body);
});

test("bad input gives a typed error and never throws", () => {
  const head = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n";
  const cases: { name: string; body: string; code: SdpParseErrorCode; line?: number }[] = [
    { name: "empty", body: "", code: "SDP_EMPTY" },
    { name: "only blank lines", body: "\r\n\r\n", code: "SDP_EMPTY" },
    { name: "not SDP", body: "hello world", code: "SDP_BAD_LINE", line: 1 },
    { name: "v= not first", body: "o=- 1 1 IN IP4 192.0.2.1\r\nv=0\r\n", code: "SDP_MISSING_LINE", line: 1 },
    { name: "v=1", body: "v=1\r\n", code: "SDP_BAD_VERSION", line: 1 },
    { name: "short o=", body: "v=0\r\no=- 1 1 IN IP4\r\ns=-\r\nt=0 0\r\n", code: "SDP_BAD_ORIGIN", line: 2 },
    { name: "o= with a word as version", body: "v=0\r\no=- 1 x IN IP4 a\r\ns=-\r\nt=0 0\r\n", code: "SDP_BAD_ORIGIN", line: 2 },
    { name: "missing o=", body: "v=0\r\ns=-\r\nt=0 0\r\n", code: "SDP_MISSING_LINE" },
    { name: "missing s=", body: "v=0\r\no=- 1 1 IN IP4 a\r\nt=0 0\r\n", code: "SDP_MISSING_LINE" },
    { name: "missing t=", body: `${head}m=audio 1 RTP/AVP 0\r\n`, code: "SDP_MISSING_LINE" },
    { name: "bad c=", body: `${head}c=IN IP4\r\nt=0 0\r\n`, code: "SDP_BAD_CONNECTION", line: 4 },
    { name: "bad t=", body: `${head}t=now later\r\n`, code: "SDP_BAD_TIMING", line: 4 },
    { name: "bad b=", body: `${head}b=AS\r\nt=0 0\r\n`, code: "SDP_BAD_BANDWIDTH", line: 4 },
    { name: "port too big", body: `${head}t=0 0\r\nm=audio 70000 RTP/AVP 0\r\n`, code: "SDP_BAD_MEDIA", line: 5 },
    { name: "m= without protocol", body: `${head}t=0 0\r\nm=audio 7000\r\n`, code: "SDP_BAD_MEDIA", line: 5 },
    { name: "t= inside media", body: `${head}t=0 0\r\nm=audio 7000 RTP/AVP 0\r\nt=0 0\r\n`, code: "SDP_MISPLACED_LINE", line: 6 },
    { name: "two o= lines", body: `${head}o=- 1 1 IN IP4 b\r\nt=0 0\r\n`, code: "SDP_MISPLACED_LINE", line: 4 },
    { name: "r= before t=", body: `${head}r=7d 1h 0\r\nt=0 0\r\n`, code: "SDP_MISPLACED_LINE", line: 4 },
    { name: "upper-case type", body: `${head}T=0 0\r\n`, code: "SDP_BAD_LINE", line: 4 },
  ];
  for (const c of cases) {
    const r = parseSdp(c.body);
    assert.equal(r.ok, false, c.name);
    if (r.ok) continue;
    assert.equal(r.error.code, c.code, c.name);
    if (c.line !== undefined) assert.equal(r.error.line, c.line, c.name);
  }
});

test("parseSdp never throws, and what it accepts serializes to a fixed point", () => {
  const lines = fixture("srtp-ice.sdp").split("\r\n").concat(fixture("extensions.sdp").split("\r\n"));
  const line = fc.oneof(fc.constantFrom(...lines), fc.string({ maxLength: 30 }), fc.constantFrom("m=audio 0 RTP/AVP", "c=IN IP6 ::/2/3", "t=0", "o=", "a=", "z=", "r=x"));
  const body = fc.tuple(fc.array(line, { maxLength: 25 }), fc.constantFrom("\r\n", "\n")).map(([ls, eol]) => ["v=0", ...ls].join(eol));
  fc.assert(
    fc.property(fc.oneof(body, fc.string({ maxLength: 200 })), (text) => {
      const r = parseSdp(text);
      if (!r.ok) return;
      const once = serializeSdp(r.value);
      const again = parseSdp(once);
      assert.ok(again.ok);
      assert.equal(serializeSdp(again.value), once);
    }),
    { numRuns: 500 },
  );
});

test("lines out of grammar order are accepted and written back in RFC 8866 order", () => {
  // RFC 3264 section 9 puts t= before c=; a relay must still read it.
  const body = sdp("v=0", "o=carol 28908764872 28908764872 IN IP4 100.3.6.6", "s=-", "t=0 0", "c=IN IP4 192.0.2.4", "m=audio 0 RTP/AVP 0 1 3", "a=rtpmap:0 PCMU/8000", "a=rtpmap:1 1016/8000", "a=rtpmap:3 GSM/8000");
  const s = parsed(body);
  assert.equal(s.connection?.address, "192.0.2.4");
  assert.equal(serializeSdp(s), body.replace("t=0 0\r\nc=IN IP4 192.0.2.4\r\n", "c=IN IP4 192.0.2.4\r\nt=0 0\r\n"));
});
