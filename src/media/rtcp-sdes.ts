import { type Result, ok, err } from "../lib/index.ts";
import { put32, u32 } from "./bytes.ts";
import {
  RTCP_HEADER_SIZE,
  RTCP_MAX_COUNT,
  RTCP_PT_SDES,
  type RtcpParseError,
  rtcpContentLength,
  rtcpCount,
  writeRtcpHeader,
} from "./rtcp-header.ts";

/*
 * RFC 3550 section 6.5, source description:
 *
 *         0                   1                   2                   3
 *         0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * header |V=2|P|    SC   |  PT=SDES=202  |             length            |
 *        +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * chunk  |                          SSRC/CSRC_1                          |
 *   1    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |                           SDES items                          |
 *        |                              ...                              |
 *        +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *
 * Each item (section 6.5.1):
 *
 *        |     type      |     length    | text (length octets, UTF-8) ...
 *
 * A chunk's item list ends with one or more null octets (type 0, section 6.5) that also pad
 * the chunk to a 32-bit boundary.
 */

/** RFC 3550 6.5 item types. */
export const SDES_END = 0;
export const SDES_CNAME = 1;
export const SDES_NAME = 2;
export const SDES_EMAIL = 3;
export const SDES_PHONE = 4;
export const SDES_LOC = 5;
export const SDES_TOOL = 6;
export const SDES_NOTE = 7;
export const SDES_PRIV = 8;

const CHUNK_SSRC_SIZE = 4;
const ITEM_HEADER_SIZE = 2;
const MAX_ITEM_LENGTH = 255;

const utf8Decoder = new TextDecoder("utf-8", { fatal: false });
const utf8Encoder = new TextEncoder();

/** One SDES item; PRIV items keep their prefix inside `text`. */
export interface SdesItem {
  readonly type: number;
  readonly text: string;
}

/** The items describing one source. */
export interface SdesChunk {
  readonly source: number;
  readonly items: readonly SdesItem[];
}

/** A source description packet (PT 202). */
export interface RtcpSourceDescription {
  readonly kind: "sdes";
  readonly chunks: readonly SdesChunk[];
}

/** Reads one SDES packet that fills `buf` exactly. */
export function parseRtcpSourceDescription(buf: Uint8Array): Result<RtcpSourceDescription, RtcpParseError> {
  const end = rtcpContentLength(buf, RTCP_PT_SDES);
  if (typeof end === "string") return err(end);
  const count = rtcpCount(buf);
  const chunks: SdesChunk[] = [];
  let at = RTCP_HEADER_SIZE;
  for (let c = 0; c < count; c++) {
    if (at + CHUNK_SSRC_SIZE > end) return err("RTCP_COUNT_OVERRUN");
    const source = u32(buf, at);
    at += CHUNK_SSRC_SIZE;
    const items: SdesItem[] = [];
    for (;;) {
      if (at >= end) return err("RTCP_BAD_SDES");
      const type = buf[at]!;
      if (type === SDES_END) break;
      if (at + ITEM_HEADER_SIZE > end) return err("RTCP_BAD_SDES");
      const length = buf[at + 1]!;
      const textStart = at + ITEM_HEADER_SIZE;
      if (textStart + length > end) return err("RTCP_BAD_SDES");
      items.push({ type, text: utf8Decoder.decode(buf.subarray(textStart, textStart + length)) });
      at = textStart + length;
    }
    // Skip the terminating null and the nulls that pad the chunk to a word boundary.
    at = (at + 4) & ~3;
    if (at > end) return err("RTCP_BAD_SDES");
    chunks.push({ source, items });
  }
  return ok({ kind: "sdes", chunks });
}

function chunkSize(chunk: SdesChunk): number {
  let size = CHUNK_SSRC_SIZE;
  for (const item of chunk.items) size += ITEM_HEADER_SIZE + utf8Encoder.encode(item.text).length;
  return (size + 4) & ~3;
}

/** Octets marshalRtcpSourceDescription writes for `p`. */
export function rtcpSourceDescriptionSize(p: RtcpSourceDescription): number {
  let size = RTCP_HEADER_SIZE;
  for (const chunk of p.chunks) size += chunkSize(chunk);
  return size;
}

/** Writes `p` at `offset`; returns octets written, or -1 if it does not fit or an item is over 255 octets. */
export function marshalRtcpSourceDescription(p: RtcpSourceDescription, out: Uint8Array, offset = 0): number {
  const size = rtcpSourceDescriptionSize(p);
  if (offset + size > out.length || p.chunks.length > RTCP_MAX_COUNT) return -1;
  writeRtcpHeader(out, offset, p.chunks.length, RTCP_PT_SDES, size);
  let at = offset + RTCP_HEADER_SIZE;
  for (const chunk of p.chunks) {
    put32(out, at, chunk.source);
    at += CHUNK_SSRC_SIZE;
    for (const item of chunk.items) {
      const text = utf8Encoder.encode(item.text);
      if (text.length > MAX_ITEM_LENGTH || item.type === SDES_END) return -1;
      out[at] = item.type;
      out[at + 1] = text.length;
      out.set(text, at + ITEM_HEADER_SIZE);
      at += ITEM_HEADER_SIZE + text.length;
    }
    const padded = (at - offset + 4) & ~3;
    out.fill(0, at, offset + padded);
    at = offset + padded;
  }
  return size;
}
