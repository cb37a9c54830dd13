import { test } from "node:test";
import assert from "node:assert/strict";
import { type CodecPolicy, type SessionDescription, applyCodecPolicy, codecsOf, parseCodecPolicy, parseSdp, serializeSdp } from "./index.ts";

function sdp(...lines: string[]): string {
  return lines.map((l) => `${l}\r\n`).join("");
}

function parsed(text: string): SessionDescription {
  const r = parseSdp(text);
  if (!r.ok) assert.fail(`parse failed: ${r.error.message}`);
  return r.value;
}

function policy(...allow: string[]): CodecPolicy {
  const r = parseCodecPolicy(allow);
  if (!r.ok) assert.fail(r.error);
  return r.value;
}

const HEAD = ["v=0", "o=pbx 10 10 IN IP4 192.0.2.10", "s=-", "c=IN IP4 192.0.2.10", "t=0 0"];

const OFFER = sdp(
  ...HEAD,
  "m=audio 10000 RTP/AVP 111 9 0 8 18 101 13",
  "a=rtpmap:111 opus/48000/2",
  "a=fmtp:111 useinbandfec=1",
  "a=rtcp-fb:111 transport-cc",
  "a=rtpmap:9 G722/8000",
  "a=rtpmap:101 telephone-event/8000",
  "a=fmtp:101 0-16",
  "a=ptime:20",
  "a=sendrecv",
);

test("applyCodecPolicy filters and reorders by the trunk's allow-list", () => {
  const cases: { name: string; allow: string[]; formats: string[]; attributes?: string[] }[] = [
    { name: "G.711 only, allow-list order wins", allow: ["PCMA", "PCMU"], formats: ["8", "0"], attributes: ["a=ptime:20", "a=sendrecv"] },
    {
      name: "opus with rate and channels, DTMF kept",
      allow: ["opus/48000/2", "PCMU", "telephone-event/8000"],
      formats: ["111", "0", "101"],
      attributes: ["a=rtpmap:111 opus/48000/2", "a=fmtp:111 useinbandfec=1", "a=rtcp-fb:111 transport-cc", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16", "a=ptime:20", "a=sendrecv"],
    },
    { name: "names are case-insensitive; static types need no rtpmap", allow: ["g729", "pcmu"], formats: ["18", "0"] },
    { name: "a rate that does not match drops the codec", allow: ["G722/16000", "PCMU/8000"], formats: ["0"] },
    { name: "comfort noise only when allowed", allow: ["PCMU", "CN"], formats: ["0", "13"] },
    { name: "dropping telephone-event removes its fmtp", allow: ["G722"], formats: ["9"], attributes: ["a=rtpmap:9 G722/8000", "a=ptime:20", "a=sendrecv"] },
  ];
  for (const c of cases) {
    const r = applyCodecPolicy(parsed(OFFER), policy(...c.allow));
    assert.ok(r.ok, c.name);
    const m = r.value.media[0]!;
    assert.deepEqual(m.formats, c.formats, c.name);
    if (c.attributes !== undefined) {
      const lines = serializeSdp(r.value).split("\r\n").filter((l) => l.startsWith("a="));
      assert.deepEqual(lines, c.attributes, c.name);
    }
    // Every format left must still be nameable.
    assert.equal(codecsOf(m).length, m.formats.length, c.name);
  }
});

test("nothing in common gives a typed failure that says why", () => {
  const cases: { name: string; offer: string; allow: string[]; text: RegExp }[] = [
    {
      name: "no voice codec left",
      offer: OFFER,
      allow: ["AMR-WB", "telephone-event"],
      text: /^no codec in common with the trunk policy: m-line 0 \(audio\): no allowed codec \(offered opus\/48000\/2, G722\/8000, PCMU\/8000, PCMA\/8000, G729\/8000, telephone-event\/8000, CN\/8000\); allowed AMR-WB, telephone-event$/,
    },
    {
      name: "dynamic type without rtpmap cannot be named",
      offer: sdp(...HEAD, "m=audio 10000 RTP/AVP 96"),
      allow: ["PCMU"],
      text: /offered none\); allowed PCMU/,
    },
  ];
  for (const c of cases) {
    const r = applyCodecPolicy(parsed(c.offer), policy(...c.allow));
    assert.equal(r.ok, false, c.name);
    if (r.ok) continue;
    assert.equal(r.error.code, "SDP_NO_COMMON_CODEC", c.name);
    assert.equal(r.error.warnCode, 305, c.name);
    assert.match(r.error.message, c.text, c.name);
  }
});

test("streams the policy does not govern pass untouched; a failed stream is disabled, not removed", () => {
  const offer = sdp(
    ...HEAD,
    "m=audio 10000 RTP/AVP 18",
    "a=rtpmap:18 G729/8000",
    "m=audio 10002 RTP/AVP 0",
    "m=image 10004 udptl t38",
    "a=T38FaxVersion:0",
    "m=video 0 RTP/AVP 31",
  );
  const r = applyCodecPolicy(parsed(offer), policy("PCMU"));
  assert.ok(r.ok);
  assert.deepEqual(
    r.value.media.map((m) => [m.type, m.port, m.formats]),
    [
      ["audio", 0, ["18"]],
      ["audio", 10002, ["0"]],
      ["image", 10004, ["t38"]],
      ["video", 0, ["31"]],
    ],
  );
  // T.38 alone keeps a call alive: a fax-only offer is not a codec failure.
  const fax = applyCodecPolicy(parsed(sdp(...HEAD, "m=audio 10000 RTP/AVP 18", "m=image 10004 udptl t38")), policy("PCMU"));
  assert.ok(fax.ok);
});

test("parseCodecPolicy names the bad entry", () => {
  const cases: { allow: string[]; error?: RegExp }[] = [
    { allow: ["PCMU", "opus/48000/2", "telephone-event/8000"] },
    { allow: ["PCMU", "opus/fast"], error: /^codecs\[1\]: "opus\/fast"/ },
    { allow: [""], error: /^codecs\[0\]/ },
    { allow: ["a/1/2/3"], error: /^codecs\[0\]/ },
  ];
  for (const c of cases) {
    const r = parseCodecPolicy(c.allow);
    if (c.error === undefined) assert.ok(r.ok, c.allow.join());
    else {
      assert.equal(r.ok, false, c.allow.join());
      if (!r.ok) assert.match(r.error, c.error);
    }
  }
});
