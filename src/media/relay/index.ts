/**
 * The media relay: UDP port pairs from a range, two-legged RTP/RTCP sessions with symmetric-RTP
 * latching, counters and media-timeout events, and the per-call anchor that rewrites SDP;
 * per leg SDES-SRTP termination, PCMU<->PCMA transcoding, RFC 4733/INFO/inband DTMF
 * interworking and RTCP-based quality (stream-media.ts, codec-plan.ts).
 * Knows addresses, ports and codecs; knows nothing of SIP dialogs.
 */
export { type MediaRelayErrorCode, MEDIA_NOT_ACCEPTABLE, MediaRelayError, isMediaRelayError } from "./errors.ts";
export { type PortAllocator, type PortAllocatorOptions, type PortPair, createPortAllocator } from "./port-allocator.ts";
export {
  type Channel,
  type DropCounters,
  type Endpoint,
  type LegName,
  type LegStats,
  type LegView,
  type PacketProcessor,
  type ProcessorDrop,
  type ReceiveStatsSink,
  type RelayEvent,
  type RelayLogger,
  type RelaySessionOptions,
  type RemoteEndpoint,
  type StrictOption,
  type TrafficCounter,
  RelaySession,
  canonicalAddress,
} from "./relay-session.ts";
export {
  type LegTotals,
  type MediaRelay,
  type MediaRelayOptions,
  type MediaSession,
  type MediaSessionEvent,
  type MediaSessionOptions,
  type OfferOptions,
  type StreamQuality,
  createMediaRelay,
  remoteOf,
} from "./media-relay.ts";
export { type MediaRelayControl, type MediaSessionControl } from "./relay-control.ts";
export {
  type WorkerMediaRelay,
  type WorkerMediaRelayOptions,
  type WorkerRelayLogger,
  createWorkerMediaRelay,
  splitPortRange,
} from "./worker-relay.ts";
export { type QualitySink, type QualitySinkOptions, createQualitySink } from "./quality-sink.ts";
export { type CodecMismatch, type CodecPlan, type StreamCodecMode, planCodecs } from "./codec-plan.ts";
export {
  type DirectionQuality,
  type DtmfDigitEvent,
  type DtmfMode,
  type LegMediaOptions,
  type LegQuality,
  type SrtpMode,
  DEFAULT_LEG_MEDIA,
  StreamMedia,
} from "./stream-media.ts";
