/**
 * The media relay: UDP port pairs from a range, two-legged RTP/RTCP sessions with symmetric-RTP
 * latching, counters and media-timeout events, and the per-call anchor that rewrites SDP.
 * Knows addresses, ports and codecs; knows nothing of SIP dialogs.
 */
export { type MediaRelayErrorCode, MediaRelayError, isMediaRelayError } from "./errors.ts";
export { type PortAllocator, type PortAllocatorOptions, type PortPair, createPortAllocator } from "./port-allocator.ts";
export {
  type Channel,
  type DropCounters,
  type Endpoint,
  type LegName,
  type LegStats,
  type LegView,
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
  createMediaRelay,
  remoteOf,
} from "./media-relay.ts";
export { type QualitySink, type QualitySinkOptions, createQualitySink } from "./quality-sink.ts";
