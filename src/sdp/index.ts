/**
 * SDP: parse/serialize (RFC 8866), offer/answer (RFC 3264), codec policy and
 * the relay's anchoring helpers. A pure library: no SIP, no sockets.
 */
export type {
  Attribute,
  Bandwidth,
  Connection,
  Direction,
  MediaDescription,
  NegotiationErrorCode,
  NegotiationFailure,
  Origin,
  SdpParseError,
  SdpParseErrorCode,
  SessionDescription,
  StreamRejection,
  Timing,
} from "./types.ts";
export { parseSdp, parseConnectionValue } from "./parse.ts";
export { serializeSdp, formatConnection, formatMediaLine, formatOrigin } from "./serialize.ts";
export {
  type CryptoAttribute,
  type Fmtp,
  type IceAttributes,
  type Rtpmap,
  type RtcpAttribute,
  attribute,
  attributeValue,
  attributeValues,
  cryptosOf,
  directionIn,
  fmtpParameters,
  formatCrypto,
  formatRtcp,
  formatRtpmap,
  hasAttribute,
  iceOf,
  intersectDirection,
  isIceAttribute,
  maxptimeOf,
  mediaDirection,
  parseCrypto,
  parseFmtp,
  parseRtcp,
  parseRtpmap,
  ptimeOf,
  reverseDirection,
  rtcpMuxOf,
  rtcpOf,
  withDirection,
  withoutDirection,
} from "./attributes.ts";
export {
  type Codec,
  type CodecSpec,
  STATIC_PAYLOAD_TYPES,
  codecMatches,
  codecsOf,
  formatCodec,
  isAuxiliaryCodec,
  isRtpMedia,
  parseCodecSpec,
  sameName,
  withFormats,
} from "./codecs.ts";
export {
  type AnswerOptions,
  type NegotiatedStream,
  type OriginSeed,
  checkAnswer,
  createAnswer,
  effectiveDirection,
  isOldStyleHold,
  reviseSession,
  streamConnection,
} from "./offer-answer.ts";
export { type CodecPolicy, applyCodecPolicy, orderByPolicy, parseCodecPolicy } from "./codec-policy.ts";
export { type AnchorOptions, type RelayEndpoint, type StreamInfo, anchorMedia, readStreams } from "./anchor.ts";
