/**
 * The seam between signalling and media. The call layer hands every SDP body that crosses it to
 * the anchor and sends on whatever comes back; the RTP relay (src/media) plugs in here through
 * media-relay-anchor.ts without the B2BUA changing. Legs are named from the call's point of view:
 * `a` is the side the INVITE came from, `b` the side we called.
 */
import type { CallMediaQuality } from "../ports/index.ts";
import type { TrunkMedia } from "../domain/index.ts";

export type CallLeg = "a" | "b";

/** Each leg's trunk media settings, as provisioned (absent: relay defaults, every codec). */
export interface CallMediaPolicy {
  readonly a?: TrunkMedia;
  readonly b?: TrunkMedia;
}

/** Something the media of a call tells the call layer. */
export type MediaAnchorEvent =
  /** No media in either direction for the configured time: the call is torn down. */
  | { readonly type: "media-timeout"; readonly idleMs: number }
  /** afterMs after the answer `silentLeg` has sent no RTP while the other leg has (NAT, firewall, a muted or broken endpoint). */
  | { readonly type: "one-way-audio"; readonly silentLeg: CallLeg; readonly afterMs: number; readonly stream: number }
  /** The media of the call is gone (the relay thread carrying it died): the call cannot go on. */
  | { readonly type: "media-failed"; readonly reason: string }
  /** A digit from `fromLeg`'s RFC 4733 events that `toLeg` (DTMF mode info) must get as SIP INFO. */
  | { readonly type: "dtmf-info"; readonly toLeg: CallLeg; readonly digit: string; readonly durationMs: number };

/** A listener of one call's media events. */
export type MediaAnchorListener = (event: MediaAnchorEvent) => void;

/**
 * listen() for an anchor: adds the listener to the call's set, or, before the call has media, to
 * an early set the call takes over once its media is made; returns the unsubscribe function.
 */
export function addMediaListener(
  current: Set<MediaAnchorListener> | undefined,
  early: Map<string, Set<MediaAnchorListener>>,
  callId: string,
  listener: MediaAnchorListener,
): () => void {
  let set = current ?? early.get(callId);
  if (set === undefined) {
    set = new Set();
    early.set(callId, set);
  }
  set.add(listener);
  const listeners = set;
  return () => listeners.delete(listener);
}

/** Why the anchor refused a body: 488 with a Warning (codec, SRTP) or 503 (no ports). */
export class MediaAnchorError extends Error {
  override readonly name = "MediaAnchorError";
  constructor(
    readonly status: 488 | 503,
    message: string,
    /** Warning header value for a 488, e.g. `305 trunkline "no common codec"`. */
    readonly warning?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What the B2BUA needs from a media anchor. Bodies are opaque bytes here; parsing is the anchor's business. */
export interface MediaAnchor {
  /**
   * An offer received on `from`; returns the offer to send on the other leg. The first offer of a
   * call carries its policy (leg settings and the receiving trunk's codec allow-list). Rejects with
   * MediaAnchorError when the call cannot be anchored as asked.
   */
  offer(callId: string, from: CallLeg, sdp: Buffer, policy?: CallMediaPolicy): Promise<Buffer>;
  /** An answer received on `from`; returns the answer to send on the other leg. */
  answer(callId: string, from: CallLeg, sdp: Buffer): Promise<Buffer>;
  /**
   * Failover to a B-leg target whose trunk has other media settings: `sdp`, the caller's original
   * offer, is anchored again towards a new B leg with `policy` (whatever the previous B leg held is
   * released) and the offer for the new target is returned. Rejects with MediaAnchorError when
   * the new trunk cannot take the call (e.g. no codec in common).
   */
  reoffer(callId: string, sdp: Buffer, policy: CallMediaPolicy): Promise<Buffer>;
  /** The call was answered: media supervision (timeout) starts. */
  started(callId: string): void;
  /** Subscribes to the call's media events; returns the unsubscribe. */
  listen(callId: string, listener: (event: MediaAnchorEvent) => void): () => void;
  /**
   * A digit received as SIP INFO from the other leg, to send to `toLeg` as RFC 4733 events.
   * Resolves true once the digit is accepted (it plays out afterwards), false when that leg does
   * not take events (the INFO is then passed on as it is).
   */
  sendDtmf(callId: string, toLeg: CallLeg, digit: string, durationMs: number): Promise<boolean>;
  /** Quality of the call's media for the CDR, read before release; undefined when not relayed. */
  report(callId: string): CallMediaQuality | undefined;
  /**
   * Frees every resource of the call; called exactly once per call, however it ended. Resolves
   * with the media's final quality when the relay has a fresher one than report() gave (a relay
   * worker answers its last counts only when the session closes), else undefined.
   */
  release(callId: string): Promise<CallMediaQuality | undefined>;
  /** Whether release() can resolve with fresher counts than report(): then the CDR waits for it. */
  readonly reportsOnRelease: boolean;
}

/** The anchor used while the relay is not wired in (or for direct media): SDP passes through unchanged and nothing is held. */
export function passThroughMediaAnchor(): MediaAnchor {
  return {
    offer: async (_callId, _from, sdp) => sdp,
    answer: async (_callId, _from, sdp) => sdp,
    reoffer: async (_callId, sdp) => sdp,
    started: () => {},
    listen: () => () => {},
    sendDtmf: async () => false,
    report: () => undefined,
    release: async () => undefined,
    reportsOnRelease: false,
  };
}
