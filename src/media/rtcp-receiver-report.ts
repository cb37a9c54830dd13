import { type Result, ok, err } from "../lib/index.ts";
import { put24, put32, u24, u32 } from "./bytes.ts";
import {
  RTCP_MAX_COUNT,
  RTCP_PT_RR,
  type RtcpParseError,
  rtcpContentLength,
  rtcpCount,
  writeRtcpHeader,
} from "./rtcp-header.ts";

/*
 * RFC 3550 section 6.4.2, receiver report:
 *
 *         0                   1                   2                   3
 *         0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * header |V=2|P|    RC   |   PT=RR=201   |             length            |
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |                     SSRC of packet sender                     |
 *        +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * report |                 SSRC_1 (SSRC of first source)                 |
 * block  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   1    | fraction lost |       cumulative number of packets lost       |
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |           extended highest sequence number received           |
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |                      interarrival jitter                      |
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |                         last SR (LSR)                         |
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |                   delay since last SR (DLSR)                  |
 *        +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *        |                  profile-specific extensions                  |
 *
 * The report block layout is shared with the sender report (section 6.4.1).
 */

export const RECEPTION_REPORT_SIZE = 24;
const RR_SSRC_OFFSET = 4;
const RR_REPORTS_OFFSET = 8;

const BLOCK_SSRC_OFFSET = 0;
const BLOCK_FRACTION_OFFSET = 4;
const BLOCK_CUMULATIVE_OFFSET = 5;
const BLOCK_HIGHEST_OFFSET = 8;
const BLOCK_JITTER_OFFSET = 12;
const BLOCK_LSR_OFFSET = 16;
const BLOCK_DLSR_OFFSET = 20;
const CUMULATIVE_SIGN = 0x800000;

/** One report block: what a receiver saw of one source. */
export interface ReceptionReport {
  readonly ssrc: number;
  /** Fraction lost since the previous report, in 1/256 units. */
  readonly fractionLost: number;
  /** Cumulative packets lost; negative when duplicates outnumber losses (24-bit signed). */
  readonly cumulativeLost: number;
  readonly highestSequence: number;
  /** Interarrival jitter in timestamp units. */
  readonly jitter: number;
  /** Middle 32 bits of the NTP timestamp of the last SR, 0 when none. */
  readonly lastSenderReport: number;
  /** Delay since that SR in 1/65536 s. */
  readonly delaySinceLastSenderReport: number;
}

/** A receiver report (PT 201). */
export interface RtcpReceiverReport {
  readonly kind: "rr";
  readonly ssrc: number;
  readonly reports: readonly ReceptionReport[];
  /** Octets after the report blocks; a view, usually empty. */
  readonly profileExtension: Uint8Array;
}

/** Reads the report block at `offset`; the caller checked there are 24 octets. */
export function parseReceptionReport(buf: Uint8Array, offset: number): ReceptionReport {
  const raw = u24(buf, offset + BLOCK_CUMULATIVE_OFFSET);
  return {
    ssrc: u32(buf, offset + BLOCK_SSRC_OFFSET),
    fractionLost: buf[offset + BLOCK_FRACTION_OFFSET]!,
    cumulativeLost: raw & CUMULATIVE_SIGN ? raw - 0x1000000 : raw,
    highestSequence: u32(buf, offset + BLOCK_HIGHEST_OFFSET),
    jitter: u32(buf, offset + BLOCK_JITTER_OFFSET),
    lastSenderReport: u32(buf, offset + BLOCK_LSR_OFFSET),
    delaySinceLastSenderReport: u32(buf, offset + BLOCK_DLSR_OFFSET),
  };
}

/** Writes one report block at `offset` (24 octets); cumulative loss is clamped to 24 bits signed. */
export function marshalReceptionReport(r: ReceptionReport, out: Uint8Array, offset: number): void {
  const lost = Math.max(-CUMULATIVE_SIGN, Math.min(CUMULATIVE_SIGN - 1, r.cumulativeLost));
  put32(out, offset + BLOCK_SSRC_OFFSET, r.ssrc);
  out[offset + BLOCK_FRACTION_OFFSET] = r.fractionLost & 0xff;
  put24(out, offset + BLOCK_CUMULATIVE_OFFSET, lost & 0xffffff);
  put32(out, offset + BLOCK_HIGHEST_OFFSET, r.highestSequence);
  put32(out, offset + BLOCK_JITTER_OFFSET, r.jitter);
  put32(out, offset + BLOCK_LSR_OFFSET, r.lastSenderReport);
  put32(out, offset + BLOCK_DLSR_OFFSET, r.delaySinceLastSenderReport);
}

/** Reads report blocks after a fixed part, shared by SR and RR. */
export function parseReportBlocks(
  buf: Uint8Array,
  from: number,
  count: number,
  end: number,
): Result<{ reports: ReceptionReport[]; profileExtension: Uint8Array }, RtcpParseError> {
  const blocksEnd = from + count * RECEPTION_REPORT_SIZE;
  if (blocksEnd > end) return err("RTCP_COUNT_OVERRUN");
  const reports: ReceptionReport[] = [];
  for (let at = from; at < blocksEnd; at += RECEPTION_REPORT_SIZE) reports.push(parseReceptionReport(buf, at));
  return ok({ reports, profileExtension: buf.subarray(blocksEnd, end) });
}

/** Reads one receiver report that fills `buf` exactly. */
export function parseRtcpReceiverReport(buf: Uint8Array): Result<RtcpReceiverReport, RtcpParseError> {
  const end = rtcpContentLength(buf, RTCP_PT_RR);
  if (typeof end === "string") return err(end);
  if (end < RR_REPORTS_OFFSET) return err("RTCP_TOO_SHORT");
  const blocks = parseReportBlocks(buf, RR_REPORTS_OFFSET, rtcpCount(buf), end);
  if (!blocks.ok) return blocks;
  return ok({ kind: "rr", ssrc: u32(buf, RR_SSRC_OFFSET), ...blocks.value });
}

/** Octets marshalRtcpReceiverReport writes for `p`. */
export function rtcpReceiverReportSize(p: RtcpReceiverReport): number {
  return RR_REPORTS_OFFSET + p.reports.length * RECEPTION_REPORT_SIZE + p.profileExtension.length;
}

/** Writes `p` at `offset`; returns octets written, or -1 if it does not fit or cannot be expressed. */
export function marshalRtcpReceiverReport(p: RtcpReceiverReport, out: Uint8Array, offset = 0): number {
  const size = rtcpReceiverReportSize(p);
  if (offset + size > out.length || p.reports.length > RTCP_MAX_COUNT || size % 4 !== 0) return -1;
  writeRtcpHeader(out, offset, p.reports.length, RTCP_PT_RR, size);
  put32(out, offset + RR_SSRC_OFFSET, p.ssrc);
  let at = offset + RR_REPORTS_OFFSET;
  for (const r of p.reports) {
    marshalReceptionReport(r, out, at);
    at += RECEPTION_REPORT_SIZE;
  }
  out.set(p.profileExtension, at);
  return size;
}
