// Mutations of real SIP messages for the fuzz tests: the RFC 4475/5118 torture corpus plus
// realistic INVITE/REGISTER/OPTIONS/BYE/ACK and responses, bent in the ways broken peers, hostile
// scanners and bad middleboxes bend them. Everything is deterministic from a seed, so a failure
// report (seed + iteration) replays exactly.
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Rng } from "../support/rng.ts";

export { Rng };

/** The seed from FUZZ_SEED, or a fresh one (printed by the tests so a failure can be replayed). */
export function fuzzSeed(): number {
  const env = process.env["FUZZ_SEED"];
  if (env !== undefined && /^\d+$/.test(env)) return Number(env) >>> 0;
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}

const tortureDir = fileURLToPath(new URL("../fixtures/sip-torture/", import.meta.url));

/** Every RFC 4475 / RFC 5118 torture message, as bytes. */
export function tortureCorpus(): Buffer[] {
  return readdirSync(tortureDir)
    .filter((f) => f.endsWith(".dat"))
    .sort()
    .map((f) => readFileSync(tortureDir + f));
}

/** Where realistic messages say they come from and go to (Via, Contact, Request-URI). */
export interface Endpoints {
  readonly transport: "UDP" | "TCP";
  readonly client: { readonly address: string; readonly port: number };
  readonly server: { readonly address: string; readonly port: number };
}

const SDP = [
  "v=0",
  "o=pbx 2890844526 2890844526 IN IP4 192.0.2.10",
  "s=-",
  "c=IN IP4 192.0.2.10",
  "t=0 0",
  "m=audio 49170 RTP/AVP 0 8 101",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:101 telephone-event/8000",
  "a=fmtp:101 0-15",
  "a=sendrecv",
  "",
].join("\r\n");

/** Realistic well-formed messages (requests and responses) between the given endpoints; `n` makes tags unique. */
export function realisticCorpus(e: Endpoints, n = 0): Buffer[] {
  const c = `${e.client.address}:${e.client.port}`;
  const s = `${e.server.address}:${e.server.port}`;
  const via = (b: string) => `Via: SIP/2.0/${e.transport} ${c};branch=z9hG4bK${b}${n};rport`;
  const msg = (start: string, headers: string[], body = ""): Buffer =>
    Buffer.from([start, ...headers, `Content-Length: ${Buffer.byteLength(body)}`, "", body].join("\r\n"), "latin1");
  const dialog = [`From: "Alice" <sip:+15550100001@${e.client.address}>;tag=a${n}`, `To: <sip:+15551230001@${e.server.address}>`, `Call-ID: fz${n}@${e.client.address}`];
  return [
    msg(
      `INVITE sip:+15551230001@${s} SIP/2.0`,
      [
        via("inv"),
        "Max-Forwards: 70",
        ...dialog,
        "CSeq: 1 INVITE",
        `Contact: <sip:+15550100001@${c};transport=${e.transport.toLowerCase()}>`,
        "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REFER, NOTIFY",
        "Supported: replaces, timer, 100rel",
        "Session-Expires: 1800;refresher=uac",
        "P-Asserted-Identity: <sip:+15550100001@pbx.example>",
        "User-Agent: FuzzPBX/1.0",
        "Content-Type: application/sdp",
      ],
      SDP,
    ),
    msg(`REGISTER sip:${e.server.address} SIP/2.0`, [
      via("reg"),
      "Max-Forwards: 70",
      `From: <sip:globex@${e.server.address}>;tag=r${n}`,
      `To: <sip:globex@${e.server.address}>`,
      `Call-ID: reg${n}@${e.client.address}`,
      "CSeq: 7 REGISTER",
      `Contact: <sip:globex@${c}>;expires=3600;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000000000001>"`,
      'Authorization: Digest username="globex", realm="trunkline", nonce="abc", uri="sip:127.0.0.1", response="00000000000000000000000000000000", algorithm=MD5',
      "Expires: 3600",
    ]),
    msg(`OPTIONS sip:ping@${s} SIP/2.0`, [via("opt"), "Max-Forwards: 70", `From: <sip:ping@${e.client.address}>;tag=o${n}`, `To: <sip:ping@${e.server.address}>`, `Call-ID: opt${n}@x`, "CSeq: 1 OPTIONS", "Accept: application/sdp"]),
    msg(`BYE sip:+15551230001@${s} SIP/2.0`, [via("bye"), "Max-Forwards: 70", ...dialog.slice(0, 1), `To: <sip:+15551230001@${e.server.address}>;tag=b${n}`, dialog[2]!, "CSeq: 2 BYE", `Route: <sip:${s};lr>`]),
    msg(`ACK sip:+15551230001@${s} SIP/2.0`, [via("ack"), "Max-Forwards: 70", ...dialog.slice(0, 1), `To: <sip:+15551230001@${e.server.address}>;tag=b${n}`, dialog[2]!, "CSeq: 1 ACK"]),
    msg(`CANCEL sip:+15551230001@${s} SIP/2.0`, [via("inv"), "Max-Forwards: 70", ...dialog, "CSeq: 1 CANCEL"]),
    msg("SIP/2.0 200 OK", [
      via("rsp"),
      ...dialog.slice(0, 1),
      `To: <sip:+15551230001@${e.server.address}>;tag=c${n}`,
      dialog[2]!,
      "CSeq: 1 INVITE",
      `Contact: <sip:carrier@${c}>`,
      `Record-Route: <sip:${c};lr>`,
      "Content-Type: application/sdp",
    ], SDP),
    msg("SIP/2.0 180 Ringing", [via("rsp"), ...dialog.slice(0, 1), `To: <sip:+15551230001@${e.server.address}>;tag=c${n}`, dialog[2]!, "CSeq: 1 INVITE"]),
    msg("SIP/2.0 401 Unauthorized", [
      via("rsp"),
      ...dialog.slice(0, 1),
      `To: <sip:+15551230001@${e.server.address}>;tag=c${n}`,
      dialog[2]!,
      "CSeq: 1 INVITE",
      'WWW-Authenticate: Digest realm="carrier", nonce="1234", qop="auth", algorithm=SHA-256',
    ]),
  ];
}

/** The default realistic corpus, for the parser fuzzer (no live peers). */
export function defaultRealistic(): Buffer[] {
  return realisticCorpus({ transport: "UDP", client: { address: "192.0.2.10", port: 5062 }, server: { address: "198.51.100.1", port: 5060 } });
}

// Values that tend to sit on parser edges: huge numbers, signs, empty, odd separators, overlong UTF-8.
const EDGE_VALUES = [
  "",
  " ",
  "0",
  "-1",
  "4294967296",
  "99999999999999999999",
  "1e3",
  "0x10",
  "NaN",
  ";;;",
  ",,,",
  "<>",
  "<sip:>",
  '"unterminated',
  "sip:[::1",
  "sip:a@b:99999",
  "\\",
  "%00",
  "\u00e9\u00e8",
  "\xc0\xaf",
  "\xff\xfe",
  "\t",
];
const HEADER_NAMES = ["Via", "v", "From", "f", "To", "t", "Call-ID", "i", "CSeq", "Contact", "m", "Content-Length", "l", "Content-Type", "c", "Route", "Record-Route", "Max-Forwards", "Expires", "Authorization", "Proxy-Authorization", "Require", "Session-Expires", "X-Fuzz"];
const METHODS = ["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "INFO", "UPDATE", "PRACK", "REFER", "NOTIFY", "SUBSCRIBE", "MESSAGE", "invite", "INV ITE", "\u00c9"];

/** The message as latin1 text, so every byte is one character and back. */
function text(b: Buffer): string {
  return b.toString("latin1");
}
function bytes(s: string): Buffer {
  return Buffer.from(s, "latin1");
}

/** Split into header lines and body; indices are into `lines`. */
function lines(b: Buffer): { head: string[]; body: string } {
  const s = text(b);
  const end = s.indexOf("\r\n\r\n");
  const headText = end < 0 ? s : s.slice(0, end);
  const body = end < 0 ? "" : s.slice(end + 4);
  return { head: headText.split("\r\n"), body };
}
function join(head: string[], body: string): Buffer {
  return bytes(head.join("\r\n") + "\r\n\r\n" + body);
}

/** One named way of breaking a message. */
export interface Mutator {
  readonly name: string;
  apply(rng: Rng, msg: Buffer, corpus: readonly Buffer[]): Buffer;
}

function at(rng: Rng, b: Buffer): number {
  return rng.int(b.length + 1);
}

function insert(b: Buffer, i: number, piece: Buffer | string): Buffer {
  return Buffer.concat([b.subarray(0, i), typeof piece === "string" ? bytes(piece) : piece, b.subarray(i)]);
}

/** Every mutator, by name. */
export const MUTATORS: readonly Mutator[] = [
  {
    name: "flip-bits",
    apply(rng, msg) {
      const b = Buffer.from(msg);
      for (let k = rng.range(1, 8); k > 0 && b.length > 0; k--) {
        const i = rng.int(b.length);
        b[i] = b[i]! ^ (1 << rng.int(8));
      }
      return b;
    },
  },
  {
    name: "random-bytes",
    apply(rng, msg) {
      const b = Buffer.from(msg);
      for (let k = rng.range(1, 16); k > 0 && b.length > 0; k--) b[rng.int(b.length)] = rng.pick([0, 0x0d, 0x0a, 0x20, 0x09, 0x3a, 0x3b, 0x2c, 0x3c, 0x3e, 0x22, 0x7f, 0x80, 0xc3, 0xff, rng.int(256)]);
      return b;
    },
  },
  {
    name: "insert-crlf",
    apply(rng, msg) {
      return insert(msg, at(rng, msg), rng.pick(["\r\n", "\r\n\r\n", "\n", "\r", "\r\n \r\n"]));
    },
  },
  {
    name: "remove-crlf",
    apply(rng, msg) {
      const s = text(msg);
      const found: number[] = [];
      for (let i = s.indexOf("\r\n"); i >= 0; i = s.indexOf("\r\n", i + 1)) found.push(i);
      if (found.length === 0) return msg;
      const i = rng.pick(found);
      // Drop the CR, the LF, or both: bare LFs and bare CRs are what broken stacks send.
      const [from, to] = rng.pick([[i, i + 1], [i + 1, i + 2], [i, i + 2]] as const);
      return bytes(s.slice(0, from) + s.slice(to));
    },
  },
  {
    name: "truncate",
    apply(rng, msg) {
      return msg.subarray(0, rng.int(msg.length));
    },
  },
  {
    name: "duplicate-header",
    apply(rng, msg) {
      const { head, body } = lines(msg);
      if (head.length < 2) return msg;
      const line = head[rng.range(1, head.length - 1)]!;
      const copies = rng.chance(0.1) ? rng.range(50, 300) : 1;
      for (let k = 0; k < copies; k++) head.splice(rng.range(1, head.length), 0, line);
      return join(head, body);
    },
  },
  {
    name: "remove-header",
    apply(rng, msg) {
      const { head, body } = lines(msg);
      if (head.length < 2) return msg;
      head.splice(rng.range(1, head.length - 1), 1);
      return join(head, body);
    },
  },
  {
    name: "huge-value",
    apply(rng, msg) {
      const { head, body } = lines(msg);
      if (head.length < 1) return msg;
      const i = rng.int(head.length);
      const size = rng.pick([300, 4100, 9000, 70_000]);
      const filler = rng.pick(["a", "9", ";x=y", ",", " ", "%41", "<sip:a@b>,"]);
      head[i] = head[i]! + filler.repeat(Math.ceil(size / filler.length));
      return join(head, body);
    },
  },
  {
    name: "content-length",
    apply(rng, msg) {
      const { head, body } = lines(msg);
      const value = rng.pick(["0", "-1", "1", String(body.length + rng.range(1, 50)), String(Math.max(0, body.length - rng.range(1, 50))), "4294967296", "99999999999", " 5 ", "5 5", "abc", "", "0x10", "+3", String(rng.int(70_000))]);
      const name = rng.pick(["Content-Length", "l", "content-length", "CONTENT-LENGTH ", "Content-Length\t"]);
      const existing = head.findIndex((l) => /^(content-length|l)\s*:/i.test(l));
      if (existing >= 0 && rng.chance(0.7)) head[existing] = `${name}: ${value}`;
      else head.splice(rng.range(1, head.length), 0, `${name}: ${value}`);
      return join(head, body);
    },
  },
  {
    name: "nul",
    apply(rng, msg) {
      return insert(msg, at(rng, msg), Buffer.alloc(rng.range(1, 4)));
    },
  },
  {
    name: "non-ascii",
    apply(rng, msg) {
      const piece = rng.pick([
        Buffer.from("é", "utf8"),
        Buffer.from("日本語", "utf8"),
        Buffer.from("\u{1f4de}", "utf8"),
        Buffer.from([0xc0, 0xaf]),
        Buffer.from([0xed, 0xa0, 0x80]),
        Buffer.from([0xff, 0xfe, 0xfd]),
        Buffer.from([0xe2, 0x82]),
        Buffer.from([0xef, 0xbb, 0xbf]),
        rng.bytes(rng.range(1, 12)),
      ]);
      return insert(msg, at(rng, msg), piece);
    },
  },
  {
    name: "fold",
    apply(rng, msg) {
      const { head, body } = lines(msg);
      if (head.length < 2) return msg;
      const i = rng.range(1, head.length - 1);
      const line = head[i]!;
      const cut = rng.int(line.length + 1);
      // Continuation lines start with SP or HTAB (RFC 3261 7.3.1); an empty one is a trap.
      head[i] = line.slice(0, cut) + rng.pick(["\r\n ", "\r\n\t", "\r\n   ", "\r\n \r\n ", "\r\n"]) + line.slice(cut);
      return join(head, body);
    },
  },
  {
    name: "splice",
    apply(rng, msg, corpus) {
      const other = rng.pick(corpus);
      return Buffer.concat([msg.subarray(0, rng.int(msg.length + 1)), other.subarray(rng.int(other.length + 1))]);
    },
  },
  {
    name: "concatenate",
    apply(rng, msg, corpus) {
      return Buffer.concat([msg, bytes(rng.pick(["", "\r\n", "\r\n\r\n"])), rng.pick(corpus)]);
    },
  },
  {
    name: "edge-value",
    apply(rng, msg) {
      const { head, body } = lines(msg);
      if (head.length < 2) return msg;
      const i = rng.range(1, head.length - 1);
      const line = head[i]!;
      const colon = line.indexOf(":");
      const value = rng.pick(EDGE_VALUES);
      if (colon < 0) head[i] = line + value;
      else if (rng.chance(0.5)) head[i] = line.slice(0, colon + 1) + " " + value;
      else {
        // Replace one token inside the value (a number, a parameter, a host...).
        const parts = line.slice(colon + 1).split(/([;,:@<> =])/);
        parts[rng.int(parts.length)] = value;
        head[i] = line.slice(0, colon + 1) + parts.join("");
      }
      return join(head, body);
    },
  },
  {
    name: "new-header",
    apply(rng, msg) {
      const { head, body } = lines(msg);
      head.splice(rng.range(1, head.length), 0, `${rng.pick(HEADER_NAMES)}${rng.pick([":", " :", "\t:", ""])} ${rng.pick(EDGE_VALUES)}`);
      return join(head, body);
    },
  },
  {
    name: "start-line",
    apply(rng, msg) {
      const { head, body } = lines(msg);
      const parts = (head[0] ?? "").split(" ");
      const k = rng.int(Math.max(1, parts.length));
      parts[k] = rng.pick([...METHODS, "SIP/2.0", "SIP/2.1", "SIP/20", "sip/2.0", "999", "099", "1000", "sip:x", "<sip:x>", "", "OK OK OK"]);
      head[0] = rng.chance(0.2) ? parts.join("  ") : parts.join(" ");
      return join(head, body);
    },
  },
  {
    name: "whitespace",
    apply(rng, msg) {
      return insert(msg, at(rng, msg), rng.pick([" ", "\t", "  ", " \t ", "\v", "\f"]));
    },
  },
  {
    name: "body",
    apply(rng, msg) {
      return Buffer.concat([msg, rng.bytes(rng.range(1, 200))]);
    },
  },
];

/** The result of one mutation round: the bytes and the mutators applied (for failure reports). */
export interface Mutated {
  readonly bytes: Buffer;
  readonly applied: readonly string[];
}

/** Picks a corpus message and applies 1 to `maxRounds` random mutators to it. */
export function mutate(rng: Rng, corpus: readonly Buffer[], maxRounds = 4): Mutated {
  let b = rng.pick(corpus);
  const applied: string[] = [];
  for (let k = rng.range(1, maxRounds); k > 0; k--) {
    const m = rng.pick(MUTATORS);
    b = m.apply(rng, b, corpus);
    applied.push(m.name);
  }
  return { bytes: b, applied };
}

/** Cuts bytes into random chunks (1 byte to the whole), as a TCP peer's writes might. */
export function randomChunks(rng: Rng, data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  while (i < data.length) {
    const size = rng.chance(0.3) ? rng.range(1, 8) : rng.range(1, Math.max(1, data.length));
    out.push(data.subarray(i, i + size));
    i += size;
  }
  return out;
}
