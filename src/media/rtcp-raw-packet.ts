import { type Result, ok, err } from "../lib/index.ts";
import {
  RTCP_HEADER_SIZE,
  RTCP_VERSION,
  type RtcpParseError,
  rtcpCount,
  rtcpPacketSize,
  rtcpPacketType,
  rtcpVersion,
} from "./rtcp-header.ts";

/**
 * An RTCP packet of a type this layer does not decode (APP, XR, RTPFB, PSFB, ...). A relay
 * forwards it untouched, so it keeps the whole packet, header and padding included.
 */
export interface RtcpRawPacket {
  readonly kind: "raw";
  readonly packetType: number;
  readonly count: number;
  /** The whole packet as a view; its length is a multiple of 4. */
  readonly data: Uint8Array;
}

/** Wraps one RTCP packet that fills `buf` exactly, checking only the common header. */
export function parseRtcpRawPacket(buf: Uint8Array): Result<RtcpRawPacket, RtcpParseError> {
  if (buf.length < RTCP_HEADER_SIZE) return err("RTCP_TOO_SHORT");
  if (rtcpVersion(buf) !== RTCP_VERSION) return err("RTCP_BAD_VERSION");
  if (rtcpPacketSize(buf) !== buf.length) return err("RTCP_BAD_LENGTH");
  return ok({ kind: "raw", packetType: rtcpPacketType(buf), count: rtcpCount(buf), data: buf });
}

/** Octets marshalRtcpRawPacket writes for `p`. */
export function rtcpRawPacketSize(p: RtcpRawPacket): number {
  return p.data.length;
}

/** Copies `p` to `offset`; returns octets written, or -1 if it does not fit. */
export function marshalRtcpRawPacket(p: RtcpRawPacket, out: Uint8Array, offset = 0): number {
  if (offset + p.data.length > out.length) return -1;
  out.set(p.data, offset);
  return p.data.length;
}
