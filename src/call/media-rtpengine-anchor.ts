/**
 * The MediaAnchor backed by rtpengine over its ng control protocol, for deployments whose media
 * runs on dedicated rtpengine hosts instead of Trunkline's own relay. Every SDP body crossing the
 * B2BUA becomes an ng `offer` or `answer` (call-id = our call id, one tag per leg: `a`, and `b1`,
 * `b2`... per B-leg attempt so a failover gets a branch of its own); `release` is `delete`.
 *
 * Each leg's trunk media settings become ng options on the body sent *to* that leg:
 *   srtp required -> transport-protocol RTP/SAVP (SDES, the suites of RFC 4568 we support)
 *   srtp off      -> transport-protocol RTP/AVP (rtpengine terminates SRTP from the other side)
 *   codec allow-list -> codec strip (codecs the trunk does not allow), or, when only the other
 *                    G.711 law is allowed, codec mask + transcode (rtpengine transcodes)
 *   dtmf inband      -> telephone-event stripped towards that leg
 *   dtmf info        -> telephone-event consumed towards that leg (still taken from the other)
 * Quality comes from periodic `query` results, cached so that report() stays synchronous; the
 * same polls drive the media timeout (no packet counted for the configured time).
 *
 * The polls also notice rtpengine itself going away: after QUERY_FAILURES_BEFORE_FAILED queries
 * in a row with no answer, the call gets media-failed and ends, whether or not a media timeout is
 * configured (its media cannot flow through a dead rtpengine).
 *
 * DTMF interworking: a digit from SIP INFO is injected with `play DTMF` when rtpengine accepts it
 * (else the INFO passes). The other way needs rtpengine's DTMF log (`--dtmf-log-dest`, which main
 * listens to, media.rtpengine.dtmfLogListen): each digit it reports from one leg becomes a
 * dtmf-info event when the other leg takes DTMF as SIP INFO (dtmfLogged).
 */
import { type Clock, type Timer, systemClock } from "../lib/index.ts";
import type { TrunkMedia } from "../domain/index.ts";
import type { NgClient, NgCodecParams, NgError, NgOfferParams, NgReply, BencodeValue, BencodeDict, RtpengineDtmfEvent } from "../media/index.ts";
import { isBencodeDict } from "../media/index.ts";
import type { Logger } from "../observability/index.ts";
import type { CallMediaQuality, LegMediaQuality, MediaDirectionQuality } from "../ports/index.ts";
import { type StreamInfo, isAuxiliaryCodec, parseSdp, readStreams } from "../sdp/index.ts";
import { addMediaListener, type CallLeg, type CallMediaPolicy, type MediaAnchor, type MediaAnchorEvent, MediaAnchorError } from "./media-anchor.ts";

/** Options of the rtpengine-backed anchor; the ng client is owned by the caller. */
export interface RtpengineAnchorOptions {
  readonly client: NgClient;
  /** How often an answered call's statistics are queried (default 2000 ms). */
  readonly statsIntervalMs?: number;
  /** No packet counted for this long after the answer raises media-timeout; 0 disables (default 60000 ms). */
  readonly mediaTimeoutMs?: number;
  /** After this long from the answer, a leg that sent nothing while the other did raises one-way audio; 0 disables (default 10000 ms). */
  readonly oneWayAfterMs?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

interface RtpCall {
  policy: CallMediaPolicy;
  readonly direct: boolean;
  /** rtpengine tags: the A leg's, and the current B-leg attempt's. */
  readonly tags: { a: string; b: string };
  bAttempt: number;
  /** Legs whose answer (or offer in dialog) rtpengine has seen, so their tag is known to it. */
  readonly known: Set<CallLeg>;
  /** An offer was sent: rtpengine may hold the call even if its reply was lost. */
  sent: boolean;
  /** True while the last SDP of a leg put the call on hold: silence is then expected. */
  held: boolean;
  listeners: Set<(event: MediaAnchorEvent) => void>;
  report: CallMediaQuality | undefined;
  poll: Timer | undefined;
  startedAt: number | undefined;
  lastPackets: number;
  lastChangeAt: number;
  timedOut: boolean;
  /** Queries in a row that got no answer from rtpengine (a timeout or a send error). */
  queryFailures: number;
  failedSent: boolean;
  oneWaySent: boolean;
  released: boolean;
}

/** Unanswered queries in a row (each already retried by the ng client) before a call's media is declared failed. */
const QUERY_FAILURES_BEFORE_FAILED = 3;

/** The rtpengine anchor, which also takes the digits rtpengine's DTMF log reports. */
export interface RtpengineMediaAnchor extends MediaAnchor {
  /** A digit rtpengine saw in a call's media: SIP INFO towards the other leg when it takes DTMF as INFO. */
  dtmfLogged(event: RtpengineDtmfEvent): void;
}

const other = (leg: CallLeg): CallLeg => (leg === "a" ? "b" : "a");

/** SDES suites we offer towards a trunk that requires SRTP (RFC 4568, as our own relay does). */
const SDES_SUITES = ["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"] as const;
/** Suites rtpengine 10.x would offer besides those; each is turned off with SDES `no-<suite>`. */
const SDES_OTHER = ["AEAD_AES_256_GCM", "AEAD_AES_128_GCM", "AES_256_CM_HMAC_SHA1_80", "AES_256_CM_HMAC_SHA1_32", "AES_192_CM_HMAC_SHA1_80", "AES_192_CM_HMAC_SHA1_32", "F8_128_HMAC_SHA1_80", "F8_128_HMAC_SHA1_32", "NULL_HMAC_SHA1_80", "NULL_HMAC_SHA1_32"] as const;

const G711 = ["PCMU", "PCMA"] as const;

function readBody(sdp: Buffer): StreamInfo[] {
  const parsed = parseSdp(sdp.toString("utf8"));
  if (!parsed.ok) throw new MediaAnchorError(488, "unreadable SDP", '399 trunkline "unreadable SDP"');
  return readStreams(parsed.value);
}

const isSavp = (s: StreamInfo): boolean => /\/SAVP/i.test(s.protocol);
const audioOf = (streams: readonly StreamInfo[]): StreamInfo[] => streams.filter((s) => !s.rejected && s.type.toLowerCase() === "audio");

/** The codec part of an offer towards a trunk with this allow-list; throws 488 when nothing fits. */
function codecParams(streams: readonly StreamInfo[], to: TrunkMedia | undefined): NgCodecParams | undefined {
  const strip = new Set<string>();
  const mask = new Set<string>();
  const transcode = new Set<string>();
  const consume = new Set<string>();
  // Towards an info leg the events are consumed, not stripped: rtpengine must still take them from
  // the other leg (its answer keeps telephone-event) to report each digit in its DTMF log.
  if (to?.dtmf === "info") consume.add("telephone-event");
  if (to?.dtmf === "inband") strip.add("telephone-event");
  const allow = (to?.codecs ?? []).map((c) => (c.split("/")[0] ?? c).toUpperCase());
  if (allow.length > 0) {
    for (const s of audioOf(streams)) {
      const offered = s.codecs.filter((c) => !isAuxiliaryCodec(c)).map((c) => c.name.toUpperCase());
      const common = offered.filter((n) => allow.includes(n));
      if (common.length > 0) {
        for (const n of offered) if (!allow.includes(n)) strip.add(n);
        continue;
      }
      // Nothing in common: G.711 on both sides is transcoded (the only transcoding we promise).
      const target = allow.find((n) => (G711 as readonly string[]).includes(n));
      if (target !== undefined && offered.some((n) => (G711 as readonly string[]).includes(n))) {
        for (const n of offered) mask.add(n);
        transcode.add(target);
        continue;
      }
      const text = `no common codec (offered ${offered.join(", ") || "none"}, allowed ${allow.join(", ")})`;
      throw new MediaAnchorError(488, text, `305 trunkline "${text}"`);
    }
  }
  if (strip.size === 0 && mask.size === 0 && transcode.size === 0 && consume.size === 0) return undefined;
  return {
    ...(strip.size > 0 ? { strip: [...strip] } : {}),
    ...(consume.size > 0 ? { consume: [...consume] } : {}),
    ...(mask.size > 0 ? { mask: [...mask] } : {}),
    ...(transcode.size > 0 ? { transcode: [...transcode] } : {}),
  };
}

/** ng options that shape a body sent to a trunk with `to` settings. */
function towards(to: TrunkMedia | undefined, streams: readonly StreamInfo[]): Partial<NgOfferParams> {
  const codec = codecParams(streams, to);
  const srtp = to?.srtp;
  return {
    ...(srtp === "required" ? { "transport-protocol": "RTP/SAVP", SDES: SDES_OTHER.map((s) => `no-${s}`), DTLS: "off" } : {}),
    ...(srtp === "off" ? { "transport-protocol": "RTP/AVP" } : {}),
    ...(codec !== undefined ? { codec } : {}),
  };
}

/** The leg sending this body requires SRTP and offers none: 488 as the relay answers it. */
function checkSrtp(from: TrunkMedia | undefined, streams: readonly StreamInfo[]): void {
  if (from?.srtp !== "required") return;
  const plain = audioOf(streams).filter((s) => !isSavp(s) || s.crypto.length === 0);
  if (plain.length > 0) throw new MediaAnchorError(488, "SRTP required on this trunk but not offered", '302 trunkline "SRTP required on this trunk but not offered"');
}

/** Turns an ng failure into what the call layer answers: 503 when rtpengine is unreachable or full, 488 for a body it refuses. */
function toAnchorError(error: NgError): MediaAnchorError {
  if (error.code === "NG_ERROR") {
    const reason = error.reason ?? "refused";
    if (/port/i.test(reason)) return new MediaAnchorError(503, `rtpengine: ${reason}`);
    const text = `media not acceptable: ${reason}`.replace(/"/g, "'");
    return new MediaAnchorError(488, `rtpengine: ${reason}`, `399 trunkline "${text}"`);
  }
  return new MediaAnchorError(503, `rtpengine unavailable (${error.code}): ${error.message}`, undefined, { cause: error });
}

const num = (v: BencodeValue | undefined): number | undefined => (typeof v === "number" ? v : undefined);
const dict = (v: BencodeValue | undefined): BencodeDict | undefined => (isBencodeDict(v) ? v : undefined);
const list = (v: BencodeValue | undefined): readonly BencodeValue[] => (Array.isArray(v) ? (v as readonly BencodeValue[]) : []);

interface TagMedia {
  readonly codec: string | undefined;
  readonly srtp: boolean;
  readonly packets: number;
  readonly ssrc: number | undefined;
}

/** The first audio stream of a tag in a query reply: its codec, profile and RTP packets received from that tag's endpoint. */
function tagMedia(reply: NgReply, tag: string): TagMedia | undefined {
  const t = dict(dict(reply["tags"])?.[tag]);
  if (t === undefined) return undefined;
  const media = list(t["medias"]).map(dict).find((m) => m !== undefined && m["type"] === "audio");
  if (media === undefined) return undefined;
  const rtp = list(media["streams"]).map(dict).find((s) => s !== undefined && list(s["flags"]).includes("RTP"));
  const codec = typeof media["codec"] === "string" ? (media["codec"].split("/")[0] ?? undefined) : undefined;
  return {
    codec,
    srtp: typeof media["protocol"] === "string" && /SAVP/i.test(media["protocol"]),
    packets: num(dict(rtp?.["stats"])?.["packets"]) ?? 0,
    ssrc: num(rtp?.["SSRC"]),
  };
}

/** What rtpengine measured of one SSRC from RTCP: loss, jitter, RTT and MOS (scaled by 10 on the wire). */
function ssrcQuality(reply: NgReply, ssrc: number | undefined): Omit<MediaDirectionQuality, "packets"> {
  if (ssrc === undefined) return {};
  const s = dict(dict(reply["SSRC"])?.[String(ssrc)]);
  if (s === undefined) return {};
  const avg = dict(s["average MOS"]);
  const mos = num(avg?.["MOS"]);
  const jitter = num(avg?.["jitter"]);
  const rtt = num(avg?.["round-trip time"]);
  const lost = num(s["cumulative loss"]);
  return {
    ...(lost !== undefined ? { lost } : {}),
    ...(jitter !== undefined ? { jitterMs: jitter } : {}),
    ...(rtt !== undefined && rtt > 0 ? { rttMs: Math.round(rtt / 10) / 100 } : {}),
    ...(mos !== undefined && mos > 0 ? { mos: mos / 10 } : {}),
  };
}

/** The CDR's media figures from a query reply: packets each leg sent to rtpengine and got from it, with RTCP-based quality when rtpengine has it. */
export function qualityFromQuery(reply: NgReply, tags: { readonly a: string; readonly b: string }): CallMediaQuality | undefined {
  const a = tagMedia(reply, tags.a);
  const b = tagMedia(reply, tags.b);
  if (a === undefined && b === undefined) return undefined;
  const leg = (own: TagMedia | undefined, peer: TagMedia | undefined): LegMediaQuality => ({
    ...(own?.codec !== undefined ? { codec: own.codec } : {}),
    srtp: own?.srtp ?? false,
    received: { packets: own?.packets ?? 0, ...ssrcQuality(reply, own?.ssrc) },
    // rtpengine forwards what the peer sent; its query has no separate egress counter.
    sent: { packets: peer?.packets ?? 0 },
  });
  return { a: leg(a, b), b: leg(b, a) };
}

/** Creates the rtpengine-backed anchor. */
export function rtpengineMediaAnchor(options: RtpengineAnchorOptions): RtpengineMediaAnchor {
  const ng = options.client;
  const clock = options.clock ?? systemClock;
  const statsIntervalMs = options.statsIntervalMs ?? 2000;
  const mediaTimeoutMs = options.mediaTimeoutMs ?? 60_000;
  const oneWayAfterMs = options.oneWayAfterMs ?? 10_000;
  const log = options.logger;
  const calls = new Map<string, RtpCall>();
  const early = new Map<string, Set<(event: MediaAnchorEvent) => void>>();

  const create = (callId: string, policy: CallMediaPolicy): RtpCall => {
    const entry: RtpCall = {
      policy,
      direct: policy.a?.directMedia === true || policy.b?.directMedia === true,
      tags: { a: "a", b: "b1" },
      bAttempt: 1,
      known: new Set(),
      sent: false,
      held: false,
      listeners: early.get(callId) ?? new Set(),
      report: undefined,
      poll: undefined,
      startedAt: undefined,
      lastPackets: 0,
      lastChangeAt: 0,
      timedOut: false,
      queryFailures: 0,
      failedSent: false,
      oneWaySent: false,
      released: false,
    };
    early.delete(callId);
    calls.set(callId, entry);
    return entry;
  };

  const emit = (entry: RtpCall, event: MediaAnchorEvent): void => {
    for (const l of entry.listeners) l(event);
  };

  /** Flags common to every offer and answer. */
  const base = (entry: RtpCall): Pick<NgOfferParams, "flags" | "replace" | "ICE"> => {
    // trust-address: the SDP's own address counts, not the ng packet's source (that is us).
    const flags = ["trust-address"];
    // A leg that sends digits as SIP INFO needs them injected as events on the other leg (play DTMF).
    if (entry.policy.a?.dtmf === "info" || entry.policy.b?.dtmf === "info") flags.push("inject-DTMF");
    return { flags, replace: ["origin", "session-connection"], ICE: "remove" };
  };

  const offerTo = async (callId: string, entry: RtpCall, from: CallLeg, sdp: Buffer, streams: readonly StreamInfo[]): Promise<Buffer> => {
    const to = other(from);
    const params: NgOfferParams = {
      "call-id": callId,
      "from-tag": entry.tags[from],
      ...(entry.known.has(to) ? { "to-tag": entry.tags[to] } : {}),
      sdp: sdp.toString("utf8"),
      ...base(entry),
      ...towards(entry.policy[to], streams),
    };
    entry.sent = true;
    const r = await ng.offer(params);
    if (!r.ok) throw toAnchorError(r.error);
    entry.known.add(from);
    return Buffer.from(r.value.sdp, "utf8");
  };

  const poll = async (callId: string, entry: RtpCall): Promise<void> => {
    entry.poll = undefined;
    if (entry.released) return;
    const r = await ng.query({ "call-id": callId });
    if (entry.released) return;
    const now = clock.now();
    if (r.ok) {
      entry.queryFailures = 0;
      const report = qualityFromQuery(r.value, entry.tags);
      if (report !== undefined) entry.report = report;
      const packets = (report?.a.received.packets ?? 0) + (report?.b.received.packets ?? 0);
      if (packets !== entry.lastPackets) {
        entry.lastPackets = packets;
        entry.lastChangeAt = now;
      }
      const since = entry.startedAt ?? now;
      if (!entry.oneWaySent && oneWayAfterMs > 0 && now - since >= oneWayAfterMs && report !== undefined && !entry.held) {
        const a = report.a.received.packets;
        const b = report.b.received.packets;
        if ((a === 0) !== (b === 0)) {
          entry.oneWaySent = true;
          emit(entry, { type: "one-way-audio", silentLeg: a === 0 ? "a" : "b", afterMs: Math.round(now - since), stream: 0 });
        }
      }
    } else if (r.error.code === "NG_ERROR" && /unknown call/i.test(r.error.reason ?? "")) {
      // rtpengine dropped the call itself (its own --timeout): nothing flows any more.
      log?.warn({ callId }, "rtpengine no longer knows the call");
      if (!entry.timedOut && mediaTimeoutMs > 0) {
        entry.timedOut = true;
        emit(entry, { type: "media-timeout", idleMs: Math.round(now - entry.lastChangeAt) });
      }
      return;
    } else {
      log?.warn({ callId, code: r.error.code }, "rtpengine query failed");
      // Only silence counts: an error reply, a load limit or our own client closing (shutdown) is not rtpengine gone.
      const unanswered = r.error.code === "NG_TIMEOUT" || r.error.code === "NG_SEND_FAILED";
      if (!unanswered) entry.queryFailures = 0;
      else if (++entry.queryFailures >= QUERY_FAILURES_BEFORE_FAILED && !entry.failedSent) {
        entry.failedSent = true;
        emit(entry, { type: "media-failed", reason: `rtpengine did not answer ${entry.queryFailures} queries in a row (${r.error.code})` });
        return;
      }
    }
    if (!entry.timedOut && !entry.held && mediaTimeoutMs > 0 && now - entry.lastChangeAt >= mediaTimeoutMs) {
      entry.timedOut = true;
      emit(entry, { type: "media-timeout", idleMs: Math.round(now - entry.lastChangeAt) });
    }
    if (!entry.released) entry.poll = clock.schedule(statsIntervalMs, () => void poll(callId, entry));
  };

  const release = async (callId: string): Promise<undefined> => {
    const entry = calls.get(callId);
    calls.delete(callId);
    early.delete(callId);
    if (entry === undefined) return undefined;
    entry.released = true;
    entry.poll?.cancel();
    entry.listeners.clear();
    if (entry.direct || !entry.sent) return undefined;
    const r = await ng.delete({ "call-id": callId });
    // An unknown call is already gone (rtpengine's own timeout); anything else leaks its ports.
    if (!r.ok && !(r.error.code === "NG_ERROR" && /unknown call/i.test(r.error.reason ?? ""))) {
      log?.error({ callId, code: r.error.code, reason: r.error.reason }, "rtpengine delete failed");
    }
    return undefined;
  };

  return {
    async offer(callId, from, sdp, policy) {
      const entry = calls.get(callId) ?? create(callId, policy ?? {});
      if (entry.direct) return sdp;
      const streams = readBody(sdp);
      checkSrtp(entry.policy[from], streams);
      entry.held = streams.some((s) => s.onHold);
      return offerTo(callId, entry, from, sdp, streams);
    },
    async answer(callId, from, sdp) {
      const entry = calls.get(callId);
      if (entry === undefined || entry.direct) return sdp;
      const streams = readBody(sdp);
      entry.held = streams.some((s) => s.onHold);
      const offerer = other(from);
      const r = await ng.answer({
        "call-id": callId,
        "from-tag": entry.tags[offerer],
        "to-tag": entry.tags[from],
        sdp: sdp.toString("utf8"),
        ...base(entry),
      });
      if (!r.ok) throw toAnchorError(r.error);
      entry.known.add(from);
      return Buffer.from(r.value.sdp, "utf8");
    },
    async reoffer(callId, sdp, policy) {
      const entry = calls.get(callId);
      if (entry === undefined || entry.direct || policy.b?.directMedia === true || !entry.known.has("a")) {
        // Nothing anchored yet, or direct media before or after: start afresh with the new policy.
        const listeners = entry?.listeners;
        if (entry !== undefined) entry.listeners = new Set();
        await release(callId);
        if (listeners !== undefined) early.set(callId, listeners);
        return this.offer(callId, "a", sdp, policy);
      }
      // The caller's side keeps its rtpengine ports (it may have had early media from them). A B
      // leg that answered has a branch of its own: delete it so its ports are freed; an unanswered
      // one is simply offered again, with the new carrier's options, under a new tag.
      const streams = readBody(sdp);
      checkSrtp(policy.a, streams);
      const previous = { policy: entry.policy, tag: entry.tags.b };
      entry.policy = policy;
      entry.tags.b = `b${++entry.bAttempt}`;
      if (entry.known.has("b")) {
        const r = await ng.delete({ "call-id": callId, "from-tag": entry.tags.a, "to-tag": previous.tag });
        if (!r.ok) log?.warn({ callId, code: r.error.code }, "rtpengine branch delete failed");
        entry.known.delete("b");
      }
      try {
        return await offerTo(callId, entry, "a", sdp, streams);
      } catch (error) {
        entry.policy = previous.policy;
        throw error;
      }
    },
    started(callId) {
      const entry = calls.get(callId);
      if (entry === undefined || entry.direct || entry.startedAt !== undefined) return;
      entry.startedAt = clock.now();
      entry.lastChangeAt = entry.startedAt;
      entry.poll = clock.schedule(statsIntervalMs, () => void poll(callId, entry));
    },
    listen(callId, listener) {
      return addMediaListener(calls.get(callId)?.listeners, early, callId, listener);
    },
    async sendDtmf(callId, toLeg, digit, durationMs) {
      const entry = calls.get(callId);
      if (entry === undefined || entry.direct || entry.policy[toLeg]?.dtmf === "info") return false;
      // play DTMF injects into the media flowing from `from-tag`, i.e. towards the other leg.
      const r = await ng.request("play DTMF", { "call-id": callId, "from-tag": entry.tags[other(toLeg)], code: digit, duration: durationMs });
      if (!r.ok) log?.info({ callId, code: r.error.code, reason: r.error.reason }, "rtpengine did not inject the digit; the INFO passes");
      return r.ok;
    },
    report(callId) {
      return calls.get(callId)?.report;
    },
    dtmfLogged(event) {
      const entry = calls.get(event.callId);
      if (entry === undefined || entry.released || entry.direct) return;
      const fromLeg: CallLeg | undefined = event.sourceTag === entry.tags.a ? "a" : event.sourceTag === entry.tags.b ? "b" : undefined;
      // A tag of an earlier B-leg attempt (failover) or of another call is not this call's media.
      if (fromLeg === undefined) return;
      const toLeg = other(fromLeg);
      if (entry.policy[toLeg]?.dtmf !== "info") return;
      emit(entry, { type: "dtmf-info", toLeg, digit: event.digit, durationMs: event.durationMs });
    },
    release,
    reportsOnRelease: false,
  };
}
