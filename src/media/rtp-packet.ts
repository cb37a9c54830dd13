import { type Result, ok, err } from "../lib/index.ts";
import { put16, put32, u16, u32 } from "./bytes.ts";

/*
 * RFC 3550 section 5.1, RTP fixed header:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           timestamp                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           synchronization source (SSRC) identifier            |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |            contributing source (CSRC) identifiers             |
 * |                             ....                              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * RFC 3550 section 5.3.1, header extension (present when X is set):
 *
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      defined by profile       |           length              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                        header extension                       |
 * |                             ....                              |
 *
 * With P set, the last payload octet counts the padding octets, itself included.
 */

export const RTP_VERSION = 2;
export const RTP_FIXED_HEADER_SIZE = 12;

const VERSION_SHIFT = 6;
const PADDING_MASK = 0x20;
const EXTENSION_MASK = 0x10;
const CSRC_COUNT_MASK = 0x0f;
const MARKER_MASK = 0x80;
const PAYLOAD_TYPE_MASK = 0x7f;

const SEQUENCE_OFFSET = 2;
const TIMESTAMP_OFFSET = 4;
const SSRC_OFFSET = 8;
const CSRC_OFFSET = 12;
const CSRC_SIZE = 4;
const EXTENSION_HEADER_SIZE = 4;
const MAX_CSRC = 15;

/** Stable codes for an RTP packet that cannot be read. */
export type RtpParseError =
  | "RTP_TOO_SHORT"
  | "RTP_BAD_VERSION"
  | "RTP_CSRC_OVERRUN"
  | "RTP_EXTENSION_OVERRUN"
  | "RTP_BAD_PADDING";

/** The header extension of RFC 3550 5.3.1; `data` excludes the 4-octet extension header. */
export interface RtpExtension {
  readonly profile: number;
  /** A multiple of 4 octets long. */
  readonly data: Uint8Array;
}

/** An RTP packet as read or to be written; payload and extension are views, never copies. */
export interface RtpPacket {
  readonly marker: boolean;
  readonly payloadType: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
  readonly csrc: readonly number[];
  readonly extension?: RtpExtension | undefined;
  readonly payload: Uint8Array;
  /** Padding octets after the payload, the count octet included; 0 when P is clear. */
  readonly paddingLength: number;
}

/**
 * Offset of the payload in an RTP packet of `length` octets, or a negative number when the
 * header does not hold together; reads no more than the header and allocates nothing.
 */
export function rtpPayloadOffset(buf: Uint8Array, length: number = buf.length): number {
  if (length < RTP_FIXED_HEADER_SIZE) return -1;
  const b0 = buf[0]!;
  if (b0 >>> VERSION_SHIFT !== RTP_VERSION) return -2;
  let offset = CSRC_OFFSET + (b0 & CSRC_COUNT_MASK) * CSRC_SIZE;
  if (offset > length) return -3;
  if ((b0 & EXTENSION_MASK) !== 0) {
    if (offset + EXTENSION_HEADER_SIZE > length) return -4;
    offset += EXTENSION_HEADER_SIZE + u16(buf, offset + 2) * 4;
    if (offset > length) return -4;
  }
  return offset;
}

/** Reads one RTP packet; the result's payload and extension data are views into `buf`. */
export function parseRtpPacket(buf: Uint8Array): Result<RtpPacket, RtpParseError> {
  const length = buf.length;
  const offset = rtpPayloadOffset(buf, length);
  if (offset < 0) {
    const codes: RtpParseError[] = ["RTP_TOO_SHORT", "RTP_BAD_VERSION", "RTP_CSRC_OVERRUN", "RTP_EXTENSION_OVERRUN"];
    return err(codes[-offset - 1]!);
  }
  const b0 = buf[0]!;
  const b1 = buf[1]!;
  let paddingLength = 0;
  if ((b0 & PADDING_MASK) !== 0) {
    paddingLength = buf[length - 1]!;
    // A zero count or one reaching into the header is how RFC 3550 A.1 spots a bad packet.
    if (paddingLength === 0 || offset + paddingLength > length) return err("RTP_BAD_PADDING");
  }
  const cc = b0 & CSRC_COUNT_MASK;
  const csrc: number[] = [];
  for (let i = 0; i < cc; i++) csrc.push(u32(buf, CSRC_OFFSET + i * CSRC_SIZE));
  let extension: RtpExtension | undefined;
  if ((b0 & EXTENSION_MASK) !== 0) {
    const at = CSRC_OFFSET + cc * CSRC_SIZE;
    extension = { profile: u16(buf, at), data: buf.subarray(at + EXTENSION_HEADER_SIZE, offset) };
  }
  return ok({
    marker: (b1 & MARKER_MASK) !== 0,
    payloadType: b1 & PAYLOAD_TYPE_MASK,
    sequenceNumber: u16(buf, SEQUENCE_OFFSET),
    timestamp: u32(buf, TIMESTAMP_OFFSET),
    ssrc: u32(buf, SSRC_OFFSET),
    csrc,
    extension,
    payload: buf.subarray(offset, length - paddingLength),
    paddingLength,
  });
}

/** Octets that marshalRtpPacket will write for `p`. */
export function rtpPacketSize(p: RtpPacket): number {
  const ext = p.extension === undefined ? 0 : EXTENSION_HEADER_SIZE + p.extension.data.length;
  return RTP_FIXED_HEADER_SIZE + p.csrc.length * CSRC_SIZE + ext + p.payload.length + p.paddingLength;
}

/**
 * Writes `p` into `out` at `offset` and returns the octets written, or -1 when `out` is too
 * small or the packet cannot be expressed (more than 15 CSRCs, extension not in 32-bit words).
 */
export function marshalRtpPacket(p: RtpPacket, out: Uint8Array, offset = 0): number {
  const size = rtpPacketSize(p);
  if (offset + size > out.length || p.csrc.length > MAX_CSRC) return -1;
  if (p.extension !== undefined && p.extension.data.length % 4 !== 0) return -1;
  if (p.paddingLength < 0 || p.paddingLength > 255) return -1;
  out[offset] =
    (RTP_VERSION << VERSION_SHIFT) |
    (p.paddingLength > 0 ? PADDING_MASK : 0) |
    (p.extension !== undefined ? EXTENSION_MASK : 0) |
    p.csrc.length;
  out[offset + 1] = (p.marker ? MARKER_MASK : 0) | (p.payloadType & PAYLOAD_TYPE_MASK);
  put16(out, offset + SEQUENCE_OFFSET, p.sequenceNumber);
  put32(out, offset + TIMESTAMP_OFFSET, p.timestamp);
  put32(out, offset + SSRC_OFFSET, p.ssrc);
  let at = offset + CSRC_OFFSET;
  for (const c of p.csrc) {
    put32(out, at, c);
    at += CSRC_SIZE;
  }
  if (p.extension !== undefined) {
    put16(out, at, p.extension.profile);
    put16(out, at + 2, p.extension.data.length / 4);
    out.set(p.extension.data, at + EXTENSION_HEADER_SIZE);
    at += EXTENSION_HEADER_SIZE + p.extension.data.length;
  }
  out.set(p.payload, at);
  at += p.payload.length;
  if (p.paddingLength > 0) {
    out.fill(0, at, at + p.paddingLength - 1);
    out[at + p.paddingLength - 1] = p.paddingLength;
    at += p.paddingLength;
  }
  return at - offset;
}

// In-place accessors for the relay: they trust that the caller checked rtpPayloadOffset().

/** Payload type of the RTP packet in `buf` (marker bit excluded). */
export function readRtpPayloadType(buf: Uint8Array): number {
  return buf[1]! & PAYLOAD_TYPE_MASK;
}

/** Rewrites the payload type in place, keeping the marker bit. */
export function writeRtpPayloadType(buf: Uint8Array, payloadType: number): void {
  buf[1] = (buf[1]! & MARKER_MASK) | (payloadType & PAYLOAD_TYPE_MASK);
}

/** Marker bit of the RTP packet in `buf`. */
export function readRtpMarker(buf: Uint8Array): boolean {
  return (buf[1]! & MARKER_MASK) !== 0;
}

/** Sequence number of the RTP packet in `buf`. */
export function readRtpSequenceNumber(buf: Uint8Array): number {
  return u16(buf, SEQUENCE_OFFSET);
}

/** Rewrites the sequence number in place (taken modulo 2^16). */
export function writeRtpSequenceNumber(buf: Uint8Array, sequenceNumber: number): void {
  put16(buf, SEQUENCE_OFFSET, sequenceNumber & 0xffff);
}

/** RTP timestamp of the packet in `buf`, unsigned. */
export function readRtpTimestamp(buf: Uint8Array): number {
  return u32(buf, TIMESTAMP_OFFSET);
}

/** Rewrites the RTP timestamp in place (taken modulo 2^32). */
export function writeRtpTimestamp(buf: Uint8Array, timestamp: number): void {
  put32(buf, TIMESTAMP_OFFSET, timestamp >>> 0);
}

/** SSRC of the RTP packet in `buf`, unsigned. */
export function readRtpSsrc(buf: Uint8Array): number {
  return u32(buf, SSRC_OFFSET);
}

/** Rewrites the SSRC in place. */
export function writeRtpSsrc(buf: Uint8Array, ssrc: number): void {
  put32(buf, SSRC_OFFSET, ssrc >>> 0);
}
