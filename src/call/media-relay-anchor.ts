/**
 * The MediaAnchor backed by the RTP relay (src/media): one relay session per call, created at the
 * call's first offer with each leg's trunk settings, closed at release. Calls whose trunk asks for
 * direct media get no session: their SDP passes untouched. Relay failures become MediaAnchorError
 * (488 with the relay's Warning for codec/SRTP refusals, 503 when no ports are left).
 */
import type { TrunkMedia } from "../domain/index.ts";
import {
  type LegMediaOptions,
  type LegQuality,
  type MediaRelayControl,
  type MediaSessionControl,
  DEFAULT_LEG_MEDIA,
  MEDIA_NOT_ACCEPTABLE,
  isMediaRelayError,
} from "../media/index.ts";
import type { CallMediaQuality, LegMediaQuality, MediaDirectionQuality } from "../ports/index.ts";
import { type CodecSpec, type SessionDescription, parseCodecSpec, parseSdp, serializeSdp } from "../sdp/index.ts";
import { addMediaListener, type CallLeg, type CallMediaPolicy, type MediaAnchor, type MediaAnchorEvent, MediaAnchorError } from "./media-anchor.ts";

interface CallMedia {
  /** null: direct media, SDP passes through. */
  readonly session: MediaSessionControl | null;
  readonly policy: CallMediaPolicy;
  readonly listeners: Set<(event: MediaAnchorEvent) => void>;
}

/** Relay session options of a leg from its trunk's settings. */
export function legOptionsOf(media: TrunkMedia | undefined): LegMediaOptions {
  return { srtp: media?.srtp ?? DEFAULT_LEG_MEDIA.srtp, dtmf: media?.dtmf ?? DEFAULT_LEG_MEDIA.dtmf };
}

/** The codec allow-list of a trunk as relay specs; undefined when it has none. */
export function allowOf(media: TrunkMedia | undefined): CodecSpec[] | undefined {
  if (media?.codecs === undefined || media.codecs.length === 0) return undefined;
  return media.codecs.map((c) => parseCodecSpec(c)).filter((c): c is CodecSpec => c !== undefined);
}

const other = (leg: CallLeg): CallLeg => (leg === "a" ? "b" : "a");

function toAnchorError(error: unknown): unknown {
  if (isMediaRelayError(error) && MEDIA_NOT_ACCEPTABLE.has(error.code)) {
    const text = error.message.replace(/"/g, "'");
    return new MediaAnchorError(488, error.message, `${error.warnCode ?? 305} trunkline "${text}"`, { cause: error });
  }
  if (isMediaRelayError(error, "MEDIA_PORTS_EXHAUSTED")) return new MediaAnchorError(503, error.message, undefined, { cause: error });
  return error;
}

function parse(sdp: Buffer): SessionDescription {
  const parsed = parseSdp(sdp.toString("utf8"));
  if (!parsed.ok) throw new MediaAnchorError(488, "unreadable SDP", '399 trunkline "unreadable SDP"');
  return parsed.value;
}

function direction(q: LegQuality["received"]): MediaDirectionQuality {
  return {
    packets: q.packets,
    ...(q.lost !== undefined ? { lost: q.lost } : {}),
    ...(q.jitterMs !== undefined ? { jitterMs: Math.round(q.jitterMs * 100) / 100 } : {}),
    ...(q.rttMs !== undefined ? { rttMs: Math.round(q.rttMs * 100) / 100 } : {}),
    ...(q.mos !== undefined ? { mos: Math.round(q.mos * 100) / 100 } : {}),
  };
}

function legQuality(q: LegQuality): LegMediaQuality {
  return { ...(q.codec !== undefined ? { codec: q.codec } : {}), srtp: q.srtp, received: direction(q.received), sent: direction(q.sent) };
}

/**
 * Creates the relay-backed anchor over the in-thread relay or the worker-thread one;
 * `relay` is owned by the caller (main.ts closes it after the call layer).
 */
export function relayMediaAnchor(relay: MediaRelayControl): MediaAnchor {
  const calls = new Map<string, CallMedia>();
  // Listeners of calls whose first offer has not come yet (late offer: it comes in the 2xx).
  const early = new Map<string, Set<(event: MediaAnchorEvent) => void>>();

  const create = (callId: string, policy: CallMediaPolicy): CallMedia => {
    const direct = policy.a?.directMedia === true || policy.b?.directMedia === true;
    let session: MediaSessionControl | null = null;
    if (!direct) {
      try {
        session = relay.createSession({ id: callId, legs: { a: legOptionsOf(policy.a), b: legOptionsOf(policy.b) } });
      } catch (error) {
        throw toAnchorError(error);
      }
    }
    const entry: CallMedia = { session, policy, listeners: early.get(callId) ?? new Set() };
    early.delete(callId);
    session?.on((event) => {
      if (event.type === "media-timeout") {
        // A call on hold (a leg said sendonly, recvonly or inactive) may be silent for as long as it likes.
        if (session?.onHold() === true) return;
        for (const l of entry.listeners) l({ type: "media-timeout", idleMs: event.idleMs });
      } else if (event.type === "one-way") {
        if (session?.onHold() === true) return;
        for (const l of entry.listeners) l({ type: "one-way-audio", silentLeg: event.silentLeg, afterMs: event.afterMs, stream: event.stream });
      } else if (event.type === "failed") {
        for (const l of entry.listeners) l({ type: "media-failed", reason: event.reason });
      } else if (event.type === "dtmf" && !event.relayed) {
        const toLeg = other(event.fromLeg);
        if (session?.legOptions(toLeg).dtmf === "info") {
          for (const l of entry.listeners) l({ type: "dtmf-info", toLeg, digit: event.digit, durationMs: event.durationMs });
        }
      }
    });
    calls.set(callId, entry);
    return entry;
  };

  return {
    async offer(callId, from, sdp, policy) {
      const entry = calls.get(callId) ?? create(callId, policy ?? {});
      if (entry.session === null) return sdp;
      // The allow-list is that of the trunk that receives the offer.
      const allow = allowOf(entry.policy[other(from)]);
      try {
        const out = await entry.session.offer(from, parse(sdp), allow === undefined ? {} : { allow });
        return Buffer.from(serializeSdp(out), "utf8");
      } catch (error) {
        throw toAnchorError(error);
      }
    },
    async reoffer(callId, sdp, policy) {
      // A fresh session for the new B leg with its trunk's settings: the previous attempt's ports
      // are released (the caller's side too; it gets its first answer from the new attempt).
      const entry = calls.get(callId);
      calls.delete(callId);
      if (entry !== undefined) early.set(callId, entry.listeners);
      await entry?.session?.close();
      return this.offer(callId, "a", sdp, policy);
    },
    async answer(callId, from, sdp) {
      const entry = calls.get(callId);
      if (entry === undefined || entry.session === null) return sdp;
      try {
        const out = await entry.session.answer(from, parse(sdp));
        return Buffer.from(serializeSdp(out), "utf8");
      } catch (error) {
        throw toAnchorError(error);
      }
    },
    started(callId) {
      calls.get(callId)?.session?.start();
    },
    listen(callId, listener) {
      return addMediaListener(calls.get(callId)?.listeners, early, callId, listener);
    },
    async sendDtmf(callId, toLeg, digit, durationMs) {
      const session = calls.get(callId)?.session;
      if (session === null || session === undefined || session.legOptions(toLeg).dtmf !== "rfc4733") return false;
      // Answered once the relay accepts the digit, not when its last packet has gone.
      return session.queueDtmf(toLeg, digit, durationMs);
    },
    report(callId) {
      const q = calls.get(callId)?.session?.qualityReport(0);
      if (q === undefined) return undefined;
      const out: CallMediaQuality = { a: legQuality(q.a), b: legQuality(q.b) };
      return out;
    },
    async release(callId) {
      const entry = calls.get(callId);
      calls.delete(callId);
      early.delete(callId);
      entry?.listeners.clear();
      const session = entry?.session;
      if (session === null || session === undefined) return undefined;
      await session.close();
      // A worker session takes its final counts from the close reply; an in-thread one keeps its own.
      const q = session.qualityReport(0);
      return q === undefined ? undefined : { a: legQuality(q.a), b: legQuality(q.b) };
    },
    reportsOnRelease: true,
  };
}
