// HEPv3 (Homer Encapsulation Protocol, version 3): each captured SIP message is sent to a Homer
// collector as one UDP datagram. Layout (all integers in network byte order):
//
//   "HEP3" | total length (uint16, whole packet) | chunk | chunk | ...
//   chunk = vendor id (uint16, 0 = generic) | type id (uint16) | length (uint16, header included) | value
//
// Generic chunk types used here (HEP3 specification, sipcapture/HEP):
//   1 IP protocol family (uint8: 2 AF_INET, 10 AF_INET6)   2 IP protocol id (uint8: 17 UDP, 6 TCP)
//   3/4 IPv4 source/destination address (4 bytes)          5/6 IPv6 source/destination (16 bytes)
//   7/8 source/destination port (uint16)                   9 timestamp seconds (uint32)
//   10 timestamp microseconds offset (uint32)              11 protocol type (uint8: 1 SIP)
//   12 capture agent id (uint32)                           14 authentication key (string)
//   15 captured payload (bytes)                            17 internal correlation id (string)
import { createSocket, type Socket } from "node:dgram";
import { isIP } from "node:net";
import type { Logger } from "../observability/index.ts";
import type { SipLadderMessage } from "../ports/index.ts";
import type { CaptureSink } from "./sip-ladder.ts";

/** HEP3 generic chunk type ids. */
export const HEP_CHUNK = {
  ipFamily: 1,
  ipProtocol: 2,
  ipv4Source: 3,
  ipv4Destination: 4,
  ipv6Source: 5,
  ipv6Destination: 6,
  sourcePort: 7,
  destinationPort: 8,
  timestampSeconds: 9,
  timestampMicros: 10,
  protocolType: 11,
  captureAgentId: 12,
  authKey: 14,
  payload: 15,
  correlationId: 17,
} as const;

const AF_INET = 2;
const AF_INET6 = 10;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const PROTOCOL_TYPE_SIP = 1;

/** Who we are to the collector. */
export interface HepIdentity {
  /** Capture agent id (chunk 12). */
  readonly captureId: number;
  /** Shared secret some collectors require (chunk 14); absent: not sent. */
  readonly authKey?: string;
}

/** Writes an IPv4 or IPv6 address (textual, numeric) as bytes. */
export function addressBytes(address: string): Buffer {
  if (isIP(address) === 4) return Buffer.from(address.split(".").map(Number));
  // IPv6: expand "::" and an embedded IPv4 tail to eight groups.
  let text = address.split("%")[0] ?? address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4 !== null) {
    const b = (v4[1] ?? "").split(".").map(Number);
    text = text.slice(0, v4.index) + `${(((b[0] ?? 0) << 8) | (b[1] ?? 0)).toString(16)}:${(((b[2] ?? 0) << 8) | (b[3] ?? 0)).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16) & 0xffff, i * 2));
  return out;
}

/** The source and destination of a captured message, as the network saw it. */
export function flowOf(m: SipLadderMessage): { src: { address: string; port: number }; dst: { address: string; port: number } } {
  return m.direction === "in" ? { src: m.remote, dst: m.local } : { src: m.local, dst: m.remote };
}

/** Encodes one captured message as a HEPv3 packet. */
export function encodeHep3(m: SipLadderMessage, identity: HepIdentity, correlationId: string | null): Buffer {
  const { src, dst } = flowOf(m);
  const v6 = isIP(src.address) === 6 || isIP(dst.address) === 6;
  const chunks: Buffer[] = [];
  const chunk = (type: number, value: Buffer): void => {
    const head = Buffer.alloc(6);
    head.writeUInt16BE(0, 0);
    head.writeUInt16BE(type, 2);
    head.writeUInt16BE(6 + value.length, 4);
    chunks.push(head, value);
  };
  const u8 = (v: number): Buffer => Buffer.from([v & 0xff]);
  const u16 = (v: number): Buffer => {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v & 0xffff);
    return b;
  };
  const u32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    return b;
  };
  // An IPv4 peer of a dual-stack socket is written IPv4-mapped when the other end is IPv6.
  const addr = (a: string): Buffer => (v6 && isIP(a) === 4 ? addressBytes(`::ffff:${a}`) : addressBytes(a));
  const micros = Math.floor(m.at * 1000);
  chunk(HEP_CHUNK.ipFamily, u8(v6 ? AF_INET6 : AF_INET));
  chunk(HEP_CHUNK.ipProtocol, u8(m.protocol === "UDP" ? IPPROTO_UDP : IPPROTO_TCP));
  chunk(v6 ? HEP_CHUNK.ipv6Source : HEP_CHUNK.ipv4Source, addr(src.address));
  chunk(v6 ? HEP_CHUNK.ipv6Destination : HEP_CHUNK.ipv4Destination, addr(dst.address));
  chunk(HEP_CHUNK.sourcePort, u16(src.port));
  chunk(HEP_CHUNK.destinationPort, u16(dst.port));
  chunk(HEP_CHUNK.timestampSeconds, u32(Math.floor(micros / 1_000_000)));
  chunk(HEP_CHUNK.timestampMicros, u32(micros % 1_000_000));
  chunk(HEP_CHUNK.protocolType, u8(PROTOCOL_TYPE_SIP));
  chunk(HEP_CHUNK.captureAgentId, u32(identity.captureId));
  if (identity.authKey !== undefined) chunk(HEP_CHUNK.authKey, Buffer.from(identity.authKey, "utf8"));
  if (correlationId !== null) chunk(HEP_CHUNK.correlationId, Buffer.from(correlationId, "utf8"));
  chunk(HEP_CHUNK.payload, Buffer.from(m.raw.buffer, m.raw.byteOffset, m.raw.byteLength));
  const body = Buffer.concat(chunks);
  const head = Buffer.alloc(6);
  head.write("HEP3", 0, "latin1");
  head.writeUInt16BE(Math.min(0xffff, 6 + body.length), 4);
  return Buffer.concat([head, body]);
}

/** Where to send HEP and as whom. */
export interface HepSenderOptions extends HepIdentity {
  readonly host: string;
  readonly port: number;
}

/** A HEP sink with a socket to close. */
export interface HepSender extends CaptureSink {
  close(): Promise<void>;
}

/** Opens a UDP socket towards the collector; sending never throws and never waits (capture is best effort). */
export function createHepSender(options: HepSenderOptions, logger: Logger): HepSender {
  const socket: Socket = createSocket(isIP(options.host) === 6 ? "udp6" : "udp4");
  socket.unref();
  let failures = 0;
  socket.on("error", (error) => {
    // Logged once per burst: a collector that is down must not flood the log.
    if (failures++ % 1000 === 0) logger.warn({ err: error, collector: `${options.host}:${options.port}`, failures }, "HEP send failed");
  });
  let closed = false;
  return {
    send(message, correlationId) {
      if (closed) return;
      const packet = encodeHep3(message, options, correlationId);
      // HEP over UDP is one datagram per message; one past 64 KiB cannot be sent and is skipped.
      if (packet.length > 0xffff) return;
      socket.send(packet, options.port, options.host, (error) => {
        if (error && failures++ % 1000 === 0) logger.warn({ err: error, collector: `${options.host}:${options.port}`, failures }, "HEP send failed");
      });
    },
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      return new Promise((resolve) => socket.close(() => resolve()));
    },
  };
}
