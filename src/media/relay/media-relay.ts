import { type Clock, type Timer, randomToken, systemClock } from "../../lib/index.ts";
import {
  type CodecSpec,
  type MediaDescription,
  type SessionDescription,
  type StreamInfo,
  anchorMedia,
  isAuxiliaryCodec,
  readStreams,
} from "../../sdp/index.ts";
import { answerForOfferer, planCodecs, withTelephoneEvent, withoutTelephoneEvent } from "./codec-plan.ts";
import { MediaRelayError } from "./errors.ts";
import { type PortAllocator, createPortAllocator } from "./port-allocator.ts";
import { selectIo, setNativeRealtime, type MediaIoMode } from "./native-io.ts";
import { type QualitySink, createQualitySink, withNativeStats } from "./quality-sink.ts";
import { dgramIo } from "./udp-io.ts";
import type { MediaRelayControl, MediaSessionControl } from "./relay-control.ts";
import {
  type LegName,
  type ReceiveStatsSink,
  type RelayEvent,
  type RelayLogger,
  type RemoteEndpoint,
  type StrictOption,
  RelaySession,
} from "./relay-session.ts";
import { type DtmfDigitEvent, type LegMediaOptions, type LegQuality, DEFAULT_LEG_MEDIA, StreamMedia } from "./stream-media.ts";

/**
 * How a relay binds and how its sessions behave unless a session says otherwise: the settings
 * the in-thread relay, the worker relay and each worker's relay share.
 */
export interface RelaySettings {
  /** Local media address to bind (IPv4 or IPv6). */
  readonly address: string;
  /** The address written into SDP, when the bound one is not what endpoints reach (1:1 NAT). Default: address. */
  readonly advertiseAddress?: string;
  readonly portMin: number;
  readonly portMax: number;
  readonly strict?: StrictOption;
  readonly latchWindowMs?: number;
  readonly mediaTimeoutMs?: number;
  readonly oneWayAfterMs?: number;
  readonly socketBufferBytes?: number;
  /** Keep RFC 3550 receive statistics (loss, jitter) per stream and leg with quality.ts. Default true. */
  readonly quality?: boolean;
  /** Relay sockets: the native addon (plain RTP forwarded in C), node:dgram, or auto (native when it loads). Default auto. */
  readonly io?: MediaIoMode;
  /**
   * Real-time (SCHED_FIFO) priority, 1-99, of the native I/O thread that forwards plain RTP; unset:
   * the normal scheduler. Needs CAP_SYS_NICE or an RLIMIT_RTPRIO that allows it; refused, the relay
   * runs on and warns.
   */
  readonly realtimePriority?: number;
}

/** The optional settings `from` sets, with the unset ones left out rather than undefined (a worker gets them as its init). */
export function optionalRelaySettings(from: RelaySettings): Omit<RelaySettings, "address" | "portMin" | "portMax"> {
  return {
    ...(from.advertiseAddress === undefined ? {} : { advertiseAddress: from.advertiseAddress }),
    ...(from.strict === undefined ? {} : { strict: from.strict }),
    ...(from.latchWindowMs === undefined ? {} : { latchWindowMs: from.latchWindowMs }),
    ...(from.mediaTimeoutMs === undefined ? {} : { mediaTimeoutMs: from.mediaTimeoutMs }),
    ...(from.oneWayAfterMs === undefined ? {} : { oneWayAfterMs: from.oneWayAfterMs }),
    ...(from.socketBufferBytes === undefined ? {} : { socketBufferBytes: from.socketBufferBytes }),
    ...(from.quality === undefined ? {} : { quality: from.quality }),
    ...(from.io === undefined ? {} : { io: from.io }),
    ...(from.realtimePriority === undefined ? {} : { realtimePriority: from.realtimePriority }),
  };
}

/** Options of the in-thread relay: the shared settings plus its clock, logger and stats sink. */
export interface MediaRelayOptions extends RelaySettings {
  readonly clock?: Clock;
  readonly logger?: RelayLogger;
  /** Supplies a receive-statistics sink per stream instead of the built-in quality one. */
  readonly statsSink?: (sessionId: string, streamIndex: number) => ReceiveStatsSink | undefined;
  /** Log which I/O was chosen (default true); a relay worker leaves it to the main thread, which logs it once. */
  readonly announceIo?: boolean;
}

/** Per-session overrides. */
export interface MediaSessionOptions {
  /** Default: a random token. Must be unique among active sessions. */
  readonly id?: string;
  readonly strict?: StrictOption;
  readonly latchWindowMs?: number;
  readonly mediaTimeoutMs?: number;
  readonly oneWayAfterMs?: number;
  /** Per-leg SRTP, DTMF and latching behaviour from each leg's trunk; default DEFAULT_LEG_MEDIA. */
  readonly legs?: { readonly a?: LegMediaOptions; readonly b?: LegMediaOptions };
}

/** Options of one offer crossing the relay. */
export interface OfferOptions {
  /**
   * The receiving leg's codec allow-list, most preferred first. With it, the relay filters the
   * offer (pass-through), swaps PCMU/PCMA when only the other law is allowed (transcoding), or
   * fails with MEDIA_CODEC_MISMATCH (answer 488). Without it, codecs cross untouched.
   */
  readonly allow?: readonly CodecSpec[];
}

/** A session event tagged with the m= line index it concerns. */
export type MediaSessionEvent = (RelayEvent | DtmfDigitEvent) & { readonly stream: number };

/** Quality of one stream per leg and direction, for the CDR. */
export interface StreamQuality {
  readonly a: LegQuality;
  readonly b: LegQuality;
}

/** Totals of one leg over all streams, for the CDR. */
export interface LegTotals {
  packetsReceived: number;
  bytesReceived: number;
  packetsSent: number;
  bytesSent: number;
  dropped: number;
}

/**
 * The media anchor of one call: one relayed stream per m= line. The call layer feeds it each
 * SDP body as it crosses the B2BUA and sends on the body it returns, anchored on the relay.
 * Each leg's options (setLegOptions) decide what that leg gets: SDES-SRTP terminated per leg
 * with our own keys (RTP/SAVP) or plain RTP/AVP, telephone-event or not, and the codecs the
 * other leg's allow-list admits (PCMU<->PCMA transcoded when nothing else is common).
 * Negotiation failures reject with MEDIA_SRTP_REQUIRED, MEDIA_SRTP_UNSUPPORTED or
 * MEDIA_CODEC_MISMATCH (MEDIA_NOT_ACCEPTABLE: answer 488 with the error's warnCode and message).
 */
export interface MediaSession extends MediaSessionControl {
  readonly id: string;
  /**
   * Records the remotes of a body from leg `from` (allocating ports for new streams) and returns the
   * body to send to the other leg, pointing at that leg's relay ports.
   * Rejects with MEDIA_PORTS_EXHAUSTED (answer 503), MEDIA_BAD_SDP or MEDIA_CLOSED.
   */
  offer(from: LegName, sdp: SessionDescription, options?: OfferOptions): Promise<SessionDescription>;
  /** Like offer() for the answer; streams the answer rejects (port 0) are closed and their ports freed. */
  answer(from: LegName, sdp: SessionDescription): Promise<SessionDescription>;
  /** Adds a stream without SDP (tests, benchmarks, callers with their own SDP handling). */
  addStream(options?: { readonly rtcpMux?: boolean }): Promise<RelaySession>;
  /** The relay session of the i-th m= line, if it is anchored. */
  stream(index: number): RelaySession | undefined;
  streams(): readonly (RelaySession | undefined)[];
  /** Receive statistics of the i-th stream, when the relay keeps them (option quality). */
  quality(index: number): QualitySink | undefined;
  /**
   * Sets a leg's trunk behaviour. DTMF mode applies at once; SRTP mode from the next offer or
   * answer of that leg; strict latching at once for every stream.
   */
  setLegOptions(leg: LegName, options: LegMediaOptions): void;
  legOptions(leg: LegName): LegMediaOptions;
  /**
   * Sends one digit as RFC 4733 events to `toLeg` (e.g. for a SIP INFO received from the other
   * leg), one packet per 20 ms; resolves after the last. Rejects with MEDIA_BAD_OPTIONS when the
   * leg negotiated no telephone-event or the digit is not a DTMF character.
   */
  sendDtmf(toLeg: LegName, digit: string, durationMs: number, options?: { readonly stream?: number }): Promise<void>;
  /** Packets, loss, jitter, RTT and MOS per leg and direction of the i-th stream (default the first). */
  qualityReport(index?: number): StreamQuality | undefined;
  /** Call answered: learning windows reopen, timeout and one-way checks start. */
  start(): void;
  on(listener: (event: MediaSessionEvent) => void): () => void;
  /** Sums over streams per leg. */
  totals(): { readonly a: LegTotals; readonly b: LegTotals };
  readonly closed: boolean;
  /** Releases every port of the session; safe to call twice. */
  close(): Promise<void>;
}

/** The relay: a port range, its sessions and their lifetime. */
export interface MediaRelay extends MediaRelayControl {
  readonly address: string;
  /** Which socket implementation relays the media. */
  readonly io: "native" | "dgram";
  /** Creates an empty session; streams come with offer() or addStream(). */
  createSession(options?: MediaSessionOptions): MediaSession;
  session(id: string): MediaSession | undefined;
  activeSessions(): MediaSession[];
  /** Ports currently bound. */
  portsInUse(): number;
  /** Closes every session and frees every port. */
  close(): Promise<void>;
}

/** The remote a stream of a body names, or undefined when the stream carries no usable address. */
export function remoteOf(info: StreamInfo): RemoteEndpoint | undefined {
  if (info.rejected || info.address === undefined) return undefined;
  return {
    address: info.address,
    port: info.port,
    rtcpAddress: info.rtcpAddress ?? info.address,
    rtcpPort: info.rtcpPort,
    rtcpMux: info.rtcpMux,
    direction: info.direction,
  };
}

// The relay forwards RTP and RTCP datagrams; other transports (UDPTL for T.38, TCP/MSRP) are left direct.
function isRelayable(info: StreamInfo): boolean {
  return /(^|\/)RTP\//i.test(info.protocol) && (info.addrType === undefined || info.addrType === "IP4" || info.addrType === "IP6");
}

const other = (leg: LegName): LegName => (leg === "a" ? "b" : "a");
const DTMF_INTERVAL_MS = 20;
// RFC 3550 6.2: 5 s minimum report interval, randomized over 0.5-1.5 of it (6.3.1) so calls do not report in step.
const RTCP_INTERVAL_MS = 5000;

/** Throws MEDIA_BAD_OPTIONS unless priority is unset or a whole number from 1 to 99. */
export function checkRealtimePriority(priority: number | undefined): void {
  if (priority !== undefined && (!Number.isInteger(priority) || priority < 1 || priority > 99)) {
    throw new MediaRelayError("MEDIA_BAD_OPTIONS", `realtimePriority must be a whole number from 1 to 99, got ${priority}`);
  }
}

/**
 * Puts this thread's native I/O thread under the real-time scheduler when asked; a refusal is a
 * warning, not a failure. Returns whether it did, so close() can hand the thread back.
 */
function applyRealtime(priority: number | undefined, io: "native" | "dgram", logger: RelayLogger | undefined): boolean {
  if (priority === undefined) return false;
  if (io !== "native") {
    logger?.warn({ realtimePriority: priority, io }, "media realtimePriority ignored: only the native media I/O thread can run real-time");
    return false;
  }
  const refused = setNativeRealtime(priority);
  if (refused === undefined) {
    logger?.info({ realtimePriority: priority }, "media I/O thread runs real-time (SCHED_FIFO)");
    return true;
  }
  logger?.warn({ realtimePriority: priority, error: refused }, "media I/O thread stays on the normal scheduler: real-time priority refused (needs CAP_SYS_NICE or LimitRTPRIO)");
  return false;
}

/** Creates the media relay over a port range; throws MEDIA_BAD_OPTIONS for an unusable address or range. */
export function createMediaRelay(options: MediaRelayOptions): MediaRelay {
  const clock = options.clock ?? systemClock;
  const logger = options.logger;
  const selected = selectIo(options.io ?? "auto", dgramIo);
  if (options.announceIo !== false) logger?.info({ io: selected.io.kind, ...(selected.reason === undefined ? {} : { reason: selected.reason }) }, "media relay I/O");
  checkRealtimePriority(options.realtimePriority);
  const allocator: PortAllocator = createPortAllocator({
    io: selected.io,
    address: options.address,
    portMin: options.portMin,
    portMax: options.portMax,
    ...(options.socketBufferBytes === undefined ? {} : { socketBufferBytes: options.socketBufferBytes }),
  });
  // Last, once nothing else can refuse the options: a relay that was never created hands nothing back.
  const realtime = applyRealtime(options.realtimePriority, selected.io.kind, logger);
  const advertise = options.advertiseAddress ?? options.address;
  const sessions = new Map<string, MediaSession>();
  let closed = false;

  function createSession(sessionOptions: MediaSessionOptions = {}): MediaSession {
    if (closed) throw new MediaRelayError("MEDIA_CLOSED", "media relay closed");
    const id = sessionOptions.id ?? randomToken();
    if (sessions.has(id)) throw new MediaRelayError("MEDIA_BAD_OPTIONS", `media session ${id} already exists`);
    const streams: (RelaySession | undefined)[] = [];
    const qualities: (QualitySink | undefined)[] = [];
    const medias: (StreamMedia | undefined)[] = [];
    const legOptions: Record<LegName, LegMediaOptions> = {
      a: sessionOptions.legs?.a ?? DEFAULT_LEG_MEDIA,
      b: sessionOptions.legs?.b ?? DEFAULT_LEG_MEDIA,
    };
    const listeners = new Set<(event: MediaSessionEvent) => void>();
    let started = false;
    let closing: Promise<void> | undefined;
    let rtcpTimer: Timer | undefined;
    // Streams the relay rewrites (SRTP termination, transcoding) get the relay's own RTCP on both legs.
    const sendOwnRtcp = (): void => {
      rtcpTimer = undefined;
      if (closing !== undefined) return;
      for (const [i, s] of streams.entries()) {
        const m = medias[i];
        if (s === undefined || m === undefined || !m.rewriting()) continue;
        for (const leg of ["a", "b"] as const) {
          const packet = m.ownRtcp(leg, qualities[i]?.stats(leg), clock.now(), clock.wallNow());
          if (packet !== undefined) s.inject(leg, "rtcp", packet);
        }
      }
      rtcpTimer = clock.schedule(RTCP_INTERVAL_MS * (0.5 + Math.random()), sendOwnRtcp);
    };
    // Serializes offer/answer so a re-INVITE racing an allocation cannot interleave.
    let queue: Promise<unknown> = Promise.resolve();

    const newStream = async (index: number, rtcpMux: boolean, info?: StreamInfo): Promise<RelaySession> => {
      if (closing !== undefined) throw new MediaRelayError("MEDIA_CLOSED", `media session ${id} closed`);
      const a = await allocator.allocate({ rtcpMux });
      let b;
      try {
        b = await allocator.allocate({ rtcpMux });
      } catch (e) {
        await a.release();
        throw e;
      }
      if (closing !== undefined) {
        await Promise.all([a.release(), b.release()]);
        throw new MediaRelayError("MEDIA_CLOSED", `media session ${id} closed`);
      }
      const pick = <T>(own: T | undefined, shared: T | undefined): T | undefined => own ?? shared;
      const shared = pick(sessionOptions.strict, options.strict);
      const sharedOf = (leg: LegName): boolean | undefined => (typeof shared === "object" ? shared[leg] : shared);
      const strict: StrictOption = {
        a: legOptions.a.strictLatching ?? sharedOf("a") ?? false,
        b: legOptions.b.strictLatching ?? sharedOf("b") ?? false,
      };
      const latchWindowMs = pick(sessionOptions.latchWindowMs, options.latchWindowMs);
      const mediaTimeoutMs = pick(sessionOptions.mediaTimeoutMs, options.mediaTimeoutMs);
      const oneWayAfterMs = pick(sessionOptions.oneWayAfterMs, options.oneWayAfterMs);
      let statsSink: ReceiveStatsSink | undefined;
      if (options.statsSink !== undefined) statsSink = options.statsSink(id, index);
      else if (options.quality ?? true) {
        const codecs = info?.codecs ?? [];
        const main = codecs.find((c) => !isAuxiliaryCodec(c));
        const q = createQualitySink({
          clockRate: main?.clockRate ?? 8000,
          ignorePayloadTypes: codecs.filter((c) => isAuxiliaryCodec(c)).map((c) => c.payloadType),
        });
        qualities[index] = withNativeStats(q, (leg) => streams[index]?.nativeReceiveStats(leg));
        statsSink = { ...q, nativeStatsRead: true };
      }
      const media = new StreamMedia(legOptions, clock, (event) => {
        for (const l of listeners) l({ ...event, stream: index });
      });
      medias[index] = media;
      const session = new RelaySession({
        id: `${id}/${index}`,
        processor: media,
        a,
        b,
        clock,
        strict,
        ...(latchWindowMs === undefined ? {} : { latchWindowMs }),
        ...(mediaTimeoutMs === undefined ? {} : { mediaTimeoutMs }),
        ...(oneWayAfterMs === undefined ? {} : { oneWayAfterMs }),
        ...(statsSink === undefined ? {} : { statsSink }),
        ...(logger === undefined ? {} : { logger }),
      });
      session.on((event) => {
        for (const l of listeners) l({ ...event, stream: index });
      });
      streams[index] = session;
      if (started) session.start();
      return session;
    };

    const apply = (from: LegName, sdp: SessionDescription, isAnswer: boolean, offerOptions?: OfferOptions): Promise<SessionDescription> => {
      const run = async (): Promise<SessionDescription> => {
        if (closing !== undefined) throw new MediaRelayError("MEDIA_CLOSED", `media session ${id} closed`);
        let body = sdp;
        if (!isAnswer && offerOptions?.allow !== undefined) {
          const plan = planCodecs(sdp, offerOptions.allow);
          if (!plan.ok) throw new MediaRelayError("MEDIA_CODEC_MISMATCH", plan.error.message, { warnCode: 305 });
          body = plan.value.offer;
        }
        // Codecs and crypto are read from what the leg itself sent; the plan only shapes what the other leg gets.
        const infos = readStreams(sdp);
        if (isAnswer && infos.length < streams.length) {
          throw new MediaRelayError("MEDIA_BAD_SDP", `answer has ${infos.length} m= lines, offer had ${streams.length}`);
        }
        const added: RelaySession[] = [];
        try {
          for (const info of infos) {
            const existing = streams[info.index];
            const planRejected = body.media[info.index]?.port === 0;
            if (info.rejected || planRejected || !isRelayable(info)) {
              // RFC 3264 6: port 0 rejects (or removes) the stream; its ports go back to the range.
              if (existing !== undefined) {
                streams[info.index] = undefined;
                await existing.close();
              }
              continue;
            }
            // Always a pair, even for rtcp-mux: the other side may answer without mux.
            const session = existing ?? (await newStream(info.index, false, info));
            if (existing === undefined) added.push(session);
            const media = medias[info.index]!;
            const m = sdp.media[info.index]!;
            if (isAnswer) media.readAnswer(from, info, m);
            else media.readOffer(from, info, m);
            session.setRemote(from, remoteOf(info));
          }
          // Codecs, SRTP or answered payload types may have changed what the native path can forward.
          for (const s of streams) s?.refreshFastPath();
        } catch (e) {
          // Release on every path: an offer that cannot be fully anchored leaves no ports behind.
          for (const s of added) {
            streams[streams.indexOf(s)] = undefined;
            await s.close();
          }
          throw e;
        }
        const to = other(from);
        const anchored = anchorMedia(body, {
          address: advertise,
          endpoint: (index) => {
            const s = streams[index];
            if (s === undefined) return undefined;
            const local = s.leg(to).local;
            return local.rtcpMux ? { port: local.rtpPort } : { port: local.rtpPort, rtcpPort: local.rtcpPort };
          },
        });
        const rewritten = anchored.media.map((m, index): MediaDescription => {
          const media = medias[index];
          if (streams[index] === undefined || media === undefined || m.port === 0) return m;
          // answeredOfferer below changes the payload types; refreshed after the map.
          const events = legOptions[to].dtmf === "rfc4733";
          if (!isAnswer) {
            const out = media.offerFor(to, m);
            if (out.type.toLowerCase() !== "audio") return out;
            return events ? withTelephoneEvent(out) : withoutTelephoneEvent(out);
          }
          const codecs = answerForOfferer(m, media.legs[to].codecs, events);
          if (codecs === undefined) {
            throw new MediaRelayError("MEDIA_CODEC_MISMATCH", `m-line ${index}: answer chose a codec the offerer did not offer and that cannot be transcoded`, { warnCode: 305 });
          }
          const out = media.answerFor(to, codecs);
          media.answeredOfferer(to, out);
          return out;
        });
        for (const s of streams) s?.refreshFastPath();
        return { ...anchored, media: rewritten };
      };
      const next = queue.then(run, run);
      queue = next.catch(() => undefined);
      return next;
    };

    const sumLeg = (leg: LegName): LegTotals => {
      const t: LegTotals = { packetsReceived: 0, bytesReceived: 0, packetsSent: 0, bytesSent: 0, dropped: 0 };
      for (const s of streams) {
        if (s === undefined) continue;
        const { received, sent, dropped } = s.leg(leg).stats;
        t.packetsReceived += received.rtp.packets + received.rtcp.packets;
        t.bytesReceived += received.rtp.bytes + received.rtcp.bytes;
        t.packetsSent += sent.rtp.packets + sent.rtcp.packets;
        t.bytesSent += sent.rtp.bytes + sent.rtcp.bytes;
        t.dropped += dropped.stranger + dropped.malformed + dropped.held + dropped.noRoute + dropped.sendError + dropped.srtp + dropped.filtered;
      }
      return t;
    };

    const media: MediaSession = {
      id,
      offer: (from, sdp, offerOptions) => apply(from, sdp, false, offerOptions),
      answer: (from, sdp) => apply(from, sdp, true),
      addStream: async (streamOptions) => newStream(streams.length, streamOptions?.rtcpMux ?? false),
      stream: (index) => streams[index],
      quality: (index) => (streams[index] === undefined ? undefined : qualities[index]),
      streams: () => streams,
      setLegOptions(leg, legMedia) {
        legOptions[leg] = legMedia;
        for (const [i, s] of streams.entries()) {
          if (s === undefined) continue;
          medias[i]?.setOptions(leg, legMedia);
          if (legMedia.strictLatching !== undefined) s.setStrict(leg, legMedia.strictLatching);
          s.refreshFastPath();
        }
      },
      legOptions: (leg) => legOptions[leg],
      onHold: () =>
        streams.some((s) => {
          if (s === undefined) return false;
          const a = s.leg("a").remote?.direction ?? "sendrecv";
          const b = s.leg("b").remote?.direction ?? "sendrecv";
          return a !== "sendrecv" || b !== "sendrecv";
        }),
      localPort: (leg, index = 0) => streams[index]?.leg(leg).local.rtpPort,
      sendDtmf(toLeg, digit, durationMs, dtmfOptions) {
        const index = dtmfOptions?.stream ?? streams.findIndex((s) => s !== undefined);
        const s = streams[index];
        // Injected events continue the forwarded sequence numbers, which JavaScript must then own.
        s?.pinToJs();
        const sender = s === undefined ? undefined : medias[index]?.dtmfSender(toLeg, digit, durationMs);
        if (s === undefined || sender === undefined) {
          return Promise.reject(new MediaRelayError("MEDIA_BAD_OPTIONS", `cannot send DTMF to leg ${toLeg}: no telephone-event negotiated or not a DTMF digit`));
        }
        // RFC 4733 2.5.1.2: updates at the audio packet rate (20 ms) while the tone lasts.
        return new Promise<void>((resolve) => {
          let sent = 0;
          const tick = (): void => {
            if (s.closed) return resolve();
            s.inject(toLeg, "rtp", sender.next());
            if (++sent >= sender.count) return resolve();
            clock.schedule(DTMF_INTERVAL_MS, tick);
          };
          tick();
        });
      },
      queueDtmf(toLeg, digit, durationMs) {
        // A refusal rejects at once; otherwise the digit plays out in the background.
        let refused = false;
        media.sendDtmf(toLeg, digit, durationMs).catch(() => {
          refused = true;
        });
        return new Promise<boolean>((resolve) => setImmediate(() => resolve(!refused)));
      },
      qualityReport(index = 0) {
        const s = streams[index];
        const media = medias[index];
        if (s === undefined || media === undefined) return undefined;
        const legQuality = (leg: LegName): LegQuality => {
          const sent = s.leg(leg).stats.sent.rtp;
          return media.quality(leg, qualities[index]?.snapshot(leg), { packets: sent.packets, bytes: sent.bytes });
        };
        return { a: legQuality("a"), b: legQuality("b") };
      },
      start() {
        if (!started) rtcpTimer = clock.schedule(RTCP_INTERVAL_MS * (0.5 + Math.random()), sendOwnRtcp);
        started = true;
        for (const s of streams) s?.start();
      },
      on(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      totals: () => ({ a: sumLeg("a"), b: sumLeg("b") }),
      get closed() {
        return closing !== undefined;
      },
      close() {
        closing ??= (async () => {
          rtcpTimer?.cancel();
          // Wait for an allocation in flight, so its ports are released too.
          await queue;
          await Promise.all(streams.map((s) => s?.close()));
          sessions.delete(id);
          listeners.clear();
        })();
        return closing;
      },
    };
    sessions.set(id, media);
    return media;
  }

  return {
    address: advertise,
    io: selected.io.kind,
    createSession,
    session: (id) => sessions.get(id),
    activeSessions: () => [...sessions.values()],
    portsInUse: () => allocator.inUse(),
    async close() {
      closed = true;
      await Promise.all([...sessions.values()].map((s) => s.close()));
      await allocator.close();
      // The I/O thread outlives the relay (one per JavaScript thread): a later relay starts from normal scheduling.
      const refused = realtime ? setNativeRealtime(0) : undefined;
      if (refused !== undefined) logger?.warn({ error: refused }, "media I/O thread could not go back to the normal scheduler");
    },
  };
}
