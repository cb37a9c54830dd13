import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type AnchorOptions, type SessionDescription, type StreamInfo, anchorMedia, parseSdp, readStreams, serializeSdp } from "./index.ts";

const FIXTURES = fileURLToPath(new URL("../../test/fixtures/sdp/", import.meta.url));

function sdp(...lines: string[]): string {
  return lines.map((l) => `${l}\r\n`).join("");
}

function parsed(text: string): SessionDescription {
  const r = parseSdp(text);
  if (!r.ok) assert.fail(`parse failed: ${r.error.message}`);
  return r.value;
}

function fixture(name: string): SessionDescription {
  return parsed(readFileSync(FIXTURES + name, "utf8"));
}

type Picked = Pick<StreamInfo, "address" | "port" | "rtcpAddress" | "rtcpPort" | "rtcpMux" | "direction" | "onHold" | "oldStyleHold" | "rejected">;

function pick(s: StreamInfo): Picked {
  const { address, port, rtcpAddress, rtcpPort, rtcpMux, direction, onHold, oldStyleHold, rejected } = s;
  return { address, port, rtcpAddress, rtcpPort, rtcpMux, direction, onHold, oldStyleHold, rejected };
}

test("readStreams gives the relay each stream's remote endpoint, payloads and direction", () => {
  const cases: { name: string; body: SessionDescription; streams: Picked[]; payloads?: number[][] }[] = [
    {
      name: "PBX offer with RFC 3605 rtcp port",
      body: fixture("pbx-offer.sdp"),
      streams: [{ address: "192.0.2.10", port: 10562, rtcpAddress: "192.0.2.10", rtcpPort: 10563, rtcpMux: false, direction: "sendrecv", onHold: false, oldStyleHold: false, rejected: false }],
      payloads: [[9, 0, 8, 18, 101]],
    },
    {
      name: "WebRTC-style offer: media-level c=, rtcp with address, rtcp-mux",
      body: fixture("srtp-ice.sdp"),
      streams: [{ address: "203.0.113.7", port: 54400, rtcpAddress: "203.0.113.7", rtcpPort: 54400, rtcpMux: true, direction: "sendrecv", onHold: false, oldStyleHold: false, rejected: false }],
      payloads: [[111, 0, 8, 126]],
    },
    {
      name: "IPv6 media-level c= overrides the session's",
      body: fixture("ipv6.sdp"),
      streams: [{ address: "2001:db8::1", port: 30000, rtcpAddress: "2001:db8::1", rtcpPort: 30001, rtcpMux: false, direction: "sendrecv", onHold: false, oldStyleHold: false, rejected: false }],
    },
    {
      name: "old-style hold, a=sendonly hold and a rejected stream",
      body: parsed(
        sdp(
          "v=0",
          "o=- 1 2 IN IP4 192.0.2.10",
          "s=-",
          "c=IN IP4 0.0.0.0",
          "t=0 0",
          "m=audio 10000 RTP/AVP 0",
          "m=audio 10002 RTP/AVP 0",
          "c=IN IP4 192.0.2.10",
          "a=sendonly",
          "m=video 0 RTP/AVP 31",
        ),
      ),
      streams: [
        { address: "0.0.0.0", port: 10000, rtcpAddress: "0.0.0.0", rtcpPort: 10001, rtcpMux: false, direction: "sendonly", onHold: true, oldStyleHold: true, rejected: false },
        { address: "192.0.2.10", port: 10002, rtcpAddress: "192.0.2.10", rtcpPort: 10003, rtcpMux: false, direction: "sendonly", onHold: true, oldStyleHold: false, rejected: false },
        { address: "0.0.0.0", port: 0, rtcpAddress: "0.0.0.0", rtcpPort: 1, rtcpMux: false, direction: "sendonly", onHold: true, oldStyleHold: true, rejected: true },
      ],
    },
  ];
  for (const c of cases) {
    const streams = readStreams(c.body);
    assert.deepEqual(streams.map(pick), c.streams, c.name);
    if (c.payloads !== undefined) assert.deepEqual(streams.map((s) => s.codecs.map((x) => x.payloadType)), c.payloads, c.name);
  }
});

test("anchorMedia points every stream at the relay", () => {
  const relay4 = (port: number, rtcpPort?: number): AnchorOptions => ({
    address: "198.51.100.1",
    endpoint: () => (rtcpPort === undefined ? { port } : { port, rtcpPort }),
  });
  const cases: { name: string; body: SessionDescription; options: AnchorOptions; expected: string }[] = [
    {
      name: "PBX offer: c=, o= and m= port rewritten, a=rtcp follows the relay's RTCP port",
      body: fixture("pbx-offer.sdp"),
      options: relay4(40000),
      expected: readFileSync(FIXTURES + "pbx-offer.sdp", "utf8")
        .replaceAll("192.0.2.10", "198.51.100.1")
        .replace("m=audio 10562", "m=audio 40000")
        .replace("a=rtcp:10563", "a=rtcp:40001"),
    },
    {
      name: "ICE removed, media-level c= folded into the session's, rtcp-mux keeps RTCP on the RTP port",
      body: fixture("srtp-ice.sdp"),
      options: relay4(40000),
      expected: sdp(
        "v=0",
        "o=- 4611731400430051336 2 IN IP4 198.51.100.1",
        "s=-",
        "c=IN IP4 198.51.100.1",
        "t=0 0",
        "a=group:BUNDLE 0",
        "a=msid-semantic: WMS",
        "m=audio 40000 RTP/SAVPF 111 0 8 126",
        "a=rtcp:40000 IN IP4 198.51.100.1",
        "a=mid:0",
        "a=sendrecv",
        "a=rtcp-mux",
        "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32",
        "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:32 UNENCRYPTED_SRTCP",
        "a=rtpmap:111 opus/48000/2",
        "a=rtcp-fb:111 transport-cc",
        "a=fmtp:111 minptime=10;useinbandfec=1",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:126 telephone-event/8000",
        "a=ssrc:3570614608 cname:4TOk42mSjXCkVIa6",
      ),
    },
    {
      name: "IPv4 body anchored on an IPv6 relay, explicit RTCP port",
      body: parsed(sdp("v=0", "o=- 1 1 IN IP4 192.0.2.10", "s=-", "c=IN IP4 192.0.2.10", "t=0 0", "m=audio 10000 RTP/AVP 0", "a=rtcp:10001")),
      options: { address: "2001:db8::100", endpoint: () => ({ port: 40000, rtcpPort: 40005 }) },
      expected: sdp("v=0", "o=- 1 1 IN IP6 2001:db8::100", "s=-", "c=IN IP6 2001:db8::100", "t=0 0", "m=audio 40000 RTP/AVP 0", "a=rtcp:40005"),
    },
    {
      name: "old-style hold survives; port 0 and unanchored streams keep where they pointed",
      body: parsed(
        sdp(
          "v=0",
          "o=- 1 1 IN IP4 192.0.2.10",
          "s=-",
          "c=IN IP4 0.0.0.0",
          "t=0 0",
          "m=audio 10000 RTP/AVP 0",
          "m=video 0 RTP/AVP 31",
          "m=image 10004 udptl t38",
          "c=IN IP4 192.0.2.11",
          "m=audio 10006 RTP/AVP 8",
          "c=IN IP4 192.0.2.12",
        ),
      ),
      options: { address: "198.51.100.1", rewriteOrigin: false, endpoint: (i) => (i === 0 ? { port: 40000 } : undefined) },
      expected: sdp(
        "v=0",
        "o=- 1 1 IN IP4 192.0.2.10",
        "s=-",
        "c=IN IP4 198.51.100.1",
        "t=0 0",
        "m=audio 40000 RTP/AVP 0",
        "c=IN IP4 0.0.0.0",
        "m=video 0 RTP/AVP 31",
        "c=IN IP4 0.0.0.0",
        "m=image 10004 udptl t38",
        "c=IN IP4 192.0.2.11",
        "m=audio 10006 RTP/AVP 8",
        "c=IN IP4 192.0.2.12",
      ),
    },
  ];
  for (const c of cases) assert.equal(serializeSdp(anchorMedia(c.body, c.options)), c.expected, c.name);
});

test("ICE can be kept when the relay does ICE itself", () => {
  const out = anchorMedia(fixture("srtp-ice.sdp"), { address: "198.51.100.1", stripIce: false, endpoint: () => ({ port: 40000 }) });
  assert.equal(out.media[0]!.attributes.filter((a) => a.kind === "attribute" && a.name === "candidate").length, 2);
});
