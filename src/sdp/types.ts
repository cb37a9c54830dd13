/**
 * The SDP data model (RFC 8866, formerly RFC 4566).
 *
 * Fields follow the grammar order of section 9 so that serializing a parsed,
 * well-formed body gives back the same bytes; a body with lines out of that
 * order is still read, and written back in grammar order. Attributes stay raw (name and
 * value text) because they are where unknown extensions live: a relay must
 * pass them on untouched, and typed views are computed on demand
 * (see attributes.ts and codecs.ts).
 */

/** `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>` */
export interface Origin {
  readonly username: string;
  /** Kept as text: up to 64 bits and leading zeros must survive a round trip. */
  readonly sessionId: string;
  readonly sessionVersion: string;
  readonly netType: string;
  readonly addrType: string;
  readonly address: string;
}

/** `c=<nettype> <addrtype> <connection-address>`; IPv6 addresses carry no brackets. */
export interface Connection {
  readonly netType: string;
  readonly addrType: string;
  readonly address: string;
  /** IP4 multicast TTL (`/127`). */
  readonly ttl?: number;
  /** Multicast address count (`/3`). */
  readonly count?: number;
}

/** `b=<bwtype>:<bandwidth>` */
export interface Bandwidth {
  readonly type: string;
  readonly value: number;
}

/** `t=<start-time> <stop-time>` with its `r=` lines kept raw. */
export interface Timing {
  readonly start: number;
  readonly stop: number;
  readonly repeats: readonly string[];
}

/**
 * An `a=` line, or (kind "line") a line of a type letter SDP does not define,
 * which keeps its place among the attributes.
 */
export type Attribute =
  | { readonly kind: "attribute"; readonly name: string; readonly value: string | null }
  | { readonly kind: "line"; readonly type: string; readonly value: string };

/** One `m=` section. */
export interface MediaDescription {
  /** audio, video, image, application, ... */
  readonly type: string;
  readonly port: number;
  /** The `/2` of `m=video 49170/2 ...`. */
  readonly portCount?: number;
  /** RTP/AVP, RTP/SAVP, RTP/SAVPF, UDP/TLS/RTP/SAVPF, udptl, ... */
  readonly protocol: string;
  /** Payload type numbers as written (strings, since non-RTP formats are names). */
  readonly formats: readonly string[];
  readonly information?: string;
  readonly connections: readonly Connection[];
  readonly bandwidths: readonly Bandwidth[];
  readonly key?: string;
  readonly attributes: readonly Attribute[];
}

/** A whole session description. */
export interface SessionDescription {
  readonly version: number;
  readonly origin: Origin;
  readonly sessionName: string;
  readonly information?: string;
  readonly uri?: string;
  readonly emails: readonly string[];
  readonly phones: readonly string[];
  readonly connection?: Connection;
  readonly bandwidths: readonly Bandwidth[];
  readonly timings: readonly Timing[];
  readonly zone?: string;
  readonly key?: string;
  readonly attributes: readonly Attribute[];
  readonly media: readonly MediaDescription[];
}

/** Stable codes for why a body could not be parsed; callers branch on these. */
export type SdpParseErrorCode =
  | "SDP_EMPTY"
  | "SDP_BAD_LINE"
  | "SDP_BAD_VERSION"
  | "SDP_BAD_ORIGIN"
  | "SDP_BAD_CONNECTION"
  | "SDP_BAD_TIMING"
  | "SDP_BAD_BANDWIDTH"
  | "SDP_BAD_MEDIA"
  | "SDP_MISSING_LINE"
  | "SDP_MISPLACED_LINE";

/** Why parsing failed, with the 1-based line number when one line is to blame. */
export interface SdpParseError {
  readonly code: SdpParseErrorCode;
  readonly message: string;
  readonly line?: number;
}

/** RFC 3264 stream direction. */
export type Direction = "sendrecv" | "sendonly" | "recvonly" | "inactive";

/** Stable codes for a negotiation that cannot succeed. */
export type NegotiationErrorCode = "SDP_NO_COMMON_CODEC" | "SDP_NO_ACCEPTABLE_STREAM" | "SDP_ANSWER_MISMATCH";

/** Why one m= line was rejected. */
export interface StreamRejection {
  readonly index: number;
  readonly type: string;
  readonly reason: string;
}

/**
 * A negotiation failure. `warnCode` is the RFC 3261 20.43 Warning code that
 * fits (302 transport, 304 media type, 305 media format) and `message` is the
 * text to put in it; the caller answers 488.
 */
export interface NegotiationFailure {
  readonly code: NegotiationErrorCode;
  readonly warnCode: 302 | 304 | 305;
  readonly message: string;
  readonly streams: readonly StreamRejection[];
}
