/**
 * The seam between signalling and media. The call layer hands every SDP body that crosses it to
 * the anchor and sends on whatever comes back; the RTP relay (src/media) plugs in here later
 * without the B2BUA changing. Legs are named from the call's point of view: `a` is the side the
 * INVITE came from, `b` the side we called.
 */
export type CallLeg = "a" | "b";

/** What the B2BUA needs from a media anchor. Bodies are opaque bytes here; parsing is the anchor's business. */
export interface MediaAnchor {
  /** An offer received on `from`; returns the offer to send on the other leg. */
  offer(callId: string, from: CallLeg, sdp: Buffer): Promise<Buffer>;
  /** An answer received on `from`; returns the answer to send on the other leg. */
  answer(callId: string, from: CallLeg, sdp: Buffer): Promise<Buffer>;
  /** Frees every resource of the call; called exactly once per call, however it ended. */
  release(callId: string): Promise<void>;
}

/** The anchor used while the relay is not wired in: SDP passes through unchanged and nothing is held. */
export function passThroughMediaAnchor(): MediaAnchor {
  return {
    offer: async (_callId, _from, sdp) => sdp,
    answer: async (_callId, _from, sdp) => sdp,
    release: async () => {},
  };
}
