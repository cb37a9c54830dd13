import { type Clock, randomToken, systemClock } from "../../lib/index.ts";
import { type SessionDescription, type StreamInfo, anchorMedia, isAuxiliaryCodec, readStreams } from "../../sdp/index.ts";
import { MediaRelayError } from "./errors.ts";
import { type PortAllocator, createPortAllocator } from "./port-allocator.ts";
import { type QualitySink, createQualitySink } from "./quality-sink.ts";
import {
  type LegName,
  type ReceiveStatsSink,
  type RelayEvent,
  type RelayLogger,
  type RemoteEndpoint,
  type StrictOption,
  RelaySession,
} from "./relay-session.ts";

/** How the relay binds and how its sessions behave unless a session says otherwise. */
export interface MediaRelayOptions {
  /** Local media address to bind (IPv4 or IPv6). */
  readonly address: string;
  /** The address written into SDP, when the bound one is not what endpoints reach (1:1 NAT). Default: address. */
  readonly advertiseAddress?: string;
  readonly portMin: number;
  readonly portMax: number;
  readonly clock?: Clock;
  readonly logger?: RelayLogger;
  readonly strict?: StrictOption;
  readonly latchWindowMs?: number;
  readonly mediaTimeoutMs?: number;
  readonly oneWayAfterMs?: number;
  readonly socketBufferBytes?: number;
  /** Keep RFC 3550 receive statistics (loss, jitter) per stream and leg with quality.ts. Default true. */
  readonly quality?: boolean;
  /** Supplies a receive-statistics sink per stream instead of the built-in quality one. */
  readonly statsSink?: (sessionId: string, streamIndex: number) => ReceiveStatsSink | undefined;
}

/** Per-session overrides. */
export interface MediaSessionOptions {
  /** Default: a random token. Must be unique among active sessions. */
  readonly id?: string;
  readonly strict?: StrictOption;
  readonly latchWindowMs?: number;
  readonly mediaTimeoutMs?: number;
  readonly oneWayAfterMs?: number;
}

/** A session event tagged with the m= line index it concerns. */
export type MediaSessionEvent = RelayEvent & { readonly stream: number };

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
 */
export interface MediaSession {
  readonly id: string;
  /**
   * Records the remotes of a body from leg `from` (allocating ports for new streams) and returns the
   * body to send to the other leg, pointing at that leg's relay ports.
   * Rejects with MEDIA_PORTS_EXHAUSTED (answer 503), MEDIA_BAD_SDP or MEDIA_CLOSED.
   */
  offer(from: LegName, sdp: SessionDescription): Promise<SessionDescription>;
  /** Like offer() for the answer; streams the answer rejects (port 0) are closed and their ports freed. */
  answer(from: LegName, sdp: SessionDescription): Promise<SessionDescription>;
  /** Adds a stream without SDP (tests, benchmarks, callers with their own SDP handling). */
  addStream(options?: { readonly rtcpMux?: boolean }): Promise<RelaySession>;
  /** The relay session of the i-th m= line, if it is anchored. */
  stream(index: number): RelaySession | undefined;
  streams(): readonly (RelaySession | undefined)[];
  /** Receive statistics of the i-th stream, when the relay keeps them (option quality). */
  quality(index: number): QualitySink | undefined;
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
export interface MediaRelay {
  readonly address: string;
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

/** Creates the media relay over a port range; throws MEDIA_BAD_OPTIONS for an unusable address or range. */
export function createMediaRelay(options: MediaRelayOptions): MediaRelay {
  const clock = options.clock ?? systemClock;
  const logger = options.logger;
  const allocator: PortAllocator = createPortAllocator({
    address: options.address,
    portMin: options.portMin,
    portMax: options.portMax,
    ...(options.socketBufferBytes === undefined ? {} : { socketBufferBytes: options.socketBufferBytes }),
  });
  const advertise = options.advertiseAddress ?? options.address;
  const sessions = new Map<string, MediaSession>();
  let closed = false;

  function createSession(sessionOptions: MediaSessionOptions = {}): MediaSession {
    if (closed) throw new MediaRelayError("MEDIA_CLOSED", "media relay closed");
    const id = sessionOptions.id ?? randomToken();
    if (sessions.has(id)) throw new MediaRelayError("MEDIA_BAD_OPTIONS", `media session ${id} already exists`);
    const streams: (RelaySession | undefined)[] = [];
    const qualities: (QualitySink | undefined)[] = [];
    const listeners = new Set<(event: MediaSessionEvent) => void>();
    let started = false;
    let closing: Promise<void> | undefined;
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
      const strict = pick(sessionOptions.strict, options.strict);
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
        qualities[index] = q;
        statsSink = q;
      }
      const session = new RelaySession({
        id: `${id}/${index}`,
        a,
        b,
        clock,
        ...(strict === undefined ? {} : { strict }),
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

    const apply = (from: LegName, sdp: SessionDescription, isAnswer: boolean): Promise<SessionDescription> => {
      const run = async (): Promise<SessionDescription> => {
        if (closing !== undefined) throw new MediaRelayError("MEDIA_CLOSED", `media session ${id} closed`);
        const infos = readStreams(sdp);
        if (isAnswer && infos.length < streams.length) {
          throw new MediaRelayError("MEDIA_BAD_SDP", `answer has ${infos.length} m= lines, offer had ${streams.length}`);
        }
        const added: RelaySession[] = [];
        try {
          for (const info of infos) {
            const existing = streams[info.index];
            if (info.rejected || !isRelayable(info)) {
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
            session.setRemote(from, remoteOf(info));
          }
        } catch (e) {
          // Release on every path: an offer that cannot be fully anchored leaves no ports behind.
          for (const s of added) {
            streams[streams.indexOf(s)] = undefined;
            await s.close();
          }
          throw e;
        }
        const to = other(from);
        return anchorMedia(sdp, {
          address: advertise,
          endpoint: (index) => {
            const s = streams[index];
            if (s === undefined) return undefined;
            const local = s.leg(to).local;
            return local.rtcpMux ? { port: local.rtpPort } : { port: local.rtpPort, rtcpPort: local.rtcpPort };
          },
        });
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
        t.dropped += dropped.stranger + dropped.malformed + dropped.held + dropped.noRoute + dropped.sendError;
      }
      return t;
    };

    const media: MediaSession = {
      id,
      offer: (from, sdp) => apply(from, sdp, false),
      answer: (from, sdp) => apply(from, sdp, true),
      addStream: async (streamOptions) => newStream(streams.length, streamOptions?.rtcpMux ?? false),
      stream: (index) => streams[index],
      quality: (index) => (streams[index] === undefined ? undefined : qualities[index]),
      streams: () => streams,
      start() {
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
    createSession,
    session: (id) => sessions.get(id),
    activeSessions: () => [...sessions.values()],
    portsInUse: () => allocator.inUse(),
    async close() {
      closed = true;
      await Promise.all([...sessions.values()].map((s) => s.close()));
      await allocator.close();
    },
  };
}
