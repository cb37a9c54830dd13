/**
 * Parse + serialize throughput of the SIP message layer against the parsers of three npm SIP
 * stacks, in one run. Every contender reads what a proxy needs from each message (top Via
 * branch, From/To tags, Call-ID, CSeq, Contact URI) and writes the message back out.
 * Trunkline, like sip.js and JsSIP, writes headers nobody changed from their received text (its
 * message values are immutable, so the serializer finds the fields a caller replaced by identity
 * and renders only those); a message in which nothing changed comes back, after that check, as
 * the bytes it was parsed from, as a proxy forwards what it received. The last case replaces the
 * top Via first, as a proxy does, so the header section is written again: the realistic path, against `sip`.
 *
 * Run: node --import tsx bench/parse.bench.ts [seconds-per-case]
 * Heap kept per parsed message by what a dialog keeps (Call-ID, tags, URIs, route set, CSeq):
 *      node --expose-gc --import tsx bench/parse.bench.ts --retained
 */
import { createRequire } from "node:module";
import { parseMessage, serializeMessage, withItem, withParam } from "../src/sip/message/index.ts";
import type { SipUri } from "../src/sip/message/index.ts";
import * as sipJs from "sip.js/lib/core/index.js";

const require = createRequire(import.meta.url);

interface SipPkg {
  parse(data: string): SipPkgMessage | undefined;
  stringify(m: SipPkgMessage): string;
  parseUri(s: string): { host: string } | undefined;
}
interface SipPkgMessage {
  headers: {
    via: Array<{ params: Record<string, string> }>;
    from: { params: Record<string, string> };
    to: { params: Record<string, string> };
    "call-id": string;
    cseq: { seq: number };
    contact?: Array<{ uri: string }>;
  };
}
interface JssipMessage {
  via_branch: string;
  from_tag: string;
  to_tag: string;
  call_id: string;
  cseq: number;
  parseHeader(name: string): { uri: { host: string } } | undefined;
  toString(): string;
}
interface JssipParser {
  parseMessage(data: string, ua: unknown): JssipMessage | undefined;
}

const sipPkg = require("sip") as SipPkg;
const jssipParser = require("jssip/lib/Parser.js") as JssipParser;
const sipJsLogger = new sipJs.LoggerFactory().getLogger("bench");
sipJsLogger.level; // the logger is only consulted on errors

const CRLF = "\r\n";
const aliceSdp = ["v=0", "o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.com", "s=-", "c=IN IP4 pc33.atlanta.com", "t=0 0", "m=audio 49172 RTP/AVP 0 8 97", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", "a=rtpmap:97 iLBC/8000", ""].join(CRLF);
const bobSdp = ["v=0", "o=bob 2890844527 2890844527 IN IP4 192.0.2.4", "s=-", "c=IN IP4 192.0.2.4", "t=0 0", "m=audio 3456 RTP/AVP 0", "a=rtpmap:0 PCMU/8000", ""].join(CRLF);

// RFC 3261 section 24.2, F1 (INVITE Alice -> atlanta.com proxy) and F9 (200 OK Bob -> biloxi.com proxy),
// with the "(SDP not shown)" bodies filled in.
const invite = Buffer.from(
  [
    "INVITE sip:bob@biloxi.com SIP/2.0",
    "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8",
    "Max-Forwards: 70",
    "To: Bob <sip:bob@biloxi.com>",
    "From: Alice <sip:alice@atlanta.com>;tag=1928301774",
    "Call-ID: a84b4c76e66710",
    "CSeq: 314159 INVITE",
    "Contact: <sip:alice@pc33.atlanta.com>",
    "Content-Type: application/sdp",
    "Content-Length: " + aliceSdp.length,
    "",
    aliceSdp,
  ].join(CRLF),
);
const ok200 = Buffer.from(
  [
    "SIP/2.0 200 OK",
    "Via: SIP/2.0/UDP server10.biloxi.com;branch=z9hG4bK4b43c2ff8.1;received=192.0.2.3",
    "Via: SIP/2.0/UDP bigbox3.site3.atlanta.com;branch=z9hG4bK77ef4c2312983.1;received=192.0.2.2",
    "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8;received=192.0.2.1",
    "Record-Route: <sip:server10.biloxi.com;lr>, <sip:bigbox3.site3.atlanta.com;lr>",
    "To: Bob <sip:bob@biloxi.com>;tag=a6c85cf",
    "From: Alice <sip:alice@atlanta.com>;tag=1928301774",
    "Call-ID: a84b4c76e66710",
    "CSeq: 314159 INVITE",
    "Contact: <sip:bob@192.0.2.4>",
    "Content-Type: application/sdp",
    "Content-Length: " + bobSdp.length,
    "",
    bobSdp,
  ].join(CRLF),
);

// Every contender returns a checksum of what it read, so no work can be optimised away.
type Contender = (data: Buffer) => number;

const contenders: Record<string, Contender> = {
  trunkline: (data) => {
    const r = parseMessage(data);
    if (!r.ok) throw new Error(r.error.detail);
    const m = r.message;
    const n = (m.via[0]!.params["branch"] ?? "").length + (m.from.params["tag"] ?? "").length + (m.to.params["tag"] ?? "").length + m.callId.length + m.cseq.seq + (m.contact[0]!.uri as SipUri).host.length;
    return n + serializeMessage(m).length;
  },
  sip: (data) => {
    const m = sipPkg.parse(data.toString());
    if (m === undefined) throw new Error("sip: parse failed");
    const h = m.headers;
    const contact = sipPkg.parseUri(h.contact![0]!.uri)!;
    const n = (h.via[0]!.params["branch"] ?? "").length + (h.from.params["tag"] ?? "").length + (h.to.params["tag"] ?? "").length + h["call-id"].length + h.cseq.seq + contact.host.length;
    return n + sipPkg.stringify(m).length;
  },
  "sip.js": (data) => {
    const m = sipJs.Parser.parseMessage(data.toString(), sipJsLogger);
    if (m === undefined) throw new Error("sip.js: parse failed");
    const contact = m.parseHeader("contact") as { uri: { host: string } };
    const n = m.viaBranch.length + (m.fromTag ?? "").length + (m.toTag ?? "").length + m.callId.length + m.cseq + contact.uri.host.length;
    // sip.js keeps the received text and has no serializer for incoming messages: toString() returns it.
    return n + m.toString().length;
  },
  jssip: (data) => {
    const m = jssipParser.parseMessage(data.toString(), undefined);
    if (m === undefined) throw new Error("jssip: parse failed");
    const contact = m.parseHeader("contact")!;
    const n = m.via_branch.length + (m.from_tag ?? "").length + (m.to_tag ?? "").length + m.call_id.length + m.cseq + contact.uri.host.length;
    // Like sip.js, JsSIP's incoming message serializes as the text it received.
    return n + m.toString().length;
  },
};

function run(fn: Contender, data: Buffer, ms: number): number {
  let sink = 0;
  let ops = 0;
  const start = process.hrtime.bigint();
  const limit = BigInt(Math.round(ms)) * 1_000_000n;
  for (;;) {
    for (let k = 0; k < 200; k++) sink += fn(data);
    ops += 200;
    const elapsed = process.hrtime.bigint() - start;
    if (elapsed >= limit) {
      if (sink === -1) console.log("");
      return (ops * 1e9) / Number(elapsed);
    }
  }
}

/** Parses 20,000 distinct INVITEs and 200 OKs, keeps what a dialog keeps of each, and reports the heap that stays. */
function retained(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("run node with --expose-gc");
  const N = 20_000;
  // Distinct Call-IDs, so no two messages share anything a parser could reuse.
  const variants = [invite, ok200].map((b) => b.toString("latin1"));
  const datagrams: Buffer[] = [];
  for (let i = 0; i < N; i++) datagrams.push(Buffer.from(variants[i % 2]!.replace("a84b4c76e66710", "a84b4c76e" + String(i).padStart(5, "0")), "latin1"));
  for (let i = 0; i < 2000; i++) parseMessage(datagrams[i]!);
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept: unknown[] = [];
  for (const d of datagrams) {
    const r = parseMessage(d);
    if (!r.ok) throw new Error(r.error.detail);
    const m = r.message;
    kept.push([m.callId, m.from.params["tag"], m.to.params["tag"], m.from.uri, m.to.uri, m.contact[0]?.uri, m.recordRoute, m.cseq.seq, m.cseq.method]);
  }
  gc();
  gc();
  const perMessage = (process.memoryUsage().heapUsed - before) / N;
  console.log(`heap kept per message by dialog fields: ${Math.round(perMessage)} bytes (${kept.length} messages)`);
}

if (process.argv[2] === "--retained") {
  retained();
  process.exit(0);
}

const seconds = Number(process.argv[2] ?? 3);
const ROUNDS = 15;
// A proxy stamps the top Via of what it receives (RFC 3261 18.2.1 received=) before passing it
// on. Only contenders that write from their parsed model can do that; sip.js and JsSIP cannot.
const stamping: Record<string, Contender> = {
  trunkline: (data) => {
    const r = parseMessage(data);
    if (!r.ok) throw new Error(r.error.detail);
    const m = r.message;
    m.via = withItem(m.via, 0, withParam(m.via[0]!, "received", "198.51.100.7"));
    const n = (m.via[0]!.params["branch"] ?? "").length + (m.from.params["tag"] ?? "").length + (m.to.params["tag"] ?? "").length + m.callId.length + m.cseq.seq + (m.contact[0]!.uri as SipUri).host.length;
    return n + serializeMessage(m).length;
  },
  sip: (data) => {
    const m = sipPkg.parse(data.toString());
    if (m === undefined) throw new Error("sip: parse failed");
    const h = m.headers;
    h.via[0]!.params["received"] = "198.51.100.7";
    const contact = sipPkg.parseUri(h.contact![0]!.uri)!;
    const n = (h.via[0]!.params["branch"] ?? "").length + (h.from.params["tag"] ?? "").length + (h.to.params["tag"] ?? "").length + h["call-id"].length + h.cseq.seq + contact.host.length;
    return n + sipPkg.stringify(m).length;
  },
};

const cases: Array<[string, Buffer, Record<string, Contender>]> = [
  ["RFC 3261 24.2 F1 INVITE with SDP", invite, contenders],
  ["RFC 3261 24.2 F9 200 OK with SDP", ok200, contenders],
  ["RFC 3261 24.2 F9 200 OK with SDP, top Via stamped with received= before writing", ok200, stamping],
];

console.log(`parse + read proxy fields + serialize, ${seconds}s per contender, node ${process.version}`);
for (const [label, data, contenders] of cases) {
  console.log(`\n${label} (${data.length} bytes)`);
  const figures: Record<string, number> = {};
  for (const fn of Object.values(contenders)) run(fn, data, 300); // warm-up: let the JIT settle first
  // Contenders take turns over several rounds and keep their best round, so load from other
  // processes on the machine falls on all of them rather than on whoever ran during a spike.
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, fn] of Object.entries(contenders)) {
      figures[name] = Math.max(figures[name] ?? 0, run(fn, data, (seconds * 1000) / ROUNDS));
    }
  }
  const peers = Object.entries(figures).filter(([n]) => n !== "trunkline");
  const [bestName, best] = peers.reduce((a, b) => (b[1] > a[1] ? b : a));
  for (const [name, opsPerSec] of Object.entries(figures)) console.log(`  ${name.padEnd(10)} ${Math.round(opsPerSec).toLocaleString("en-US").padStart(10)} msg/s`);
  console.log(`  trunkline / fastest peer (${bestName}): ${(figures["trunkline"]! / best).toFixed(2)}x`);
}
