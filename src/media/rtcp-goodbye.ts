import { type Result, ok, err } from "../lib/index.ts";
import { put32, u32 } from "./bytes.ts";
import {
  RTCP_HEADER_SIZE,
  RTCP_MAX_COUNT,
  RTCP_PT_BYE,
  type RtcpParseError,
  rtcpContentLength,
  rtcpCount,
  writeRtcpHeader,
} from "./rtcp-header.ts";

/*
 * RFC 3550 section 6.6, goodbye:
 *
 *        0                   1                   2                   3
 *        0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *       |V=2|P|    SC   |   PT=BYE=203  |             length            |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *       |                           SSRC/CSRC                           |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *       :                              ...                              :
 *       +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * (opt) |     length    |               reason for leaving            ...
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The reason is padded with nulls to a 32-bit boundary.
 */

const SOURCE_SIZE = 4;
const REASON_LENGTH_SIZE = 1;
const MAX_REASON_LENGTH = 255;

const utf8Decoder = new TextDecoder("utf-8", { fatal: false });
const utf8Encoder = new TextEncoder();

/** A goodbye packet (PT 203). */
export interface RtcpGoodbye {
  readonly kind: "bye";
  readonly sources: readonly number[];
  readonly reason?: string | undefined;
}

/** Reads one BYE packet that fills `buf` exactly. */
export function parseRtcpGoodbye(buf: Uint8Array): Result<RtcpGoodbye, RtcpParseError> {
  const end = rtcpContentLength(buf, RTCP_PT_BYE);
  if (typeof end === "string") return err(end);
  const count = rtcpCount(buf);
  const reasonAt = RTCP_HEADER_SIZE + count * SOURCE_SIZE;
  if (reasonAt > end) return err("RTCP_COUNT_OVERRUN");
  const sources: number[] = [];
  for (let at = RTCP_HEADER_SIZE; at < reasonAt; at += SOURCE_SIZE) sources.push(u32(buf, at));
  if (reasonAt === end) return ok({ kind: "bye", sources });
  const length = buf[reasonAt]!;
  const textStart = reasonAt + REASON_LENGTH_SIZE;
  if (textStart + length > end) return err("RTCP_BAD_LENGTH");
  return ok({ kind: "bye", sources, reason: utf8Decoder.decode(buf.subarray(textStart, textStart + length)) });
}

/** Octets marshalRtcpGoodbye writes for `p`. */
export function rtcpGoodbyeSize(p: RtcpGoodbye): number {
  const base = RTCP_HEADER_SIZE + p.sources.length * SOURCE_SIZE;
  if (p.reason === undefined) return base;
  return base + ((REASON_LENGTH_SIZE + utf8Encoder.encode(p.reason).length + 3) & ~3);
}

/** Writes `p` at `offset`; returns octets written, or -1 if it does not fit or cannot be expressed. */
export function marshalRtcpGoodbye(p: RtcpGoodbye, out: Uint8Array, offset = 0): number {
  const size = rtcpGoodbyeSize(p);
  if (offset + size > out.length || p.sources.length > RTCP_MAX_COUNT) return -1;
  writeRtcpHeader(out, offset, p.sources.length, RTCP_PT_BYE, size);
  let at = offset + RTCP_HEADER_SIZE;
  for (const s of p.sources) {
    put32(out, at, s);
    at += SOURCE_SIZE;
  }
  if (p.reason !== undefined) {
    const text = utf8Encoder.encode(p.reason);
    if (text.length > MAX_REASON_LENGTH) return -1;
    out[at] = text.length;
    out.set(text, at + REASON_LENGTH_SIZE);
    at += REASON_LENGTH_SIZE + text.length;
    out.fill(0, at, offset + size);
  }
  return size;
}
