/**
 * Helpers for the media relay: read where each stream sends from and wants to
 * receive on, and rewrite a body so that media flows through the relay.
 */
import {
  type CryptoAttribute,
  attribute,
  cryptosOf,
  formatRtcp,
  isIceAttribute,
  ptimeOf,
  rtcpMuxOf,
  rtcpOf,
} from "./attributes.ts";
import { type Codec, codecsOf } from "./codecs.ts";
import { effectiveDirection, isOldStyleHold, streamConnection } from "./offer-answer.ts";
import type { Attribute, Connection, Direction, MediaDescription, SessionDescription } from "./types.ts";

/** What the relay needs to know about one m= line of a remote body. */
export interface StreamInfo {
  readonly index: number;
  readonly type: string;
  readonly protocol: string;
  /** Port 0: the stream is rejected or removed. */
  readonly rejected: boolean;
  /** Where the remote end receives RTP. */
  readonly address: string | undefined;
  readonly addrType: string | undefined;
  readonly port: number;
  /** Where the remote end receives RTCP: a=rtcp (RFC 3605), the RTP port with rtcp-mux, else port + 1. */
  readonly rtcpAddress: string | undefined;
  readonly rtcpPort: number;
  readonly rtcpMux: boolean;
  readonly codecs: readonly Codec[];
  /** Direction as the remote end states it, with c=0.0.0.0 counted as not receiving. */
  readonly direction: Direction;
  /** On hold: the remote end will not receive (sendonly, inactive or c=0.0.0.0). */
  readonly onHold: boolean;
  readonly oldStyleHold: boolean;
  readonly ptime: number | undefined;
  readonly crypto: readonly CryptoAttribute[];
}

/** Reads each stream's remote address, ports, payloads and direction, in m= line order. */
export function readStreams(sdp: SessionDescription): StreamInfo[] {
  return sdp.media.map((m, index) => {
    const c = streamConnection(m, sdp);
    const rtcp = rtcpOf(m);
    const mux = rtcpMuxOf(m);
    const direction = effectiveDirection(m, sdp);
    return {
      index,
      type: m.type,
      protocol: m.protocol,
      rejected: m.port === 0,
      address: c?.address,
      addrType: c?.addrType,
      port: m.port,
      rtcpAddress: rtcp?.address ?? c?.address,
      rtcpPort: rtcp?.port ?? (mux ? m.port : m.port + 1),
      rtcpMux: mux,
      codecs: codecsOf(m),
      direction,
      onHold: direction === "sendonly" || direction === "inactive",
      oldStyleHold: isOldStyleHold(m, sdp),
      ptime: ptimeOf(m),
      crypto: cryptosOf(m),
    };
  });
}

/** Where the relay receives one stream. */
export interface RelayEndpoint {
  readonly port: number;
  /** Defaults to the RTP port when the stream multiplexes RTCP, else port + 1. */
  readonly rtcpPort?: number;
}

/** How to anchor a body on the relay. */
export interface AnchorOptions {
  /** The relay's address as the other side must reach it (no brackets for IPv6). */
  readonly address: string;
  /** Defaults from the address: IP6 when it has a colon. */
  readonly addrType?: "IP4" | "IP6";
  /** The relay endpoint for the i-th stream; undefined leaves that stream as it is. Not called for port 0. */
  readonly endpoint: (index: number, media: MediaDescription) => RelayEndpoint | undefined;
  /** Also put the relay address in o=; default true, so the far end sees no trace of the other leg. */
  readonly rewriteOrigin?: boolean;
  /** Drop ICE attributes, whose candidates name the other leg's addresses; default true. */
  readonly stripIce?: boolean;
}

/**
 * Rewrites connection addresses and ports so media goes through the relay.
 * Streams held with c=0.0.0.0 keep that address, so the hold survives anchoring.
 */
export function anchorMedia(sdp: SessionDescription, options: AnchorOptions): SessionDescription {
  const addrType = options.addrType ?? (options.address.includes(":") ? "IP6" : "IP4");
  const relay: Connection = { netType: "IN", addrType, address: options.address };
  const stripIce = options.stripIce ?? true;
  const keep = (a: Attribute): boolean => !(stripIce && isIceAttribute(a));

  const media = sdp.media.map((m, index): MediaDescription => {
    const endpoint = m.port === 0 ? undefined : options.endpoint(index, m);
    if (endpoint === undefined) {
      // Untouched streams must keep pointing where they did, even though the session c= changes.
      const own = streamConnection(m, sdp);
      const connections = m.connections.length > 0 || own === undefined ? m.connections : [own];
      return { ...m, connections, attributes: m.attributes.filter(keep) };
    }
    const held = isOldStyleHold(m, sdp);
    const heldAt = held ? streamConnection(m, sdp) : undefined;
    const mux = rtcpMuxOf(m);
    const rtcpPort = endpoint.rtcpPort ?? (mux ? endpoint.port : endpoint.port + 1);
    const attributes = m.attributes.filter(keep).map((a): Attribute => {
      if (a.kind !== "attribute" || a.name !== "rtcp" || a.value === null) return a;
      const old = rtcpOf(m);
      const hasAddress = old?.address !== undefined;
      return attribute("rtcp", formatRtcp(hasAddress ? { port: rtcpPort, netType: "IN", addrType, address: options.address } : { port: rtcpPort }));
    });
    return { ...m, port: endpoint.port, connections: heldAt === undefined ? [] : [heldAt], attributes };
  });

  const origin = options.rewriteOrigin === false ? sdp.origin : { ...sdp.origin, addrType, address: options.address };
  return { ...sdp, origin, connection: relay, attributes: sdp.attributes.filter(keep), media };
}
