import { attributeValues, parseFmtp, parseRtpmap } from "./attributes.ts";
import type { Attribute, MediaDescription } from "./types.ts";

/** One payload type of an RTP stream, resolved from rtpmap or the RFC 3551 static table. */
export interface Codec {
  readonly payloadType: number;
  /** Encoding name as written (case kept); compare with sameName(). */
  readonly name: string;
  readonly clockRate: number;
  /** Audio channels; 1 when not stated (RFC 8866 6.6). */
  readonly channels: number;
  readonly fmtp?: string;
  /** Whether the name came from the static table rather than an rtpmap line. */
  readonly fromStaticTable: boolean;
}

/** A codec as a policy or capability names it: `PCMU`, `G722/8000`, `opus/48000/2`. */
export interface CodecSpec {
  readonly name: string;
  readonly clockRate?: number;
  readonly channels?: number;
}

interface StaticEntry {
  readonly name: string;
  readonly clockRate: number;
  readonly channels: number;
}

/**
 * RFC 3551 section 6, tables 4 and 5: payload types with a fixed meaning.
 * G722 is 8000 here on purpose: RFC 3551 4.5.2 keeps the RTP clock at 8000 for
 * historical reasons although it samples at 16000.
 */
export const STATIC_PAYLOAD_TYPES: ReadonlyMap<number, StaticEntry> = new Map([
  [0, { name: "PCMU", clockRate: 8000, channels: 1 }],
  [3, { name: "GSM", clockRate: 8000, channels: 1 }],
  [4, { name: "G723", clockRate: 8000, channels: 1 }],
  [5, { name: "DVI4", clockRate: 8000, channels: 1 }],
  [6, { name: "DVI4", clockRate: 16000, channels: 1 }],
  [7, { name: "LPC", clockRate: 8000, channels: 1 }],
  [8, { name: "PCMA", clockRate: 8000, channels: 1 }],
  [9, { name: "G722", clockRate: 8000, channels: 1 }],
  [10, { name: "L16", clockRate: 44100, channels: 2 }],
  [11, { name: "L16", clockRate: 44100, channels: 1 }],
  [12, { name: "QCELP", clockRate: 8000, channels: 1 }],
  [13, { name: "CN", clockRate: 8000, channels: 1 }],
  [14, { name: "MPA", clockRate: 90000, channels: 1 }],
  [15, { name: "G728", clockRate: 8000, channels: 1 }],
  [16, { name: "DVI4", clockRate: 11025, channels: 1 }],
  [17, { name: "DVI4", clockRate: 22050, channels: 1 }],
  [18, { name: "G729", clockRate: 8000, channels: 1 }],
  [25, { name: "CelB", clockRate: 90000, channels: 1 }],
  [26, { name: "JPEG", clockRate: 90000, channels: 1 }],
  [28, { name: "nv", clockRate: 90000, channels: 1 }],
  [31, { name: "H261", clockRate: 90000, channels: 1 }],
  [32, { name: "MPV", clockRate: 90000, channels: 1 }],
  [33, { name: "MP2T", clockRate: 90000, channels: 1 }],
  [34, { name: "H263", clockRate: 90000, channels: 1 }],
]);

/** Whether a stream carries RTP, so that its formats are payload type numbers. */
export function isRtpMedia(media: MediaDescription): boolean {
  return /(^|\/)RTP\//i.test(media.protocol);
}

/**
 * The codecs of an RTP stream, in m= line order. A dynamic payload type without
 * an rtpmap cannot be named and is left out; so are formats that are not numbers.
 */
export function codecsOf(media: MediaDescription): Codec[] {
  const maps = new Map<number, { name: string; clockRate: number; channels: number }>();
  for (const v of attributeValues(media.attributes, "rtpmap")) {
    const r = v === null ? undefined : parseRtpmap(v);
    if (r !== undefined && !maps.has(r.payloadType)) {
      maps.set(r.payloadType, { name: r.encodingName, clockRate: r.clockRate, channels: r.channels ?? 1 });
    }
  }
  const fmtps = new Map<string, string>();
  for (const v of attributeValues(media.attributes, "fmtp")) {
    const f = v === null ? undefined : parseFmtp(v);
    if (f !== undefined && !fmtps.has(f.format)) fmtps.set(f.format, f.parameters);
  }
  const out: Codec[] = [];
  for (const format of media.formats) {
    if (!/^\d{1,3}$/.test(format)) continue;
    const pt = Number(format);
    // An explicit rtpmap wins even for a static number: some gear remaps them.
    const mapped = maps.get(pt);
    const known = mapped ?? STATIC_PAYLOAD_TYPES.get(pt);
    if (known === undefined) continue;
    const fmtp = fmtps.get(format);
    out.push({
      payloadType: pt,
      name: known.name,
      clockRate: known.clockRate,
      channels: known.channels,
      ...(fmtp === undefined ? {} : { fmtp }),
      fromStaticTable: mapped === undefined,
    });
  }
  return out;
}

/** Parses `name[/rate[/channels]]`; undefined when the numbers are malformed. */
export function parseCodecSpec(text: string): CodecSpec | undefined {
  const [name, rate, channels, ...rest] = text.trim().split("/");
  if (name === undefined || name === "" || rest.length > 0) return undefined;
  if ((rate !== undefined && !/^\d+$/.test(rate)) || (channels !== undefined && !/^\d+$/.test(channels))) return undefined;
  return {
    name,
    ...(rate === undefined ? {} : { clockRate: Number(rate) }),
    ...(channels === undefined ? {} : { channels: Number(channels) }),
  };
}

/** Formats a codec as `name/rate[/channels]`, the form used in messages and Warning texts. */
export function formatCodec(c: Pick<Codec, "name" | "clockRate" | "channels">): string {
  return c.channels > 1 ? `${c.name}/${c.clockRate}/${c.channels}` : `${c.name}/${c.clockRate}`;
}

/** Encoding names are case-insensitive (RFC 4855 3). */
export function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** Whether a codec matches a spec; unstated rate or channels match anything. */
export function codecMatches(codec: Codec, spec: CodecSpec): boolean {
  if (!sameName(codec.name, spec.name)) return false;
  if (spec.clockRate !== undefined && spec.clockRate !== codec.clockRate) return false;
  if (spec.channels !== undefined && spec.channels !== codec.channels) return false;
  return true;
}

/** Whether a codec carries no voice of its own (DTMF events, comfort noise, redundancy). */
export function isAuxiliaryCodec(codec: Pick<Codec, "name">): boolean {
  const n = codec.name.toLowerCase();
  return n === "telephone-event" || n === "telephone-events" || n === "cn" || n === "red" || n === "ulpfec" || n === "rtx";
}

/** Attributes that name a payload type as their first word and so must follow it out of an m= line. */
const PER_FORMAT_ATTRIBUTES: ReadonlySet<string> = new Set(["rtpmap", "fmtp", "rtcp-fb"]);

/**
 * The stream with only the given formats, in the given order; rtpmap, fmtp and
 * rtcp-fb lines of formats that left are dropped so the body stays consistent.
 */
export function withFormats(media: MediaDescription, formats: readonly string[]): MediaDescription {
  const keep = new Set(formats);
  const attributes = media.attributes.filter((a: Attribute) => {
    if (a.kind !== "attribute" || a.value === null || !PER_FORMAT_ATTRIBUTES.has(a.name)) return true;
    const first = a.value.split(" ", 1)[0] ?? "";
    // rtcp-fb:* applies to every format and stays.
    return first === "*" || keep.has(first);
  });
  return { ...media, formats: [...formats], attributes };
}
