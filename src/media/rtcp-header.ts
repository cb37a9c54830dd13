/*
 * RFC 3550 section 6.4.1, the header every RTCP packet starts with:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|   count |      PT       |             length            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * `length` is the packet's size in 32-bit words minus one, header included.
 * `count` is the number of report blocks, SDES chunks or BYE sources, depending on PT.
 */

import { put16 } from "./bytes.ts";

export const RTCP_HEADER_SIZE = 4;
export const RTCP_VERSION = 2;

/** RFC 3550 12.1 packet types. */
export const RTCP_PT_SR = 200;
export const RTCP_PT_RR = 201;
export const RTCP_PT_SDES = 202;
export const RTCP_PT_BYE = 203;
export const RTCP_PT_APP = 204;

const VERSION_SHIFT = 6;
const PADDING_MASK = 0x20;
const COUNT_MASK = 0x1f;
const LENGTH_OFFSET = 2;
/** The count field is 5 bits wide. */
export const RTCP_MAX_COUNT = 31;

/** Stable codes for RTCP that cannot be read. */
export type RtcpParseError =
  | "RTCP_TOO_SHORT"
  | "RTCP_BAD_VERSION"
  | "RTCP_BAD_LENGTH"
  | "RTCP_BAD_PADDING"
  | "RTCP_WRONG_TYPE"
  | "RTCP_COUNT_OVERRUN"
  | "RTCP_BAD_SDES";

/** Version bits of the first octet. */
export function rtcpVersion(buf: Uint8Array, offset = 0): number {
  return buf[offset]! >>> VERSION_SHIFT;
}

/** Whether the P bit is set. */
export function rtcpPadding(buf: Uint8Array, offset = 0): boolean {
  return (buf[offset]! & PADDING_MASK) !== 0;
}

/** The 5-bit count field (RC / SC). */
export function rtcpCount(buf: Uint8Array, offset = 0): number {
  return buf[offset]! & COUNT_MASK;
}

/** The packet type octet. */
export function rtcpPacketType(buf: Uint8Array, offset = 0): number {
  return buf[offset + 1]!;
}

/** Packet size in octets as the length field states it. */
export function rtcpPacketSize(buf: Uint8Array, offset = 0): number {
  return (((buf[offset + LENGTH_OFFSET]! << 8) | buf[offset + LENGTH_OFFSET + 1]!) + 1) * 4;
}

/**
 * Checks the header of one RTCP packet that should fill `buf` exactly and returns the octets of
 * content (header included, padding excluded), or an error code.
 */
export function rtcpContentLength(buf: Uint8Array, packetType: number): number | RtcpParseError {
  if (buf.length < RTCP_HEADER_SIZE) return "RTCP_TOO_SHORT";
  if (rtcpVersion(buf) !== RTCP_VERSION) return "RTCP_BAD_VERSION";
  if (rtcpPacketType(buf) !== packetType) return "RTCP_WRONG_TYPE";
  if (rtcpPacketSize(buf) !== buf.length) return "RTCP_BAD_LENGTH";
  if (!rtcpPadding(buf)) return buf.length;
  const pad = buf[buf.length - 1]!;
  if (pad === 0 || pad > buf.length - RTCP_HEADER_SIZE) return "RTCP_BAD_PADDING";
  return buf.length - pad;
}

/** Writes a common header for a packet of `size` octets (a multiple of 4) without padding. */
export function writeRtcpHeader(out: Uint8Array, offset: number, count: number, packetType: number, size: number): void {
  out[offset] = (RTCP_VERSION << VERSION_SHIFT) | (count & COUNT_MASK);
  out[offset + 1] = packetType;
  put16(out, offset + LENGTH_OFFSET, size / 4 - 1);
}
