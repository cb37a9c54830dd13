import { type Result, ok, err } from "../lib/index.ts";
import { type RtcpGoodbye, marshalRtcpGoodbye, parseRtcpGoodbye, rtcpGoodbyeSize } from "./rtcp-goodbye.ts";
import {
  RTCP_HEADER_SIZE,
  RTCP_PT_BYE,
  RTCP_PT_RR,
  RTCP_PT_SDES,
  RTCP_PT_SR,
  RTCP_VERSION,
  type RtcpParseError,
  rtcpPacketSize,
  rtcpPacketType,
  rtcpVersion,
} from "./rtcp-header.ts";
import { type RtcpRawPacket, marshalRtcpRawPacket, parseRtcpRawPacket, rtcpRawPacketSize } from "./rtcp-raw-packet.ts";
import {
  type RtcpReceiverReport,
  marshalRtcpReceiverReport,
  parseRtcpReceiverReport,
  rtcpReceiverReportSize,
} from "./rtcp-receiver-report.ts";
import {
  type RtcpSourceDescription,
  marshalRtcpSourceDescription,
  parseRtcpSourceDescription,
  rtcpSourceDescriptionSize,
} from "./rtcp-sdes.ts";
import {
  type RtcpSenderReport,
  marshalRtcpSenderReport,
  parseRtcpSenderReport,
  rtcpSenderReportSize,
} from "./rtcp-sender-report.ts";

/** Any RTCP packet, told apart by `kind`. */
export type RtcpPacket = RtcpSenderReport | RtcpReceiverReport | RtcpSourceDescription | RtcpGoodbye | RtcpRawPacket;

/** Decodes one packet that fills `buf` exactly; unknown packet types become raw packets. */
export function parseRtcpPacket(buf: Uint8Array): Result<RtcpPacket, RtcpParseError> {
  if (buf.length < RTCP_HEADER_SIZE) return err("RTCP_TOO_SHORT");
  switch (rtcpPacketType(buf)) {
    case RTCP_PT_SR:
      return parseRtcpSenderReport(buf);
    case RTCP_PT_RR:
      return parseRtcpReceiverReport(buf);
    case RTCP_PT_SDES:
      return parseRtcpSourceDescription(buf);
    case RTCP_PT_BYE:
      return parseRtcpGoodbye(buf);
    default:
      return parseRtcpRawPacket(buf);
  }
}

/**
 * Splits a compound packet (RFC 3550 6.1) and decodes each part. Stricter RFC 3550 A.2 rules
 * (first packet SR or RR, padding only on the last) are not enforced: a relay meets senders that
 * break them and still wants the reports.
 */
export function parseRtcpCompound(buf: Uint8Array): Result<RtcpPacket[], RtcpParseError> {
  if (buf.length < RTCP_HEADER_SIZE) return err("RTCP_TOO_SHORT");
  const packets: RtcpPacket[] = [];
  let at = 0;
  while (at < buf.length) {
    if (at + RTCP_HEADER_SIZE > buf.length) return err("RTCP_TOO_SHORT");
    if (rtcpVersion(buf, at) !== RTCP_VERSION) return err("RTCP_BAD_VERSION");
    const size = rtcpPacketSize(buf, at);
    if (at + size > buf.length) return err("RTCP_BAD_LENGTH");
    const one = parseRtcpPacket(buf.subarray(at, at + size));
    if (!one.ok) return one;
    packets.push(one.value);
    at += size;
  }
  return ok(packets);
}

/** Octets marshalRtcpPacket writes for `p`. */
export function rtcpPacketSizeOf(p: RtcpPacket): number {
  switch (p.kind) {
    case "sr":
      return rtcpSenderReportSize(p);
    case "rr":
      return rtcpReceiverReportSize(p);
    case "sdes":
      return rtcpSourceDescriptionSize(p);
    case "bye":
      return rtcpGoodbyeSize(p);
    case "raw":
      return rtcpRawPacketSize(p);
  }
}

/** Writes one packet at `offset`; returns octets written or -1. */
export function marshalRtcpPacket(p: RtcpPacket, out: Uint8Array, offset = 0): number {
  switch (p.kind) {
    case "sr":
      return marshalRtcpSenderReport(p, out, offset);
    case "rr":
      return marshalRtcpReceiverReport(p, out, offset);
    case "sdes":
      return marshalRtcpSourceDescription(p, out, offset);
    case "bye":
      return marshalRtcpGoodbye(p, out, offset);
    case "raw":
      return marshalRtcpRawPacket(p, out, offset);
  }
}

/** Octets marshalRtcpCompound writes for `packets`. */
export function rtcpCompoundSize(packets: readonly RtcpPacket[]): number {
  let size = 0;
  for (const p of packets) size += rtcpPacketSizeOf(p);
  return size;
}

/** Writes the packets back to back at `offset`; returns octets written or -1. */
export function marshalRtcpCompound(packets: readonly RtcpPacket[], out: Uint8Array, offset = 0): number {
  let at = offset;
  for (const p of packets) {
    const n = marshalRtcpPacket(p, out, at);
    if (n < 0) return -1;
    at += n;
  }
  return at - offset;
}
