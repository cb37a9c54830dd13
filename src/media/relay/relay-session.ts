import type { Clock, Timer } from "../../lib/index.ts";
import type { Direction } from "../../sdp/index.ts";
import { classifyPacket } from "../demux.ts";
import type { PortPair } from "./port-allocator.ts";
import { type FastCounters, type RelaySocket, type SocketAddress, PT_FAST, PT_STATS } from "./udp-io.ts";

/** The two sides of a relayed stream; the call layer decides which is the caller. */
export type LegName = "a" | "b";
/** RTP or its control protocol, carried on separate ports or muxed on one (RFC 5761). */
export type Channel = "rtp" | "rtcp";

/** A transport address. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** Where a leg's endpoint says, in its SDP, it receives media. */
export interface RemoteEndpoint {
  readonly address: string;
  readonly port: number;
  /** Defaults to address. */
  readonly rtcpAddress?: string;
  /** Defaults to port when rtcpMux, else port + 1 (RFC 3550 11). */
  readonly rtcpPort?: number;
  readonly rtcpMux?: boolean;
  /** The endpoint's direction as it states it; sendonly or inactive means it receives nothing. Default sendrecv. */
  readonly direction?: Direction;
}

/** Where received packets can be fed for receive statistics (jitter, loss) without the relay knowing how. */
export interface ReceiveStatsSink {
  /** Called for every accepted packet, before forwarding; must not throw and must not keep the buffer. */
  onPacket(leg: LegName, channel: Channel, packet: Buffer, arrivalMs: number): void;
  /** RTP clock rate of the stream (native receive statistics count jitter in it). */
  readonly clockRate?: number;
  /** Payload types left out of the statistics (events, comfort noise). */
  readonly ignorePayloadTypes?: readonly number[];
  /**
   * True when whoever reads this sink reads the native receive statistics too (withNativeStats),
   * so RTP forwarded in C need not reach it. Without it, native I/O sends every packet through JavaScript.
   */
  readonly nativeStatsRead?: boolean;
}

/** Packets and octets. */
export interface TrafficCounter {
  packets: number;
  bytes: number;
}

/** Why a packet was not forwarded. */
export interface DropCounters {
  /** From a source that is neither signaled nor latched (possible RTP injection). */
  stranger: number;
  /** Not RTP/RTCP by its first octets, or arrived before the leg had a remote. */
  malformed: number;
  /** RTP towards a leg on hold (sendonly/inactive). */
  held: number;
  /** The other leg has no remote address yet. */
  noRoute: number;
  /** The kernel refused to send. */
  sendError: number;
  /** SRTP/SRTCP that failed authentication or replay checks (RFC 3711 3.3): never forwarded. */
  srtp: number;
  /** Not forwarded by the stream's media policy (events turned into SIP INFO, payload types the other leg lacks). */
  filtered: number;
}

/** Why a packet processor kept a packet from the other leg. */
export type ProcessorDrop = "srtp" | "filtered";

/**
 * Per-stream packet work between two legs (SRTP, transcoding, payload type mapping, DTMF).
 * Both calls may rewrite the packet in place; neither may keep the buffer.
 */
export interface PacketProcessor {
  /** A packet accepted from `leg`'s endpoint: returns it in the clear (SRTP removed), or why it is dropped. */
  inbound(leg: LegName, channel: Channel, packet: Buffer, arrivalMs: number): Buffer | ProcessorDrop;
  /** A clear packet about to leave towards `to`: returns what goes on the wire, or why it is dropped. */
  outbound(to: LegName, channel: Channel, packet: Buffer): Buffer | ProcessorDrop;
  /**
   * Per RTP payload type, 1 where inbound from `from` and outbound to the other leg would leave the
   * packet untouched (no SRTP, transcoding, event policy): those may be forwarded natively. Undefined: none.
   */
  passThrough?(from: LegName): Uint8Array | undefined;
  /** Packets towards `to` were forwarded natively; the last had this header (to continue its sequence). */
  forwardedNatively?(to: LegName, last: { readonly ssrc: number; readonly seq: number; readonly timestamp: number; readonly atMs: number }): void;
}

/** Counters of one leg: `received` is from its endpoint into the relay, `sent` is from the relay to it. */
export interface LegStats {
  readonly received: { readonly rtp: TrafficCounter; readonly rtcp: TrafficCounter };
  readonly sent: { readonly rtp: TrafficCounter; readonly rtcp: TrafficCounter };
  readonly dropped: DropCounters;
  /** Clock time of the last accepted packet from this leg's endpoint. */
  lastPacketAt: number | undefined;
}

/** What a session reports to its owner. */
export type RelayEvent =
  | { readonly type: "latched"; readonly leg: LegName; readonly channel: Channel; readonly source: Endpoint }
  /** No packet accepted from either leg for idleMs. */
  | { readonly type: "media-timeout"; readonly idleMs: number }
  /** oneWayAfterMs (afterMs) after start, one leg has sent RTP and the other none. */
  | { readonly type: "one-way"; readonly silentLeg: LegName; readonly afterMs: number }
  /** The relay can no longer carry this session's media (its worker thread died); the session is gone. */
  | { readonly type: "failed"; readonly reason: string }
  | { readonly type: "closed" };

/** Which legs accept only their signaled address. */
export type StrictOption = boolean | { readonly a?: boolean; readonly b?: boolean };

/** Minimal structured logger; a pino logger fits. */
export interface RelayLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** The pieces of one relayed stream. */
export interface RelaySessionOptions {
  readonly id: string;
  readonly a: PortPair;
  readonly b: PortPair;
  readonly clock: Clock;
  /** Accept only the signaled address (no latching). Default false. */
  readonly strict?: StrictOption;
  /** How long after start() or a remote update a new source may be latched. Default 3000 ms. */
  readonly latchWindowMs?: number;
  /** No packet from either side for this long raises media-timeout; 0 disables. Default 60000 ms. */
  readonly mediaTimeoutMs?: number;
  /** After this long from start(), a leg that sent no RTP while the other did raises one-way; 0 disables. Default 10000 ms. */
  readonly oneWayAfterMs?: number;
  readonly statsSink?: ReceiveStatsSink;
  /** SRTP, transcoding and DTMF work; without one, packets are forwarded untouched. */
  readonly processor?: PacketProcessor;
  readonly logger?: RelayLogger;
  /** Called once the ports are released, so an owner can forget the session. */
  readonly onClosed?: (session: RelaySession) => void;
}

/** A snapshot of one leg for the call layer and the CDR. */
export interface LegView {
  readonly local: { readonly address: string; readonly rtpPort: number; readonly rtcpPort: number; readonly rtcpMux: boolean };
  readonly remote: RemoteEndpoint | undefined;
  readonly latched: { readonly rtp: Endpoint | undefined; readonly rtcp: Endpoint | undefined };
  readonly strict: boolean;
  readonly stats: LegStats;
}

// Without a processor every payload type crosses untouched.
const ALL_PASS = new Uint8Array(128).fill(1);
const DEFAULT_LATCH_WINDOW_MS = 3000;
const DEFAULT_MEDIA_TIMEOUT_MS = 60_000;
const DEFAULT_ONE_WAY_MS = 10_000;

function newCounter(): TrafficCounter {
  return { packets: 0, bytes: 0 };
}

function newStats(): LegStats {
  return {
    received: { rtp: newCounter(), rtcp: newCounter() },
    sent: { rtp: newCounter(), rtcp: newCounter() },
    dropped: { stranger: 0, malformed: 0, held: 0, noRoute: 0, sendError: 0, srtp: 0, filtered: 0 },
    lastPacketAt: undefined,
  };
}

/** Canonical text of an IP address so that "::1" and "0:0::1" compare equal; other text is kept. */
export function canonicalAddress(address: string): string {
  if (!address.includes(":")) return address;
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address;
  }
}

function sameEndpoint(x: Endpoint, y: Endpoint | undefined): boolean {
  return y !== undefined && x.address === y.address && x.port === y.port;
}

// Addresses that mean "do not send here": RFC 3264 8.4 hold and unspecified addresses.
function isUnspecified(address: string): boolean {
  return address === "0.0.0.0" || address === "::";
}

class Leg {
  remote: RemoteEndpoint | undefined;
  signaledRtp: Endpoint | undefined;
  signaledRtcp: Endpoint | undefined;
  latchedRtp: Endpoint | undefined;
  latchedRtcp: Endpoint | undefined;
  /** RTCP may arrive on the RTP port: we allocated one port, or the remote asked for mux. */
  demux: boolean;
  receives = true;
  learnUntil = Number.NEGATIVE_INFINITY;
  readonly stats = newStats();
  /** Packets C accepted from this leg as last read, and our clock time of the newest. */
  readonly nativeSeen: { packets: number; at: number | undefined } = { packets: 0, at: undefined };
  other!: Leg;
  /** Send callback for packets leaving towards this leg; a failure counts against the sender. */
  readonly onSent: (error: Error | null) => void;

  constructor(
    readonly name: LegName,
    readonly pair: PortPair,
    public strict: boolean,
  ) {
    this.demux = pair.rtcpMux;
    this.onSent = (error) => {
      if (error !== null) this.other.stats.dropped.sendError++;
    };
  }

  setRemote(remote: RemoteEndpoint | undefined): void {
    this.remote = remote;
    if (remote === undefined) {
      this.signaledRtp = this.signaledRtcp = this.latchedRtp = this.latchedRtcp = undefined;
      this.receives = false;
      this.demux = this.pair.rtcpMux;
      return;
    }
    const mux = remote.rtcpMux ?? false;
    const address = canonicalAddress(remote.address);
    const direction = remote.direction ?? "sendrecv";
    const usable = !isUnspecified(address) && remote.port > 0;
    this.receives = usable && (direction === "sendrecv" || direction === "recvonly");
    this.demux = this.pair.rtcpMux || mux;
    // RFC 3264 8.4 old-style hold (c=0.0.0.0) says "send nothing here", not "I moved": the held
    // endpoint may still send music on hold from where it was, so keep accepting that.
    if (!usable) return;
    const rtp: Endpoint = { address, port: remote.port };
    const rtcp: Endpoint = {
      address: canonicalAddress(remote.rtcpAddress ?? remote.address),
      port: remote.rtcpPort ?? (mux ? remote.port : remote.port + 1),
    };
    // A re-INVITE that moves the endpoint makes what was learned stale; one that only changes
    // direction keeps it, so a NATed endpoint coming off hold is heard at once.
    if (!sameEndpoint(rtp, this.signaledRtp)) this.latchedRtp = undefined;
    if (!sameEndpoint(rtcp, this.signaledRtcp)) this.latchedRtcp = undefined;
    this.signaledRtp = rtp;
    this.signaledRtcp = rtcp;
  }

  target(channel: Channel): Endpoint | undefined {
    return channel === "rtp" ? (this.latchedRtp ?? this.signaledRtp) : (this.latchedRtcp ?? this.signaledRtcp);
  }

  /** The socket RTCP leaves from: the RTCP port unless this leg muxes. */
  socketFor(channel: Channel): RelaySocket {
    if (channel === "rtcp" && this.pair.rtcp !== undefined && this.remote?.rtcpMux !== true) return this.pair.rtcp;
    return this.pair.rtp;
  }
}

/** One relayed stream between two legs, each with its own ports, remote and latching state. */
export class RelaySession {
  readonly id: string;
  private readonly legs: { readonly a: Leg; readonly b: Leg };
  private readonly clock: Clock;
  private readonly latchWindowMs: number;
  private readonly mediaTimeoutMs: number;
  private readonly oneWayAfterMs: number;
  private readonly sink: ReceiveStatsSink | undefined;
  private readonly processor: PacketProcessor | undefined;
  private readonly logger: RelayLogger | undefined;
  private readonly onClosed: ((session: RelaySession) => void) | undefined;
  private readonly listeners = new Set<(event: RelayEvent) => void>();
  private lastActivityAt: number | undefined;
  private startedAt: number | undefined;
  private timeoutTimer: Timer | undefined;
  private oneWayTimer: Timer | undefined;
  private timedOut = false;
  private warnedRelayError = false;
  private closing: Promise<void> | undefined;
  /** Native sockets only: false once something needs every packet in JavaScript (pinToJs). */
  private fastAllowed = true;

  constructor(options: RelaySessionOptions) {
    this.id = options.id;
    this.clock = options.clock;
    this.latchWindowMs = options.latchWindowMs ?? DEFAULT_LATCH_WINDOW_MS;
    this.mediaTimeoutMs = options.mediaTimeoutMs ?? DEFAULT_MEDIA_TIMEOUT_MS;
    this.oneWayAfterMs = options.oneWayAfterMs ?? DEFAULT_ONE_WAY_MS;
    this.sink = options.statsSink;
    this.processor = options.processor;
    this.logger = options.logger;
    this.onClosed = options.onClosed;
    const strict = options.strict ?? false;
    const strictOf = (leg: LegName): boolean => (typeof strict === "boolean" ? strict : (strict[leg] ?? false));
    const a = new Leg("a", options.a, strictOf("a"));
    const b = new Leg("b", options.b, strictOf("b"));
    a.other = b;
    b.other = a;
    this.legs = { a, b };
    for (const leg of [a, b]) {
      const { rtp, rtcp } = leg.pair;
      const onError = (e: Error): void => this.socketError(leg, e);
      rtp.setHandler((msg, rinfo) => this.receive(leg, leg.demux ? undefined : "rtp", msg, rinfo), onError);
      rtcp?.setHandler((msg, rinfo) => this.receive(leg, "rtcp", msg, rinfo), onError);
      if (this.sink?.clockRate !== undefined) rtp.fast?.setClockRate(this.sink.clockRate);
    }
    this.syncFast();
  }

  /** True when the sockets are native, so plain RTP can be forwarded without JavaScript. */
  get native(): boolean {
    return this.legs.a.pair.rtp.fast !== undefined;
  }

  /**
   * Recomputes what the native fast path may do (after the processor's codecs, SRTP or DTMF
   * modes changed); the latching state it uses is pushed here on every change already.
   */
  refreshFastPath(): void {
    this.syncFast();
  }

  /**
   * Sends every later packet through JavaScript (e.g. before injecting DTMF, whose sequence
   * numbers continue the forwarded ones) and tells the processor where the native path left off.
   */
  pinToJs(): void {
    if (!this.fastAllowed) return;
    this.fastAllowed = false;
    this.syncFast();
    const now = this.clock.now();
    for (const from of [this.legs.a, this.legs.b]) {
      const last = from.pair.rtp.fast?.counters()?.lastForwarded;
      if (last !== undefined) {
        this.processor?.forwardedNatively?.(from.other.name, { ssrc: last.ssrc, seq: last.seq, timestamp: last.timestamp, atMs: now - last.ageMs });
      }
    }
  }

  /** RFC 3550 receive statistics the native path kept for RTP from `leg`'s endpoint (every accepted packet, both paths). */
  nativeReceiveStats(leg: LegName): FastCounters["rtp"] | undefined {
    return this.legs[leg].pair.rtp.fast?.counters()?.rtp;
  }

  // Pushes each leg's accept rules, route and pass-through payload types to its native RTP socket.
  private syncFast(): void {
    for (const leg of [this.legs.a, this.legs.b]) {
      const fast = leg.pair.rtp.fast;
      if (fast === undefined) return;
      if (this.closing !== undefined) {
        fast.configure(undefined);
        continue;
      }
      const out = leg.other;
      const flags = new Uint8Array(128);
      const allowed = this.fastAllowed && (this.sink === undefined || this.sink.nativeStatsRead === true);
      const pass = !allowed ? undefined : this.processor === undefined ? ALL_PASS : this.processor.passThrough?.(leg.name);
      const ignored = this.sink?.ignorePayloadTypes ?? [];
      for (let pt = 0; pt < 128; pt++) {
        flags[pt] = (pass !== undefined && pass[pt] === 1 ? PT_FAST : 0) | (ignored.includes(pt) ? 0 : PT_STATS);
      }
      fast.configure({
        out: out.socketFor("rtp"),
        target: out.target("rtp"),
        held: !out.receives,
        latched: leg.latchedRtp,
        signaled: leg.signaledRtp,
        ptFlags: flags,
        demux: leg.demux,
      });
    }
  }

  /** A leg's counters with what the native path handled added in. */
  private statsOf(l: Leg): LegStats {
    const own = l.pair.rtp.fast?.counters();
    const other = l.other.pair.rtp.fast?.counters();
    if (own === undefined && other === undefined) return l.stats;
    const s = l.stats;
    // C stamps packets with its own monotonic clock, not ours (which tests replace): its idle time
    // is taken back from our now when new packets are first seen here, and kept until more come.
    if (own !== undefined && own.idleMs !== undefined && own.receivedPackets !== l.nativeSeen.packets) {
      l.nativeSeen.packets = own.receivedPackets;
      l.nativeSeen.at = this.clock.now() - Math.floor(own.idleMs);
    }
    const nativeLast = l.nativeSeen.at;
    return {
      received: {
        rtp: { packets: s.received.rtp.packets + (own?.receivedPackets ?? 0), bytes: s.received.rtp.bytes + (own?.receivedBytes ?? 0) },
        rtcp: { ...s.received.rtcp },
      },
      sent: {
        rtp: { packets: s.sent.rtp.packets + (other?.forwardedPackets ?? 0), bytes: s.sent.rtp.bytes + (other?.forwardedBytes ?? 0) },
        rtcp: { ...s.sent.rtcp },
      },
      dropped: {
        ...s.dropped,
        held: s.dropped.held + (own?.droppedHeld ?? 0),
        noRoute: s.dropped.noRoute + (own?.droppedNoRoute ?? 0),
        sendError: s.dropped.sendError + (own?.droppedSendError ?? 0),
      },
      lastPacketAt: nativeLast === undefined ? s.lastPacketAt : Math.max(nativeLast, s.lastPacketAt ?? Number.NEGATIVE_INFINITY),
    };
  }

  /** Subscribes to session events; returns the unsubscribe function. */
  on(listener: (event: RelayEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Sets a leg's signaled remote (from offer or answer) and opens its learning window. */
  setRemote(leg: LegName, remote: RemoteEndpoint | undefined): void {
    const l = this.legs[leg];
    l.setRemote(remote);
    l.learnUntil = this.clock.now() + this.latchWindowMs;
    this.syncFast();
    this.logger?.debug({ session: this.id, leg, remote }, "media remote set");
  }

  /** Switches a leg between strict (signaled address only) and latching. */
  setStrict(leg: LegName, strict: boolean): void {
    this.legs[leg].strict = strict;
  }

  /** A re-INVITE changed a leg's remote (address, port or hold direction); same rules as setRemote. */
  updateRemote(leg: LegName, remote: RemoteEndpoint | undefined): void {
    this.setRemote(leg, remote);
  }

  /**
   * Marks the call as answered: reopens both learning windows (an endpoint may first send long
   * after its SDP, once the call is answered) and starts media-timeout and one-way checks.
   */
  start(): void {
    if (this.closing !== undefined || this.startedAt !== undefined) return;
    const now = this.clock.now();
    this.startedAt = now;
    for (const l of [this.legs.a, this.legs.b]) if (l.remote !== undefined) l.learnUntil = now + this.latchWindowMs;
    if (this.mediaTimeoutMs > 0) this.timeoutTimer = this.clock.schedule(this.mediaTimeoutMs, () => this.checkTimeout());
    if (this.oneWayAfterMs > 0) this.oneWayTimer = this.clock.schedule(this.oneWayAfterMs, () => this.checkOneWay());
  }

  /** A snapshot of a leg: local ports, remote, latched sources and counters (live objects with dgram I/O, copies with native). */
  leg(leg: LegName): LegView {
    const l = this.legs[leg];
    return {
      local: { address: l.pair.address, rtpPort: l.pair.rtpPort, rtcpPort: l.pair.rtcpPort, rtcpMux: l.pair.rtcpMux },
      remote: l.remote,
      latched: { rtp: l.latchedRtp, rtcp: l.latchedRtcp },
      strict: l.strict,
      stats: this.statsOf(l),
    };
  }

  /**
   * Sends a packet the relay made (e.g. RFC 4733 events for a SIP INFO) to `leg`'s endpoint as is;
   * false when the leg has no address yet or does not receive (hold).
   */
  inject(leg: LegName, channel: Channel, packet: Buffer): boolean {
    const l = this.legs[leg];
    if (this.closing !== undefined || (channel === "rtp" && !l.receives)) return false;
    const target = l.target(channel);
    if (target === undefined) return false;
    l.socketFor(channel).send(packet, target.port, target.address, l.onSent);
    const counter = l.stats.sent[channel];
    counter.packets++;
    counter.bytes += packet.length;
    return true;
  }

  /** Clock time of the last accepted packet from either leg, if any. */
  lastPacketAt(): number | undefined {
    if (!this.native) return this.lastActivityAt;
    const a = this.statsOf(this.legs.a).lastPacketAt;
    const b = this.statsOf(this.legs.b).lastPacketAt;
    if (a === undefined && b === undefined) return this.lastActivityAt;
    return Math.max(a ?? Number.NEGATIVE_INFINITY, b ?? Number.NEGATIVE_INFINITY, this.lastActivityAt ?? Number.NEGATIVE_INFINITY);
  }

  /** True once close() has been called. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Stops forwarding, cancels timers and releases both legs' ports; safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.timeoutTimer?.cancel();
      this.oneWayTimer?.cancel();
      for (const l of [this.legs.a, this.legs.b]) {
        l.pair.rtp.fast?.configure(undefined);
        l.pair.rtp.setHandler(undefined);
        l.pair.rtcp?.setHandler(undefined);
      }
      await Promise.all([this.legs.a.pair.release(), this.legs.b.pair.release()]);
      this.emit({ type: "closed" });
      this.listeners.clear();
      this.onClosed?.(this);
    })();
    return this.closing;
  }

  // The hot path: one call per datagram. It never throws (a listener or sink bug is caught
  // below) and allocates nothing for an accepted packet but what socket.send needs.
  private receive(leg: Leg, fixed: Channel | undefined, msg: Buffer, rinfo: SocketAddress): void {
    try {
      const stats = leg.stats;
      let channel: Channel;
      const kind = classifyPacket(msg, msg.length);
      if (fixed === "rtp") {
        if (kind !== "rtp" && kind !== "rtcp") {
          stats.dropped.malformed++;
          return;
        }
        // Without mux, RFC 5761 4 demux does not apply: RTP payload types 64-95 may look like RTCP.
        channel = "rtp";
      } else if (kind === "rtp" || kind === "rtcp") {
        if (fixed === "rtcp" && kind !== "rtcp") {
          stats.dropped.malformed++;
          return;
        }
        channel = kind;
      } else {
        // STUN/DTLS would need ICE/DTLS-SRTP termination, which this relay does not do.
        stats.dropped.malformed++;
        return;
      }
      if (!this.accept(leg, channel, rinfo)) return;

      const now = this.clock.now();
      stats.lastPacketAt = now;
      this.lastActivityAt = now;
      const inCounter = stats.received[channel];
      inCounter.packets++;
      inCounter.bytes += msg.length;
      const processor = this.processor;
      let packet: Buffer | ProcessorDrop = msg;
      if (processor !== undefined) {
        packet = processor.inbound(leg.name, channel, msg, now);
        if (typeof packet === "string") {
          stats.dropped[packet]++;
          return;
        }
      }
      if (this.sink !== undefined) {
        this.sink.onPacket(leg.name, channel, packet, now);
        // With native I/O the receive statistics of a stream live in C, whichever path a packet took.
        if (channel === "rtp") leg.pair.rtp.fast?.feed(packet);
      }

      const out = leg.other;
      // RFC 3264 5.1: a sendonly/inactive stream receives no RTP; RTCP still flows so both ends keep reports.
      if (channel === "rtp" && !out.receives) {
        stats.dropped.held++;
        return;
      }
      const target = out.target(channel);
      if (target === undefined) {
        stats.dropped.noRoute++;
        return;
      }
      if (processor !== undefined) {
        packet = processor.outbound(out.name, channel, packet);
        if (typeof packet === "string") {
          stats.dropped[packet]++;
          return;
        }
      }
      out.socketFor(channel).send(packet, target.port, target.address, out.onSent);
      const outCounter = out.stats.sent[channel];
      outCounter.packets++;
      outCounter.bytes += packet.length;
    } catch (e) {
      leg.stats.dropped.sendError++;
      // Once per session: a failure that repeats would otherwise log at packet rate.
      if (!this.warnedRelayError) {
        this.warnedRelayError = true;
        this.logger?.warn({ session: this.id, leg: leg.name, err: e }, "media packet not relayed");
      }
    }
  }

  /** Symmetric RTP (RFC 4961) latching with the anti-injection rules; counts strangers. */
  private accept(leg: Leg, channel: Channel, rinfo: SocketAddress): boolean {
    const signaled = channel === "rtp" ? leg.signaledRtp : leg.signaledRtcp;
    if (leg.remote === undefined) {
      // Nothing signaled yet: no way to tell the endpoint from a stranger.
      leg.stats.dropped.stranger++;
      return false;
    }
    const latched = channel === "rtp" ? leg.latchedRtp : leg.latchedRtcp;
    if (latched !== undefined && latched.port === rinfo.port && latched.address === rinfo.address) return true;
    if (signaled !== undefined && signaled.port === rinfo.port && signaled.address === rinfo.address) {
      // The endpoint itself: it always wins back the stream from an earlier latch.
      if (latched !== undefined) this.latch(leg, channel, signaled);
      return true;
    }
    if (leg.strict || this.clock.now() > leg.learnUntil) {
      leg.stats.dropped.stranger++;
      return false;
    }
    this.latch(leg, channel, { address: rinfo.address, port: rinfo.port });
    return true;
  }

  private latch(leg: Leg, channel: Channel, source: Endpoint): void {
    if (channel === "rtp") leg.latchedRtp = source;
    else leg.latchedRtcp = source;
    this.logger?.info({ session: this.id, leg: leg.name, channel, source }, "media source latched");
    if (channel === "rtp") this.syncFast();
    this.emit({ type: "latched", leg: leg.name, channel, source });
  }

  private checkTimeout(): void {
    this.timeoutTimer = undefined;
    if (this.closing !== undefined || this.timedOut) return;
    const now = this.clock.now();
    const last = Math.max(this.lastPacketAt() ?? 0, this.startedAt ?? now);
    const idle = now - last;
    if (idle >= this.mediaTimeoutMs) {
      this.timedOut = true;
      this.logger?.info({ session: this.id, idleMs: idle }, "media timeout");
      this.emit({ type: "media-timeout", idleMs: idle });
      return;
    }
    // Packets flowed meanwhile: check again when the newest one would be mediaTimeoutMs old.
    this.timeoutTimer = this.clock.schedule(this.mediaTimeoutMs - idle, () => this.checkTimeout());
  }

  private checkOneWay(): void {
    this.oneWayTimer = undefined;
    if (this.closing !== undefined) return;
    const fromA = this.statsOf(this.legs.a).received.rtp.packets;
    const fromB = this.statsOf(this.legs.b).received.rtp.packets;
    if ((fromA === 0) === (fromB === 0)) return;
    const silentLeg: LegName = fromA === 0 ? "a" : "b";
    this.logger?.info({ session: this.id, silentLeg }, "one-way media");
    this.emit({ type: "one-way", silentLeg, afterMs: this.oneWayAfterMs });
  }

  private socketError(leg: Leg, e: Error): void {
    this.logger?.warn({ session: this.id, leg: leg.name, err: e }, "media socket error");
  }

  private emit(event: RelayEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (e) {
        this.logger?.warn({ session: this.id, err: e, event: event.type }, "media event listener threw");
      }
    }
  }
}
