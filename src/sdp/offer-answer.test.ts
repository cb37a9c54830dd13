import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AnswerOptions,
  type Direction,
  type SessionDescription,
  checkAnswer,
  createAnswer,
  mediaDirection,
  parseSdp,
  reviseSession,
  serializeSdp,
} from "./index.ts";

/** Joins SDP lines with CRLF, as on the wire. */
function sdp(...lines: string[]): string {
  return lines.map((l) => `${l}\r\n`).join("");
}

function parsed(text: string): SessionDescription {
  const r = parseSdp(text);
  if (!r.ok) assert.fail(`parse failed: ${r.error.code} ${r.error.message}`);
  return r.value;
}

function answer(offer: string, options: AnswerOptions): SessionDescription {
  const r = createAnswer(parsed(offer), options);
  if (!r.ok) assert.fail(`no answer: ${r.error.message}`);
  return r.value;
}

/** Port for the i-th m-line from a list (the answerer's allocation). */
function ports(...list: number[]): (i: number) => number {
  return (i) => list[i] ?? 0;
}

function summary(s: SessionDescription): { port: number; formats: readonly string[]; direction: Direction }[] {
  return s.media.map((m) => ({ port: m.port, formats: m.formats, direction: mediaDirection(m, s) }));
}

// RFC 3264 section 10.1, Basic Exchange.
const RFC3264_10_1_OFFER = sdp(
  "v=0",
  "o=alice 2890844526 2890844526 IN IP4 host.anywhere.com",
  "s=",
  "c=IN IP4 host.anywhere.com",
  "t=0 0",
  "m=audio 49170 RTP/AVP 0",
  "a=rtpmap:0 PCMU/8000",
  "m=video 51372 RTP/AVP 31",
  "a=rtpmap:31 H261/90000",
  "m=video 53000 RTP/AVP 32",
  "a=rtpmap:32 MPV/90000",
);
const RFC3264_10_1_ANSWER = sdp(
  "v=0",
  "o=bob 2890844730 2890844730 IN IP4 host.example.com",
  "s=",
  "c=IN IP4 host.example.com",
  "t=0 0",
  "m=audio 49920 RTP/AVP 0",
  "a=rtpmap:0 PCMU/8000",
  "m=video 0 RTP/AVP 31",
  "m=video 53000 RTP/AVP 32",
  "a=rtpmap:32 MPV/90000",
);
const RFC3264_10_1_REOFFER = sdp(
  "v=0",
  "o=bob 2890844730 2890844731 IN IP4 host.example.com",
  "s=",
  "c=IN IP4 host.example.com",
  "t=0 0",
  "m=audio 65422 RTP/AVP 0",
  "a=rtpmap:0 PCMU/8000",
  "m=video 0 RTP/AVP 31",
  "m=video 53000 RTP/AVP 32",
  "a=rtpmap:32 MPV/90000",
  "m=audio 51434 RTP/AVP 110",
  "a=rtpmap:110 telephone-events/8000",
  "a=recvonly",
);
// The RFC's own answer, less the rtpmap it keeps on the rejected video line
// (we answer a rejected stream with its m= line only, as in its first answer).
const RFC3264_10_1_REANSWER = sdp(
  "v=0",
  "o=alice 2890844526 2890844527 IN IP4 host.anywhere.com",
  "s=",
  "c=IN IP4 host.anywhere.com",
  "t=0 0",
  "m=audio 49170 RTP/AVP 0",
  "a=rtpmap:0 PCMU/8000",
  "m=video 0 RTP/AVP 31",
  "m=video 53000 RTP/AVP 32",
  "a=rtpmap:32 MPV/90000",
  "m=audio 53122 RTP/AVP 110",
  "a=rtpmap:110 telephone-events/8000",
  "a=sendonly",
);

// RFC 3264 section 10.2, One of N Codec Selection.
const RFC3264_10_2 = {
  offer: sdp(
    "v=0",
    "o=alice 2890844526 2890844526 IN IP4 host.anywhere.com",
    "s=",
    "c=IN IP4 host.anywhere.com",
    "t=0 0",
    "m=audio 62986 RTP/AVP 0 4 18",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:4 G723/8000",
    "a=rtpmap:18 G729/8000",
    "a=inactive",
  ),
  answer: sdp(
    "v=0",
    "o=bob 2890844730 2890844731 IN IP4 host.example.com",
    "s=",
    "c=IN IP4 host.example.com",
    "t=0 0",
    "m=audio 54344 RTP/AVP 0 4",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:4 G723/8000",
    "a=inactive",
  ),
  reoffer: sdp(
    "v=0",
    "o=alice 2890844526 2890844527 IN IP4 host.anywhere.com",
    "s=",
    "c=IN IP4 host.anywhere.com",
    "t=0 0",
    "m=audio 62986 RTP/AVP 4",
    "a=rtpmap:4 G723/8000",
    "a=sendrecv",
  ),
  reanswer: sdp(
    "v=0",
    "o=bob 2890844730 2890844732 IN IP4 host.example.com",
    "s=",
    "c=IN IP4 host.example.com",
    "t=0 0",
    "m=audio 54344 RTP/AVP 4",
    "a=rtpmap:4 G723/8000",
    "a=sendrecv",
  ),
};

test("RFC 3264 section 10 examples, answered byte for byte", () => {
  const bob = { username: "bob", sessionId: "2890844730", sessionVersion: "2890844730" };
  const alice = { username: "alice", sessionId: "2890844526", sessionVersion: "2890844526" };
  const bob10_2 = { ...bob, sessionVersion: "2890844731" };
  const cases: { name: string; offer: string; options: AnswerOptions; expected: string }[] = [
    {
      name: "10.1 Bob rejects the H.261 stream",
      offer: RFC3264_10_1_OFFER,
      options: { origin: bob, address: "host.example.com", sessionName: "", mediaTypes: ["audio", "video"], codecs: [{ name: "PCMU" }, { name: "MPV" }], port: ports(49920, 0, 53000) },
      expected: RFC3264_10_1_ANSWER,
    },
    {
      name: "10.1 Alice answers Bob's re-offer adding a recvonly events stream",
      offer: RFC3264_10_1_REOFFER,
      options: {
        origin: alice,
        previous: parsed(RFC3264_10_1_OFFER),
        address: "host.anywhere.com",
        sessionName: "",
        mediaTypes: ["audio", "video"],
        codecs: [{ name: "PCMU" }, { name: "H261" }, { name: "MPV" }, { name: "telephone-events", clockRate: 8000 }],
        port: ports(49170, 51372, 53000, 53122),
      },
      expected: RFC3264_10_1_REANSWER,
    },
    {
      name: "10.2 inactive offer of three codecs, Bob takes two",
      offer: RFC3264_10_2.offer,
      options: { origin: bob10_2, address: "host.example.com", sessionName: "", codecs: [{ name: "PCMU" }, { name: "G723" }], port: ports(54344) },
      expected: RFC3264_10_2.answer,
    },
    {
      name: "10.2 re-offer locks down G.723, Bob's version moves on",
      offer: RFC3264_10_2.reoffer,
      options: { origin: bob10_2, previous: parsed(RFC3264_10_2.answer), address: "host.example.com", sessionName: "", codecs: [{ name: "PCMU" }, { name: "G723" }], port: ports(54344) },
      expected: RFC3264_10_2.reanswer,
    },
  ];
  for (const c of cases) assert.equal(serializeSdp(answer(c.offer, c.options)), c.expected, c.name);
});

const ALICE_ATLANTA = "o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com";
const BOB_BILOXI = { username: "bob", sessionId: "2808844564", sessionVersion: "2808844564" };
const ALICE = { username: "alice", sessionId: "2890844526", sessionVersion: "2890844526" };

test("RFC 4317 examples: codec choice, holds, added and removed streams", () => {
  const audioVideoOffer = sdp(
    "v=0",
    ALICE_ATLANTA,
    "s= ",
    "c=IN IP4 host.atlanta.example.com",
    "t=0 0",
    "m=audio 49170 RTP/AVP 0 8 97",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:97 iLBC/8000",
    "m=video 51372 RTP/AVP 31 32",
    "a=rtpmap:31 H261/90000",
    "a=rtpmap:32 MPV/90000",
  );
  const twoAudioOffer = sdp(
    "v=0",
    ALICE_ATLANTA,
    "s= ",
    "c=IN IP4 host.atlanta.example.com",
    "t=0 0",
    "m=audio 49170 RTP/AVP 0 97",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:97 iLBC/8000",
    "m=audio 49172 RTP/AVP 98",
    "a=rtpmap:98 telephone-event/8000",
    "a=sendonly",
  );
  const bobOptions = (over: Partial<AnswerOptions>): AnswerOptions => ({
    origin: BOB_BILOXI,
    address: "host.biloxi.example.com",
    sessionName: " ",
    mediaTypes: ["audio", "video"],
    codecs: [],
    port: ports(),
    ...over,
  });

  const cases: { name: string; offer: string; options: AnswerOptions; expected: ReturnType<typeof summary>; exact?: string }[] = [
    {
      name: "2.1 one audio and one video codec accepted",
      offer: audioVideoOffer,
      options: bobOptions({ codecs: [{ name: "PCMU" }, { name: "MPV" }], port: ports(49174, 49170) }),
      expected: [
        { port: 49174, formats: ["0"], direction: "sendrecv" },
        { port: 49170, formats: ["32"], direction: "sendrecv" },
      ],
      exact: sdp(
        "v=0",
        "o=bob 2808844564 2808844564 IN IP4 host.biloxi.example.com",
        "s= ",
        "c=IN IP4 host.biloxi.example.com",
        "t=0 0",
        "m=audio 49174 RTP/AVP 0",
        "a=rtpmap:0 PCMU/8000",
        "m=video 49170 RTP/AVP 32",
        "a=rtpmap:32 MPV/90000",
      ),
    },
    {
      name: "2.2 two audio codecs kept, video rejected with port 0",
      offer: audioVideoOffer,
      options: bobOptions({ mediaTypes: ["audio"], codecs: [{ name: "PCMU" }, { name: "PCMA" }], port: ports(49172) }),
      expected: [
        { port: 49172, formats: ["0", "8"], direction: "sendrecv" },
        { port: 0, formats: ["31", "32"], direction: "sendrecv" },
      ],
    },
    {
      name: "2.3 the offerer's dynamic payload type number is kept (RFC 3264 6.1 SHOULD)",
      offer: audioVideoOffer,
      options: bobOptions({ codecs: [{ name: "iLBC" }, { name: "H261" }], port: ports(49172, 51374) }),
      expected: [
        { port: 49172, formats: ["97"], direction: "sendrecv" },
        { port: 51374, formats: ["31"], direction: "sendrecv" },
      ],
    },
    {
      name: "2.4 a sendonly telephone-event stream is answered recvonly",
      offer: twoAudioOffer,
      options: bobOptions({ codecs: [{ name: "iLBC" }, { name: "telephone-event" }], port: ports(49172, 49174) }),
      expected: [
        { port: 49172, formats: ["97"], direction: "sendrecv" },
        { port: 49174, formats: ["98"], direction: "recvonly" },
      ],
      exact: sdp(
        "v=0",
        "o=bob 2808844564 2808844564 IN IP4 host.biloxi.example.com",
        "s= ",
        "c=IN IP4 host.biloxi.example.com",
        "t=0 0",
        "m=audio 49172 RTP/AVP 97",
        "a=rtpmap:97 iLBC/8000",
        "m=audio 49174 RTP/AVP 98",
        "a=rtpmap:98 telephone-event/8000",
        "a=recvonly",
      ),
    },
    {
      name: "2.6 first stream declined, second accepted with telephone-event",
      offer: sdp(
        "v=0",
        ALICE_ATLANTA,
        "s= ",
        "c=IN IP4 host.atlanta.example.com",
        "t=0 0",
        "m=audio 49170 RTP/AVP 0",
        "a=rtpmap:0 PCMU/8000",
        "m=audio 51372 RTP/AVP 97 101",
        "a=rtpmap:97 iLBC/8000",
        "a=rtpmap:101 telephone-event/8000",
      ),
      options: bobOptions({ codecs: [{ name: "iLBC" }, { name: "telephone-event" }], port: ports(0, 49170) }),
      expected: [
        { port: 0, formats: ["0"], direction: "sendrecv" },
        { port: 49170, formats: ["97", "101"], direction: "sendrecv" },
      ],
    },
    {
      name: "3.1 the answerer puts the call on hold at once",
      offer: sdp("v=0", ALICE_ATLANTA, "s= ", "c=IN IP4 host.atlanta.example.com", "t=0 0", "m=audio 49170 RTP/AVP 0 97", "a=rtpmap:0 PCMU/8000", "a=rtpmap:97 iLBC/8000"),
      options: bobOptions({ codecs: [{ name: "iLBC" }], direction: "sendonly", port: ports(49172) }),
      expected: [{ port: 49172, formats: ["97"], direction: "sendonly" }],
    },
    {
      name: "3.2 hold of one of two streams: sendonly answered recvonly, recvonly answered sendonly",
      offer: sdp(
        "v=0",
        "o=bob 2808844564 2808844565 IN IP4 host.biloxi.example.com",
        "s= ",
        "c=IN IP4 host.biloxi.example.com",
        "t=0 0",
        "m=audio 49172 RTP/AVP 97",
        "a=rtpmap:97 iLBC/8000",
        "a=sendonly",
        "m=audio 49174 RTP/AVP 98",
        "a=rtpmap:98 telephone-event/8000",
        "a=recvonly",
      ),
      options: { origin: ALICE, previous: parsed(twoAudioOffer), address: "host.atlanta.example.com", sessionName: " ", codecs: [{ name: "PCMU" }, { name: "iLBC" }, { name: "telephone-event" }], port: ports(49170, 49172) },
      expected: [
        { port: 49170, formats: ["97"], direction: "recvonly" },
        { port: 49172, formats: ["98"], direction: "sendonly" },
      ],
    },
    {
      name: "4.1 a second audio stream with its own c= is added",
      offer: sdp(
        "v=0",
        "o=bob 2808844564 2808844565 IN IP4 host.biloxi.example.com",
        "s= ",
        "c=IN IP4 host.biloxi.example.com",
        "t=0 0",
        "m=audio 49170 RTP/AVP 97",
        "a=rtpmap:97 iLBC/8000",
        "m=audio 48282 RTP/AVP 98",
        "c=IN IP4 mediaserver.biloxi.example.com",
        "a=rtpmap:98 telephone-event/8000",
        "a=recvonly",
      ),
      options: { origin: ALICE, address: "host.atlanta.example.com", codecs: [{ name: "iLBC" }, { name: "telephone-event" }], port: ports(49170, 49172) },
      expected: [
        { port: 49170, formats: ["97"], direction: "sendrecv" },
        { port: 49172, formats: ["98"], direction: "sendonly" },
      ],
    },
    {
      name: "4.3 video deleted by a port 0 re-offer stays at port 0",
      offer: sdp(
        "v=0",
        "o=bob 2808844564 2808844565 IN IP4 host.biloxi.example.com",
        "s= ",
        "c=IN IP4 host.biloxi.example.com",
        "t=0 0",
        "m=audio 49174 RTP/AVP 97",
        "a=rtpmap:97 iLBC/8000",
        "m=video 0 RTP/AVP 31",
        "a=rtpmap:31 H261/90000",
      ),
      options: { origin: ALICE, address: "host.atlanta.example.com", mediaTypes: ["audio", "video"], codecs: [{ name: "iLBC" }, { name: "H261" }], port: ports(49170, 51372) },
      expected: [
        { port: 49170, formats: ["97"], direction: "sendrecv" },
        { port: 0, formats: ["31"], direction: "sendrecv" },
      ],
    },
    {
      name: "5.2 old-style hold (c=0.0.0.0) is answered recvonly: we must not send into a black hole",
      offer: sdp("v=0", ALICE_ATLANTA, "s= ", "c=IN IP4 0.0.0.0", "t=0 0", "m=audio 23442 RTP/AVP 97", "a=rtpmap:97 iLBC/8000"),
      options: bobOptions({ codecs: [{ name: "iLBC" }], port: ports(49170) }),
      expected: [{ port: 49170, formats: ["97"], direction: "recvonly" }],
    },
  ];
  for (const c of cases) {
    const a = answer(c.offer, c.options);
    assert.deepEqual(summary(a), c.expected, c.name);
    if (c.exact !== undefined) assert.equal(serializeSdp(a), c.exact, c.name);
    // Every answer we build must pass our own RFC 3264 check.
    assert.equal(checkAnswer(parsed(c.offer), a).ok, true, c.name);
  }
});

test("RFC 4317 5.1: an offer without media is answered without media", () => {
  const offer = sdp("v=0", ALICE_ATLANTA, "s= ", "c=IN IP4 host.atlanta.example.com", "t=0 0");
  const a = answer(offer, { origin: BOB_BILOXI, address: "host.biloxi.example.com", codecs: [], port: ports() });
  assert.deepEqual(a.media, []);
});

const G711_OFFER = (extra: string[] = [], proto = "RTP/AVP"): string =>
  sdp(
    "v=0",
    "o=pbx 10 10 IN IP4 192.0.2.10",
    "s=-",
    "c=IN IP4 192.0.2.10",
    "t=0 0",
    `m=audio 10000 ${proto} 18 8 0 101`,
    "a=rtpmap:18 G729/8000",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-16",
    ...extra,
  );

test("answer details: rtcp-mux, ptime, codec limits and failures", () => {
  const base: AnswerOptions = {
    origin: { username: "trunkline", sessionId: "7", sessionVersion: "1" },
    address: "198.51.100.1",
    codecs: [{ name: "PCMA" }, { name: "PCMU" }, { name: "telephone-event", clockRate: 8000 }],
    port: ports(30000),
  };
  const mediaLines = (s: SessionDescription): string[] => serializeSdp(s).split("\r\n").filter((l) => l.startsWith("m=") || l.startsWith("a="));
  const cases: { name: string; offer: string; options: Partial<AnswerOptions>; lines: string[] }[] = [
    {
      name: "offerer's order, fmtp echoed, no rtcp-mux when not offered",
      offer: G711_OFFER(),
      options: {},
      lines: ["m=audio 30000 RTP/AVP 8 0 101", "a=rtpmap:8 PCMA/8000", "a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16"],
    },
    {
      name: "rtcp-mux answered when offered",
      offer: G711_OFFER(["a=rtcp-mux"]),
      options: {},
      lines: ["m=audio 30000 RTP/AVP 8 0 101", "a=rtpmap:8 PCMA/8000", "a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16", "a=rtcp-mux"],
    },
    {
      name: "rtcp-mux offered but not supported locally",
      offer: G711_OFFER(["a=rtcp-mux"]),
      options: { rtcpMux: false, maxCodecs: 1 },
      lines: ["m=audio 30000 RTP/AVP 8 101", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16"],
    },
    {
      name: "offered ptime echoed, one codec only",
      offer: G711_OFFER(["a=ptime:30"]),
      options: { maxCodecs: 1, codecs: [{ name: "PCMU" }] },
      lines: ["m=audio 30000 RTP/AVP 0", "a=rtpmap:0 PCMU/8000", "a=ptime:30"],
    },
    {
      name: "local ptime wins over the offer's",
      offer: G711_OFFER(["a=ptime:30", "a=sendrecv"]),
      options: { ptime: 20, codecs: [{ name: "PCMU" }] },
      lines: ["m=audio 30000 RTP/AVP 0", "a=rtpmap:0 PCMU/8000", "a=ptime:20", "a=sendrecv"],
    },
    {
      name: "local inactive wins",
      offer: G711_OFFER(),
      options: { direction: "inactive", codecs: [{ name: "PCMU" }] },
      lines: ["m=audio 30000 RTP/AVP 0", "a=rtpmap:0 PCMU/8000", "a=inactive"],
    },
    {
      name: "session-level sendonly answered recvonly",
      offer: G711_OFFER().replace("t=0 0\r\n", "t=0 0\r\na=sendonly\r\n"),
      options: { codecs: [{ name: "PCMU" }] },
      lines: ["m=audio 30000 RTP/AVP 0", "a=rtpmap:0 PCMU/8000", "a=recvonly"],
    },
  ];
  for (const c of cases) assert.deepEqual(mediaLines(answer(c.offer, { ...base, ...c.options })), c.lines, c.name);

  const failures: { name: string; offer: string; options: Partial<AnswerOptions>; code: string; warnCode: number; text: RegExp }[] = [
    { name: "no common codec", offer: G711_OFFER(), options: { codecs: [{ name: "opus" }, { name: "telephone-event" }] }, code: "SDP_NO_COMMON_CODEC", warnCode: 305, text: /no common codec \(offered G729\/8000, PCMA\/8000, PCMU\/8000, telephone-event\/8000\)/ },
    { name: "SRTP not accepted", offer: G711_OFFER([], "RTP/SAVP"), options: {}, code: "SDP_NO_ACCEPTABLE_STREAM", warnCode: 302, text: /transport RTP\/SAVP not accepted/ },
    { name: "video only", offer: G711_OFFER().replace("m=audio", "m=video"), options: {}, code: "SDP_NO_ACCEPTABLE_STREAM", warnCode: 304, text: /media type video/ },
  ];
  for (const f of failures) {
    const r = createAnswer(parsed(f.offer), { ...base, ...f.options });
    assert.equal(r.ok, false, f.name);
    if (r.ok) continue;
    assert.equal(r.error.code, f.code, f.name);
    assert.equal(r.error.warnCode, f.warnCode, f.name);
    assert.match(r.error.message, f.text, f.name);
  }
});

test("offer in a 200, answer in the ACK: the answer is checked against the offer", () => {
  // The carrier's 200 carries the offer; what we put in the ACK must satisfy RFC 3264 6.
  const offerIn200 = parsed(G711_OFFER(["a=sendonly"]));
  const ackAnswer = parsed(sdp("v=0", "o=- 1 1 IN IP4 198.51.100.1", "s=-", "c=IN IP4 198.51.100.1", "t=0 0", "m=audio 30000 RTP/AVP 8", "a=recvonly"));
  const r = checkAnswer(offerIn200, ackAnswer);
  assert.ok(r.ok);
  assert.deepEqual(
    r.value.map((s) => ({ accepted: s.accepted, codecs: s.codecs.map((c) => c.name), direction: s.direction })),
    [{ accepted: true, codecs: ["PCMA"], direction: "sendonly" }],
  );

  const bad: { name: string; answer: string; text: RegExp }[] = [
    { name: "extra m-line", answer: sdp("v=0", "o=- 1 1 IN IP4 a", "s=-", "t=0 0", "m=audio 1 RTP/AVP 8", "m=audio 2 RTP/AVP 8"), text: /2 m-lines, offer 1/ },
    { name: "type changed", answer: sdp("v=0", "o=- 1 1 IN IP4 a", "s=-", "t=0 0", "m=video 1 RTP/AVP 8"), text: /media type video/ },
    { name: "format not offered", answer: sdp("v=0", "o=- 1 1 IN IP4 a", "s=-", "t=0 0", "m=audio 1 RTP/AVP 9"), text: /no format of the offer/ },
  ];
  for (const b of bad) {
    const r2 = checkAnswer(offerIn200, parsed(b.answer));
    assert.equal(r2.ok, false, b.name);
    if (!r2.ok) {
      assert.equal(r2.error.code, "SDP_ANSWER_MISMATCH", b.name);
      assert.match(r2.error.message, b.text, b.name);
    }
  }
});

test("re-offers keep the o= session id and bump the version only on change", () => {
  const first = parsed(sdp("v=0", "o=trunkline 42 18446744073709551614 IN IP4 198.51.100.1", "s=-", "c=IN IP4 198.51.100.1", "t=0 0", "m=audio 30000 RTP/AVP 0"));
  const sameBody = parsed(sdp("v=0", "o=other 99 1 IN IP4 198.51.100.1", "s=-", "c=IN IP4 198.51.100.1", "t=0 0", "m=audio 30000 RTP/AVP 0"));
  const held = parsed(sdp("v=0", "o=other 99 1 IN IP4 198.51.100.1", "s=-", "c=IN IP4 198.51.100.1", "t=0 0", "m=audio 30000 RTP/AVP 0", "a=sendonly"));
  const cases: { name: string; next: SessionDescription; version: string }[] = [
    { name: "unchanged body keeps the version", next: sameBody, version: "18446744073709551614" },
    { name: "changed body increments, beyond 2^53", next: held, version: "18446744073709551615" },
  ];
  for (const c of cases) {
    const r = reviseSession(first, c.next);
    assert.equal(r.origin.username, "trunkline", c.name);
    assert.equal(r.origin.sessionId, "42", c.name);
    assert.equal(r.origin.sessionVersion, c.version, c.name);
  }
});
