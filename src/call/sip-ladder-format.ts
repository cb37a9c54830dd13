// What the API makes of a captured ladder: a JSON view with each message's summary, a readable
// text ladder (sngrep-like), and a libpcap file that Wireshark and tshark open as real traffic.
import { isIP } from "node:net";
import type { SipLadderMessage } from "../ports/index.ts";
import { addressBytes, flowOf } from "./sip-ladder-hep.ts";

/** What the start line and a few headers of a captured message say. */
export interface MessageSummary {
  readonly kind: "request" | "response";
  /** Request method, or the CSeq method of a response. */
  readonly method: string;
  readonly status: number | null;
  readonly reason: string | null;
  /** The start line as written. */
  readonly startLine: string;
  readonly callId: string | null;
  readonly cseq: string | null;
  /** Bytes of the body (from the blank line on). */
  readonly bodyLength: number;
}

/** One message as GET /api/v1/calls/{id}/sip lists it. */
export interface LadderMessageJson {
  readonly index: number;
  readonly at: number;
  readonly direction: "in" | "out";
  readonly leg: "a" | "b";
  readonly protocol: "UDP" | "TCP" | "TLS";
  readonly src: string;
  readonly dst: string;
  readonly local: string;
  readonly remote: string;
  readonly summary: MessageSummary;
  /** The message as text (UTF-8; bytes that are not become U+FFFD). */
  readonly raw: string;
}

/** `127.0.0.1:5060` or `[::1]:5060`. */
export function hostPort(e: { readonly address: string; readonly port: number }): string {
  return isIP(e.address) === 6 ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

function asBuffer(raw: Uint8Array): Buffer {
  return Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
}

/** Reads the start line, Call-ID and CSeq of a captured message without a full parse. */
export function summarize(raw: Uint8Array): MessageSummary {
  const buf = asBuffer(raw);
  const headEnd = buf.indexOf("\r\n\r\n", 0, "latin1");
  const head = buf.toString("utf8", 0, headEnd < 0 ? buf.length : headEnd);
  const lines = head.split(/\r?\n/);
  const startLine = (lines[0] ?? "").trim();
  let callId: string | null = null;
  let cseq: string | null = null;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if ((name === "call-id" || name === "i") && callId === null) callId = line.slice(colon + 1).trim();
    else if (name === "cseq" && cseq === null) cseq = line.slice(colon + 1).trim();
  }
  const bodyLength = headEnd < 0 ? 0 : buf.length - headEnd - 4;
  const status = /^SIP\/2\.0\s+(\d{3})\s*(.*)$/i.exec(startLine);
  if (status !== null) {
    const method = (cseq ?? "").split(/\s+/)[1] ?? "";
    return { kind: "response", method, status: Number(status[1]), reason: status[2] ?? "", startLine, callId, cseq, bodyLength };
  }
  return { kind: "request", method: startLine.split(/\s+/)[0] ?? "", status: null, reason: null, startLine, callId, cseq, bodyLength };
}

/** A short label for an arrow: `INVITE`, `180 Ringing`. */
export function arrowLabel(s: MessageSummary): string {
  return s.kind === "response" ? `${s.status ?? ""} ${s.reason ?? ""}`.trim() : s.method;
}

/** The JSON view of a ladder. */
export function ladderJson(messages: readonly SipLadderMessage[]): LadderMessageJson[] {
  return messages.map((m, index) => {
    const { src, dst } = flowOf(m);
    return {
      index,
      at: m.at,
      direction: m.direction,
      leg: m.leg,
      protocol: m.protocol,
      src: hostPort(src),
      dst: hostPort(dst),
      local: hostPort(m.local),
      remote: hostPort(m.remote),
      summary: summarize(m.raw),
      raw: asBuffer(m.raw).toString("utf8"),
    };
  });
}

const pad2 = (n: number): string => String(n).padStart(2, "0");

/** `2026-11-24 14:03:07.123456` in UTC. */
function stamp(at: number): string {
  const us = Math.floor(at * 1000);
  const d = new Date(Math.floor(us / 1000));
  const micros = String(us % 1_000_000).padStart(6, "0");
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}.${micros}`;
}

/**
 * The ladder as text: a one-line-per-message overview (time, offset, flow, label), then every
 * message in full under a header line, the way sngrep saves a call.
 */
export function ladderText(callId: string, messages: readonly SipLadderMessage[], dropped = 0): string {
  const first = messages[0]?.at ?? 0;
  const rows = messages.map((m, i) => {
    const { src, dst } = flowOf(m);
    const s = summarize(m.raw);
    return { i: i + 1, m, s, flow: `${hostPort(src)} -> ${hostPort(dst)}`, offset: `+${((Math.floor(m.at * 1000) - Math.floor(first * 1000)) / 1_000_000).toFixed(6)}` };
  });
  const flowWidth = Math.max(4, ...rows.map((r) => r.flow.length));
  const out: string[] = [];
  out.push(`SIP ladder of call ${callId}: ${messages.length} message(s)${dropped > 0 ? `, ${dropped} more not kept (maxMessagesPerCall)` : ""}`);
  out.push(`Times are UTC; offsets from the first message. Leg A is the caller's side, leg B the side towards the target.`);
  out.push("");
  out.push(`${"#".padStart(4)}  ${"time (UTC)".padEnd(26)}  ${"offset s".padEnd(11)}  leg  ${"proto".padEnd(5)}  ${"flow".padEnd(flowWidth)}  message`);
  for (const r of rows) {
    out.push(`${String(r.i).padStart(4)}  ${stamp(r.m.at)}  ${r.offset.padEnd(11)}  ${r.m.leg.toUpperCase()}${r.m.direction === "in" ? "<" : ">"}   ${r.m.protocol.padEnd(5)}  ${r.flow.padEnd(flowWidth)}  ${arrowLabel(r.s)}${r.s.cseq !== null ? `  (CSeq ${r.s.cseq})` : ""}`);
  }
  for (const r of rows) {
    out.push("");
    out.push(`${"=".repeat(4)} #${r.i}  ${stamp(r.m.at)}  ${r.m.protocol} ${r.flow}  (${r.m.direction === "in" ? "received" : "sent"}, leg ${r.m.leg.toUpperCase()}) ${"=".repeat(4)}`);
    out.push(asBuffer(r.m.raw).toString("utf8").replace(/\r\n/g, "\n").trimEnd());
  }
  return `${out.join("\n")}\n`;
}

// ---- PCAP ----

const LINKTYPE_ETHERNET = 1;
// Locally administered MACs: ours and the peer's (nothing on the wire had these; they only frame).
const MAC_US = Buffer.from([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]);
const MAC_PEER = Buffer.from([0x02, 0x00, 0x00, 0x00, 0x00, 0x02]);
const IPV4_MAX_PAYLOAD = 65535 - 20;
// IPv6 payload length is 16 bits too (jumbograms aside).
const IPV6_MAX_PAYLOAD = 65535;

/** The ones' complement sum of RFC 1071, folded to 16 bits. */
function onesSum(buffers: readonly Buffer[], initial = 0): number {
  let sum = initial;
  for (const b of buffers) {
    for (let i = 0; i + 1 < b.length; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
    // An odd trailing byte is padded with zero (only the last buffer may be odd here).
    if (b.length % 2 === 1) sum += b[b.length - 1]! << 8;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

function checksum(buffers: readonly Buffer[], initial = 0): number {
  return ~onesSum(buffers, initial) & 0xffff;
}

interface Frame {
  readonly at: number;
  readonly bytes: Buffer;
  readonly originalLength: number;
}

/** Ethernet + IP + UDP/TCP around one payload, with correct lengths and checksums. */
function frame(
  v6: boolean,
  src: Buffer,
  dst: Buffer,
  srcIsUs: boolean,
  transport: Buffer,
  payload: Buffer,
  ipProtocol: number,
  ipId: number,
): Buffer {
  const eth = Buffer.alloc(14);
  (srcIsUs ? MAC_PEER : MAC_US).copy(eth, 0);
  (srcIsUs ? MAC_US : MAC_PEER).copy(eth, 6);
  eth.writeUInt16BE(v6 ? 0x86dd : 0x0800, 12);
  const l4Length = transport.length + payload.length;
  // The transport checksum covers a pseudo-header of addresses, protocol and length.
  const pseudo = v6 ? Buffer.alloc(40) : Buffer.alloc(12);
  if (v6) {
    src.copy(pseudo, 0);
    dst.copy(pseudo, 16);
    pseudo.writeUInt32BE(l4Length, 32);
    pseudo.writeUInt8(ipProtocol, 39);
  } else {
    src.copy(pseudo, 0);
    dst.copy(pseudo, 4);
    pseudo.writeUInt8(ipProtocol, 9);
    pseudo.writeUInt16BE(l4Length, 10);
  }
  const checksumAt = ipProtocol === 17 ? 6 : 16;
  transport.writeUInt16BE(0, checksumAt);
  let sum = checksum([pseudo, transport, payload]);
  // UDP: a computed zero is sent as all ones (RFC 768).
  if (ipProtocol === 17 && sum === 0) sum = 0xffff;
  transport.writeUInt16BE(sum, checksumAt);
  let ip: Buffer;
  if (v6) {
    ip = Buffer.alloc(40);
    ip.writeUInt32BE(0x60000000, 0);
    ip.writeUInt16BE(l4Length, 4);
    ip.writeUInt8(ipProtocol, 6);
    ip.writeUInt8(64, 7);
    src.copy(ip, 8);
    dst.copy(ip, 24);
  } else {
    ip = Buffer.alloc(20);
    ip.writeUInt8(0x45, 0);
    ip.writeUInt16BE(20 + l4Length, 2);
    ip.writeUInt16BE(ipId & 0xffff, 4);
    ip.writeUInt16BE(0x4000, 6); // don't fragment
    ip.writeUInt8(64, 8);
    ip.writeUInt8(ipProtocol, 9);
    src.copy(ip, 12);
    dst.copy(ip, 16);
    ip.writeUInt16BE(checksum([ip]), 10);
  }
  return Buffer.concat([eth, ip, transport, payload]);
}

/**
 * A libpcap file (microsecond stamps, Ethernet link type) of the ladder: every message in its own
 * synthesized IPv4 or IPv6 packet with the real addresses, ports and capture times; UDP messages
 * as one datagram, TCP/TLS ones as TCP segments with per-direction sequence numbers (TLS appears
 * decrypted, as we captured it above the TLS layer).
 */
export function ladderPcap(messages: readonly SipLadderMessage[]): Buffer {
  const frames: Frame[] = [];
  const nextSeq = new Map<string, number>();
  let ipId = 1;
  for (const m of messages) {
    const { src, dst } = flowOf(m);
    const v6 = isIP(src.address) === 6 || isIP(dst.address) === 6;
    const addr = (a: string): Buffer => (v6 && isIP(a) === 4 ? addressBytes(`::ffff:${a}`) : addressBytes(a));
    const srcBytes = addr(src.address);
    const dstBytes = addr(dst.address);
    const srcIsUs = m.direction === "out";
    const raw = asBuffer(m.raw);
    if (m.protocol === "UDP") {
      const max = (v6 ? IPV6_MAX_PAYLOAD : IPV4_MAX_PAYLOAD) - 8;
      const payload = raw.length > max ? raw.subarray(0, max) : raw;
      const udp = Buffer.alloc(8);
      udp.writeUInt16BE(src.port, 0);
      udp.writeUInt16BE(dst.port, 2);
      udp.writeUInt16BE(8 + payload.length, 4);
      frames.push({ at: m.at, bytes: frame(v6, srcBytes, dstBytes, srcIsUs, udp, payload, 17, ipId++), originalLength: 0 });
      continue;
    }
    const key = `${hostPort(src)}>${hostPort(dst)}`;
    const reverse = `${hostPort(dst)}>${hostPort(src)}`;
    const max = (v6 ? IPV6_MAX_PAYLOAD : IPV4_MAX_PAYLOAD) - 20;
    for (let off = 0; off < raw.length || off === 0; off += max) {
      const payload = raw.subarray(off, Math.min(raw.length, off + max));
      const seq = nextSeq.get(key) ?? 1;
      nextSeq.set(key, (seq + payload.length) >>> 0);
      const tcp = Buffer.alloc(20);
      tcp.writeUInt16BE(src.port, 0);
      tcp.writeUInt16BE(dst.port, 2);
      tcp.writeUInt32BE(seq >>> 0, 4);
      tcp.writeUInt32BE((nextSeq.get(reverse) ?? 1) >>> 0, 8);
      tcp.writeUInt8(5 << 4, 12); // 20-byte header
      tcp.writeUInt8(0x18, 13); // PSH, ACK
      tcp.writeUInt16BE(65535, 14);
      frames.push({ at: m.at, bytes: frame(v6, srcBytes, dstBytes, srcIsUs, tcp, payload, 6, ipId++), originalLength: 0 });
      if (raw.length === 0) break;
    }
  }
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeInt32LE(0, 8);
  header.writeUInt32LE(0, 12);
  header.writeUInt32LE(262144, 16);
  header.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  const parts: Buffer[] = [header];
  for (const f of frames) {
    const micros = Math.floor(f.at * 1000);
    const record = Buffer.alloc(16);
    record.writeUInt32LE(Math.floor(micros / 1_000_000), 0);
    record.writeUInt32LE(micros % 1_000_000, 4);
    record.writeUInt32LE(f.bytes.length, 8);
    record.writeUInt32LE(Math.max(f.bytes.length, f.originalLength), 12);
    parts.push(record, f.bytes);
  }
  return Buffer.concat(parts);
}
