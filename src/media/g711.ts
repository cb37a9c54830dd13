import { readRtpPayloadType, rtpPayloadOffset, writeRtpPayloadType } from "./rtp-packet.ts";

/*
 * ITU-T G.711 companding. Linear samples are signed 16-bit; µ-law works on 14 bits of it and
 * A-law on 13, so the low bits are dropped on encode and decode returns the segment midpoint.
 *
 * µ-law code word (bits inverted on the line):  | S | E E E | M M M M |
 *   value = ((M << 3) + 0x84) << E) - 0x84, negative when S is 0 after inversion.
 * A-law code word (even bits inverted, XOR 0x55): | S | E E E | M M M M |
 *   value = (M << 4) + 8 for E = 0, ((M << 4) + 0x108) << (E - 1) otherwise; S set means positive.
 */

const ULAW_BIAS = 0x84;
const ULAW_CLIP = 32635;
const ULAW_SIGN = 0x80;
const ULAW_EXPONENT_MASK = 0x70;
const ULAW_EXPONENT_SHIFT = 4;
const ULAW_MANTISSA_MASK = 0x0f;

const ALAW_TOGGLE = 0x55;
const ALAW_SIGN = 0x80;
const ALAW_EXPONENT_MASK = 0x70;
const ALAW_EXPONENT_SHIFT = 4;
const ALAW_MANTISSA_MASK = 0x0f;
const ALAW_SEGMENT_ENDS = [0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff, 0x3fff, 0x7fff] as const;

/** Linear value of one µ-law octet. */
export function decodeUlaw(code: number): number {
  const u = ~code & 0xff;
  const exponent = (u & ULAW_EXPONENT_MASK) >> ULAW_EXPONENT_SHIFT;
  const magnitude = (((u & ULAW_MANTISSA_MASK) << 3) + ULAW_BIAS) << exponent;
  return (u & ULAW_SIGN) !== 0 ? ULAW_BIAS - magnitude : magnitude - ULAW_BIAS;
}

/** µ-law octet for a signed 16-bit sample (clipped to the µ-law range). */
export function encodeUlawSample(sample: number): number {
  let s = sample | 0;
  let sign = 0;
  if (s < 0) {
    sign = ULAW_SIGN;
    s = -s;
  }
  if (s > ULAW_CLIP) s = ULAW_CLIP;
  s += ULAW_BIAS;
  // The exponent is the position of the top set bit above bit 7 of the biased magnitude.
  const exponent = 31 - Math.clz32(s) - 7;
  const mantissa = (s >> (exponent + 3)) & ULAW_MANTISSA_MASK;
  return ~(sign | (exponent << ULAW_EXPONENT_SHIFT) | mantissa) & 0xff;
}

/** Linear value of one A-law octet. */
export function decodeAlaw(code: number): number {
  const a = (code ^ ALAW_TOGGLE) & 0xff;
  const exponent = (a & ALAW_EXPONENT_MASK) >> ALAW_EXPONENT_SHIFT;
  let magnitude = (a & ALAW_MANTISSA_MASK) << 4;
  if (exponent === 0) magnitude += 8;
  else magnitude = (magnitude + 0x108) << (exponent - 1);
  return (a & ALAW_SIGN) !== 0 ? magnitude : -magnitude;
}

/** A-law octet for a signed 16-bit sample. */
export function encodeAlawSample(sample: number): number {
  let s = sample | 0;
  let mask: number;
  if (s >= 0) {
    mask = ALAW_TOGGLE | ALAW_SIGN;
  } else {
    mask = ALAW_TOGGLE;
    // One's complement keeps -1 .. -8 in the smallest step, as G.711's decision values do.
    s = -s - 1;
  }
  if (s > 0x7fff) s = 0x7fff;
  let segment = 0;
  while (segment < 8 && s > ALAW_SEGMENT_ENDS[segment]!) segment++;
  let code = segment << ALAW_EXPONENT_SHIFT;
  code |= segment < 2 ? (s >> 4) & ALAW_MANTISSA_MASK : (s >> (segment + 3)) & ALAW_MANTISSA_MASK;
  return code ^ mask;
}

function buildDecode(decode: (code: number) => number): Int16Array {
  const t = new Int16Array(256);
  for (let c = 0; c < 256; c++) t[c] = decode(c);
  return t;
}

function buildEncode(encode: (sample: number) => number): Uint8Array {
  const t = new Uint8Array(65536);
  for (let i = 0; i < 65536; i++) t[i] = encode(i < 32768 ? i : i - 65536);
  return t;
}

/** Linear value of each µ-law octet. */
export const ULAW_TO_LINEAR: Int16Array = buildDecode(decodeUlaw);
/** Linear value of each A-law octet. */
export const ALAW_TO_LINEAR: Int16Array = buildDecode(decodeAlaw);
/** µ-law octet for each 16-bit sample, indexed by `sample & 0xffff`. */
const LINEAR_TO_ULAW: Uint8Array = buildEncode(encodeUlawSample);
/** A-law octet for each 16-bit sample, indexed by `sample & 0xffff`. */
const LINEAR_TO_ALAW: Uint8Array = buildEncode(encodeAlawSample);

function buildTranscode(decode: Int16Array, encode: Uint8Array): Uint8Array {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) t[c] = encode[decode[c]! & 0xffff]!;
  return t;
}

/** A-law octet for each µ-law octet (through the linear value, one lookup per sample). */
export const ULAW_TO_ALAW: Uint8Array = buildTranscode(ULAW_TO_LINEAR, LINEAR_TO_ALAW);
/** µ-law octet for each A-law octet. */
export const ALAW_TO_ULAW: Uint8Array = buildTranscode(ALAW_TO_LINEAR, LINEAR_TO_ULAW);

/** µ-law octet for a signed 16-bit sample, by table. */
export function encodeUlaw(sample: number): number {
  return LINEAR_TO_ULAW[sample & 0xffff]!;
}

/** A-law octet for a signed 16-bit sample, by table. */
export function encodeAlaw(sample: number): number {
  return LINEAR_TO_ALAW[sample & 0xffff]!;
}

/** The two G.711 laws by their RTP encoding names (RFC 3551 4.5.14). */
export type G711Law = "PCMU" | "PCMA";

/**
 * Transcodes a G.711 payload from one law to the other, into `out` (which may be `input`
 * itself for in-place work); returns the octets written, or -1 if `out` is too small.
 */
export function transcodeG711(input: Uint8Array, from: G711Law, to: G711Law, out: Uint8Array = input): number {
  const n = input.length;
  if (out.length < n) return -1;
  if (from === to) {
    if (out !== input) out.set(input);
    return n;
  }
  const table = from === "PCMU" ? ULAW_TO_ALAW : ALAW_TO_ULAW;
  for (let i = 0; i < n; i++) out[i] = table[input[i]!]!;
  return n;
}

/** Decodes a G.711 payload into signed 16-bit samples; returns the samples written or -1. */
export function decodeG711(input: Uint8Array, law: G711Law, out: Int16Array): number {
  const n = input.length;
  if (out.length < n) return -1;
  const table = law === "PCMU" ? ULAW_TO_LINEAR : ALAW_TO_LINEAR;
  for (let i = 0; i < n; i++) out[i] = table[input[i]!]!;
  return n;
}

/** Encodes signed 16-bit samples into a G.711 payload; returns the octets written or -1. */
export function encodeG711(input: Int16Array, law: G711Law, out: Uint8Array): number {
  const n = input.length;
  if (out.length < n) return -1;
  const table = law === "PCMU" ? LINEAR_TO_ULAW : LINEAR_TO_ALAW;
  for (let i = 0; i < n; i++) out[i] = table[input[i]! & 0xffff]!;
  return n;
}

/** RFC 3551 static payload types of the two laws. */
export const G711_PAYLOAD_TYPE: Readonly<Record<G711Law, number>> = { PCMU: 0, PCMA: 8 };

/**
 * Transcodes the payload of one RTP packet in place (padding left alone) and rewrites its
 * payload type, by default to the target law's static one. Returns false, changing nothing,
 * when the header is malformed or the packet does not carry `from`'s payload type.
 */
export function transcodeRtpPacketG711(
  packet: Uint8Array,
  from: G711Law,
  to: G711Law,
  payloadTypes: { readonly from?: number; readonly to?: number } = {},
): boolean {
  const offset = rtpPayloadOffset(packet);
  if (offset < 0 || readRtpPayloadType(packet) !== (payloadTypes.from ?? G711_PAYLOAD_TYPE[from])) return false;
  // With P set, the last octet counts padding octets that are not audio.
  const padding = (packet[0]! & 0x20) !== 0 ? packet[packet.length - 1]! : 0;
  if (offset + padding > packet.length) return false;
  transcodeG711(packet.subarray(offset, packet.length - padding), from, to);
  writeRtpPayloadType(packet, payloadTypes.to ?? G711_PAYLOAD_TYPE[to]);
  return true;
}
