/**
 * The face of the media relay that the call layer drives: control (offer, answer, start, DTMF,
 * release) and what comes back (events, quality). The in-thread relay (media-relay.ts) and the
 * worker-thread relay (worker-relay.ts) both have it, so the anchor does not know which one runs.
 * Everything here is synchronous only where a worker can answer from a last-known copy.
 */
import type { SessionDescription } from "../../sdp/index.ts";
import type { MediaSessionEvent, MediaSessionOptions, OfferOptions, StreamQuality } from "./media-relay.ts";
import type { LegName } from "./relay-session.ts";
import type { LegMediaOptions } from "./stream-media.ts";

/** One call's media as the call layer sees it, wherever its packets are relayed. */
export interface MediaSessionControl {
  readonly id: string;
  /** Anchors a body from leg `from` and returns the body for the other leg (see MediaSession.offer). */
  offer(from: LegName, sdp: SessionDescription, options?: OfferOptions): Promise<SessionDescription>;
  /** Anchors an answer from leg `from` and returns the answer for the other leg. */
  answer(from: LegName, sdp: SessionDescription): Promise<SessionDescription>;
  /** Call answered: learning windows reopen, timeout and one-way checks start. */
  start(): void;
  on(listener: (event: MediaSessionEvent) => void): () => void;
  /** The leg's trunk behaviour as the session was created with it. */
  legOptions(leg: LegName): LegMediaOptions;
  /**
   * Sends one digit as RFC 4733 events to `toLeg`: resolves true as soon as it is accepted (it plays
   * out afterwards, one packet per 20 ms), false when that leg negotiated no telephone-event.
   */
  queueDtmf(toLeg: LegName, digit: string, durationMs: number): Promise<boolean>;
  /**
   * Quality of the i-th stream (default the first). In worker mode this is the last copy the
   * worker pushed (every report interval, on events and at close), so counts may lag a little.
   */
  qualityReport(index?: number): StreamQuality | undefined;
  /** True while a leg's SDP of some stream says sendonly, recvonly or inactive: silence is expected. */
  onHold(): boolean;
  /** The relay's RTP port facing `leg` for the i-th stream (default the first), once anchored. */
  localPort(leg: LegName, index?: number): number | undefined;
  readonly closed: boolean;
  /** Releases every port of the session; safe to call twice. */
  close(): Promise<void>;
}

/** A relay the call layer can create sessions on and close at shutdown. */
export interface MediaRelayControl {
  /** The address written into SDP. */
  readonly address: string;
  /** Creates an empty session; throws MEDIA_CLOSED after close() and MEDIA_BAD_OPTIONS for a duplicate id. */
  createSession(options?: MediaSessionOptions): MediaSessionControl;
  /** Closes every session and frees every port. */
  close(): Promise<void>;
}
