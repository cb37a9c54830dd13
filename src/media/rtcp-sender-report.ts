import { type Result, ok, err } from "../lib/index.ts";
import { put32, u32 } from "./bytes.ts";
import { RTCP_MAX_COUNT, RTCP_PT_SR, type RtcpParseError, rtcpContentLength, rtcpCount, writeRtcpHeader } from "./rtcp-header.ts";
import {
  RECEPTION_REPORT_SIZE,
  type ReceptionReport,
  marshalReceptionReport,
  parseReportBlocks,
} from "./rtcp-receiver-report.ts";

/*
 * RFC 3550 section 6.4.1, sender report:
 *
 *         0                   1                   2                   3
 *         0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * header |V=2|P|    RC   |   PT=SR=200   |             length            |
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |                         SSRC of sender                        |
 *        +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * sender |              NTP timestamp, most significant word             |
 * info   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |             NTP timestamp, least significant word             |
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |                         RTP timestamp                         |
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |                     sender's packet count                     |
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |                      sender's octet count                     |
 *        +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *        |                 report blocks (24 octets each)                |
 *        +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *        |                  profile-specific extensions                  |
 */

const SR_SSRC_OFFSET = 4;
const SR_NTP_MSW_OFFSET = 8;
const SR_NTP_LSW_OFFSET = 12;
const SR_RTP_TIMESTAMP_OFFSET = 16;
const SR_PACKET_COUNT_OFFSET = 20;
const SR_OCTET_COUNT_OFFSET = 24;
const SR_REPORTS_OFFSET = 28;

/** A sender report (PT 200). */
export interface RtcpSenderReport {
  readonly kind: "sr";
  readonly ssrc: number;
  /** NTP seconds since 1900. */
  readonly ntpMsw: number;
  /** NTP fraction of a second in 1/2^32. */
  readonly ntpLsw: number;
  readonly rtpTimestamp: number;
  readonly packetCount: number;
  readonly octetCount: number;
  readonly reports: readonly ReceptionReport[];
  readonly profileExtension: Uint8Array;
}

/** Reads one sender report that fills `buf` exactly. */
export function parseRtcpSenderReport(buf: Uint8Array): Result<RtcpSenderReport, RtcpParseError> {
  const end = rtcpContentLength(buf, RTCP_PT_SR);
  if (typeof end === "string") return err(end);
  if (end < SR_REPORTS_OFFSET) return err("RTCP_TOO_SHORT");
  const blocks = parseReportBlocks(buf, SR_REPORTS_OFFSET, rtcpCount(buf), end);
  if (!blocks.ok) return blocks;
  return ok({
    kind: "sr",
    ssrc: u32(buf, SR_SSRC_OFFSET),
    ntpMsw: u32(buf, SR_NTP_MSW_OFFSET),
    ntpLsw: u32(buf, SR_NTP_LSW_OFFSET),
    rtpTimestamp: u32(buf, SR_RTP_TIMESTAMP_OFFSET),
    packetCount: u32(buf, SR_PACKET_COUNT_OFFSET),
    octetCount: u32(buf, SR_OCTET_COUNT_OFFSET),
    ...blocks.value,
  });
}

/** Octets marshalRtcpSenderReport writes for `p`. */
export function rtcpSenderReportSize(p: RtcpSenderReport): number {
  return SR_REPORTS_OFFSET + p.reports.length * RECEPTION_REPORT_SIZE + p.profileExtension.length;
}

/** Writes `p` at `offset`; returns octets written, or -1 if it does not fit or cannot be expressed. */
export function marshalRtcpSenderReport(p: RtcpSenderReport, out: Uint8Array, offset = 0): number {
  const size = rtcpSenderReportSize(p);
  if (offset + size > out.length || p.reports.length > RTCP_MAX_COUNT || size % 4 !== 0) return -1;
  writeRtcpHeader(out, offset, p.reports.length, RTCP_PT_SR, size);
  put32(out, offset + SR_SSRC_OFFSET, p.ssrc);
  put32(out, offset + SR_NTP_MSW_OFFSET, p.ntpMsw);
  put32(out, offset + SR_NTP_LSW_OFFSET, p.ntpLsw);
  put32(out, offset + SR_RTP_TIMESTAMP_OFFSET, p.rtpTimestamp);
  put32(out, offset + SR_PACKET_COUNT_OFFSET, p.packetCount);
  put32(out, offset + SR_OCTET_COUNT_OFFSET, p.octetCount);
  let at = offset + SR_REPORTS_OFFSET;
  for (const r of p.reports) {
    marshalReceptionReport(r, out, at);
    at += RECEPTION_REPORT_SIZE;
  }
  out.set(p.profileExtension, at);
  return size;
}
