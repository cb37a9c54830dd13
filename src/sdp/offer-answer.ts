/**
 * RFC 3264 offer/answer. The functions here do not care whether the offer came
 * in an INVITE (answer in the 200) or in a 200 (answer in the ACK): an offer is
 * an offer.
 */
import { type Result, ok, err } from "../lib/index.ts";
import {
  attribute,
  directionIn,
  formatRtpmap,
  intersectDirection,
  mediaDirection,
  ptimeOf,
  reverseDirection,
  rtcpMuxOf,
} from "./attributes.ts";
import { type Codec, type CodecSpec, codecMatches, codecsOf, formatCodec, isAuxiliaryCodec, isRtpMedia } from "./codecs.ts";
import { serializeSdp } from "./serialize.ts";
import type {
  Attribute,
  Connection,
  Direction,
  MediaDescription,
  NegotiationFailure,
  SessionDescription,
  StreamRejection,
} from "./types.ts";

/** The first three fields of our o= line. */
export interface OriginSeed {
  readonly username: string;
  readonly sessionId: string;
  readonly sessionVersion: string;
}

/** What we can do, for createAnswer. */
export interface AnswerOptions {
  /** Our o= identity for a first answer. */
  readonly origin: OriginSeed;
  /** Our last description in this dialog: its o= is reused and its version bumped if anything changed. */
  readonly previous?: SessionDescription;
  /** Where we receive media (no brackets for IPv6). */
  readonly address: string;
  /** Defaults from the address: IP6 when it has a colon. */
  readonly addrType?: "IP4" | "IP6";
  /** Defaults to "-" (RFC 8866 5.3). */
  readonly sessionName?: string;
  /** Our receive port for the i-th m= line; 0 rejects the stream. Called only for streams we accept. */
  readonly port: (index: number, offered: MediaDescription) => number;
  /** Codecs we accept; the answer keeps the offer's order (RFC 3264 6.1 RECOMMENDED). */
  readonly codecs: readonly CodecSpec[];
  /** Media types we take; default ["audio"]. */
  readonly mediaTypes?: readonly string[];
  /** Transport protocols we take, compared case-insensitively; default ["RTP/AVP"]. */
  readonly protocols?: readonly string[];
  /** Most voice codecs per answered stream (DTMF and comfort noise not counted); default no limit. */
  readonly maxCodecs?: number;
  /** What we want to do; the answer never exceeds what the offer allows. Default sendrecv. */
  readonly direction?: Direction;
  /** Our packetization time; default echoes the offer's ptime. */
  readonly ptime?: number;
  /** Whether we can multiplex RTCP on the RTP port (RFC 5761); default true. */
  readonly rtcpMux?: boolean;
}

const OLD_HOLD_ADDRESSES: ReadonlySet<string> = new Set(["0.0.0.0", "::"]);

/** The connection that applies to a stream: its own c= first, else the session's. */
export function streamConnection(media: MediaDescription, session: SessionDescription): Connection | undefined {
  return media.connections[0] ?? session.connection;
}

/** Whether a stream is held the RFC 2543 way, with c=0.0.0.0 (RFC 3264 8.4). */
export function isOldStyleHold(media: MediaDescription, session: SessionDescription): boolean {
  const c = streamConnection(media, session);
  return c !== undefined && OLD_HOLD_ADDRESSES.has(c.address);
}

/**
 * The direction a stream really offers: c=0.0.0.0 means "do not send to me",
 * so it takes receiving away from whatever a= says.
 */
export function effectiveDirection(media: MediaDescription, session: SessionDescription): Direction {
  const d = mediaDirection(media, session);
  if (!isOldStyleHold(media, session)) return d;
  return intersectDirection(d, "sendonly");
}

/** Builds the RFC 3264 answer to an offer, or says why none is acceptable. */
export function createAnswer(offer: SessionDescription, options: AnswerOptions): Result<SessionDescription, NegotiationFailure> {
  const addrType = options.addrType ?? (options.address.includes(":") ? "IP6" : "IP4");
  const mediaTypes = (options.mediaTypes ?? ["audio"]).map((t) => t.toLowerCase());
  const protocols = (options.protocols ?? ["RTP/AVP"]).map((p) => p.toUpperCase());
  const rejections: StreamRejection[] = [];
  let offeredActive = 0;
  let accepted = 0;

  const media = offer.media.map((m, index): MediaDescription => {
    if (m.port === 0) return rejectedStream(m);
    offeredActive++;
    const reject = (reason: string): MediaDescription => {
      rejections.push({ index, type: m.type, reason });
      return rejectedStream(m);
    };
    if (!mediaTypes.includes(m.type.toLowerCase())) return reject(`media type ${m.type} not accepted`);
    if (!protocols.includes(m.protocol.toUpperCase())) return reject(`transport ${m.protocol} not accepted`);
    const chosen = chooseCodecs(m, options);
    if (typeof chosen === "string") return reject(chosen);
    const port = options.port(index, m);
    if (port === 0) return reject("no local port");
    accepted++;
    return answerStream(offer, m, chosen, port, options);
  });

  if (offeredActive > 0 && accepted === 0) return err(failureFor(rejections));

  const answer: SessionDescription = {
    version: 0,
    origin: { ...options.origin, netType: "IN", addrType, address: options.address },
    sessionName: options.sessionName ?? "-",
    emails: [],
    phones: [],
    connection: { netType: "IN", addrType, address: options.address },
    bandwidths: [],
    timings: [{ start: 0, stop: 0, repeats: [] }],
    attributes: [],
    media,
  };
  return ok(options.previous === undefined ? answer : reviseSession(options.previous, answer));
}

function rejectedStream(m: MediaDescription): MediaDescription {
  // RFC 3264 6: a rejected stream keeps its m= line, port 0, and at least one format.
  return { type: m.type, port: 0, protocol: m.protocol, formats: m.formats.length > 0 ? [...m.formats] : ["0"], connections: [], bandwidths: [], attributes: [] };
}

function chooseCodecs(m: MediaDescription, options: AnswerOptions): Codec[] | string {
  if (!isRtpMedia(m)) return "non-RTP streams are not answered";
  const offered = codecsOf(m);
  const matching = offered.filter((c) => options.codecs.some((spec) => codecMatches(c, spec)));
  const voice = matching.filter((c) => !isAuxiliaryCodec(c));
  const offeredVoice = offered.some((c) => !isAuxiliaryCodec(c));
  // A stream of DTMF events alone (RFC 4317 2.4) is fine; a voice stream needs a voice codec.
  if (matching.length === 0 || (offeredVoice && voice.length === 0)) {
    return `no common codec (offered ${offered.map(formatCodec).join(", ") || "none"})`;
  }
  const limit = options.maxCodecs ?? Infinity;
  const keptVoice = new Set(voice.slice(0, limit));
  return matching.filter((c) => isAuxiliaryCodec(c) || keptVoice.has(c));
}

function answerStream(offer: SessionDescription, m: MediaDescription, codecs: readonly Codec[], port: number, options: AnswerOptions): MediaDescription {
  const attributes: Attribute[] = [];
  for (const c of codecs) {
    attributes.push(attribute("rtpmap", formatRtpmap({ payloadType: c.payloadType, encodingName: c.name, clockRate: c.clockRate, ...(c.channels > 1 ? { channels: c.channels } : {}) })));
    if (c.fmtp !== undefined) attributes.push(attribute("fmtp", `${c.payloadType} ${c.fmtp}`));
  }
  const ptime = options.ptime ?? ptimeOf(m);
  if (ptime !== undefined) attributes.push(attribute("ptime", String(ptime)));
  // RFC 5761 5.1.1: the answerer includes rtcp-mux only if the offer had it.
  if (rtcpMuxOf(m) && options.rtcpMux !== false) attributes.push(attribute("rtcp-mux"));
  const direction = intersectDirection(reverseDirection(effectiveDirection(m, offer)), options.direction ?? "sendrecv");
  const explicit = directionIn(m.attributes) !== undefined || directionIn(offer.attributes) !== undefined;
  if (direction !== "sendrecv" || explicit) attributes.push(attribute(direction));
  return {
    type: m.type,
    port,
    protocol: m.protocol,
    formats: codecs.map((c) => String(c.payloadType)),
    connections: [],
    bandwidths: [],
    attributes,
  };
}

function failureFor(rejections: readonly StreamRejection[]): NegotiationFailure {
  const codecProblem = rejections.find((r) => r.reason.startsWith("no common codec"));
  const transportProblem = rejections.find((r) => r.reason.startsWith("transport"));
  const message = rejections.map((r) => `m-line ${r.index} (${r.type}): ${r.reason}`).join("; ");
  if (codecProblem !== undefined) return { code: "SDP_NO_COMMON_CODEC", warnCode: 305, message, streams: rejections };
  return { code: "SDP_NO_ACCEPTABLE_STREAM", warnCode: transportProblem !== undefined ? 302 : 304, message, streams: rejections };
}

/**
 * The next description in a dialog (RFC 3264 8): same o= username and session
 * id as before, the version incremented only when something else changed.
 */
export function reviseSession(previous: SessionDescription, next: SessionDescription): SessionDescription {
  const candidate: SessionDescription = { ...next, origin: { ...next.origin, username: previous.origin.username, sessionId: previous.origin.sessionId, sessionVersion: previous.origin.sessionVersion } };
  if (serializeSdp(candidate) === serializeSdp(previous)) return candidate;
  return { ...candidate, origin: { ...candidate.origin, sessionVersion: (BigInt(previous.origin.sessionVersion) + 1n).toString() } };
}

/** One stream as negotiated, seen from the side that sent the offer. */
export interface NegotiatedStream {
  readonly index: number;
  readonly type: string;
  readonly accepted: boolean;
  /** The answer's formats, named with the offer's rtpmaps where the answer has none. */
  readonly codecs: readonly Codec[];
  /** What the offerer may now do: send, receive, both, or neither. */
  readonly direction: Direction;
}

/** Checks an answer against its offer (RFC 3264 6) and says what was agreed per stream. */
export function checkAnswer(offer: SessionDescription, answer: SessionDescription): Result<NegotiatedStream[], NegotiationFailure> {
  const mismatch = (index: number, type: string, reason: string): Result<NegotiatedStream[], NegotiationFailure> =>
    err({ code: "SDP_ANSWER_MISMATCH", warnCode: 304, message: `m-line ${index} (${type}): ${reason}`, streams: [{ index, type, reason }] });
  if (answer.media.length !== offer.media.length) {
    return mismatch(Math.min(answer.media.length, offer.media.length), "-", `answer has ${answer.media.length} m-lines, offer ${offer.media.length}`);
  }
  const out: NegotiatedStream[] = [];
  for (const [index, o] of offer.media.entries()) {
    const a = answer.media[index] as MediaDescription;
    if (a.type !== o.type) return mismatch(index, o.type, `answer has media type ${a.type}`);
    if (a.port === 0 || o.port === 0) {
      out.push({ index, type: o.type, accepted: false, codecs: [], direction: "inactive" });
      continue;
    }
    if (!a.formats.some((f) => o.formats.includes(f))) return mismatch(index, o.type, "answer has no format of the offer");
    const offered = codecsOf(o);
    const answered = new Map(codecsOf(a).map((c) => [c.payloadType, c]));
    const codecs: Codec[] = [];
    for (const f of a.formats) {
      const c = answered.get(Number(f)) ?? offered.find((x) => String(x.payloadType) === f);
      if (c !== undefined) codecs.push(c);
    }
    const direction = intersectDirection(effectiveDirection(o, offer), reverseDirection(effectiveDirection(a, answer)));
    out.push({ index, type: o.type, accepted: true, codecs, direction });
  }
  return ok(out);
}
