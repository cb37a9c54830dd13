import { isIP } from "node:net";
import { MediaRelayError } from "./errors.ts";
import { type RelayIo, type RelaySocket, dgramIo } from "./udp-io.ts";

/** Where and in which range relay ports are bound. */
export interface PortAllocatorOptions {
  /** The local media address to bind (IPv4 or IPv6, no brackets). */
  readonly address: string;
  /** Lowest and highest port of the range, both included. */
  readonly portMin: number;
  readonly portMax: number;
  /** Kernel receive/send buffer per socket; larger buffers absorb bursts. Default 256 KiB. */
  readonly socketBufferBytes?: number;
  /** How sockets are made; default node:dgram. */
  readonly io?: RelayIo;
}

/** Bound sockets for one stream on one leg: RTP on an even port and RTCP on the next, or one muxed port. */
export interface PortPair {
  readonly address: string;
  readonly family: 4 | 6;
  readonly rtpPort: number;
  /** Equals rtpPort when muxed (RFC 5761). */
  readonly rtcpPort: number;
  readonly rtcpMux: boolean;
  readonly rtp: RelaySocket;
  /** Absent when muxed: RTCP shares the RTP socket. */
  readonly rtcp: RelaySocket | undefined;
  /** Closes the sockets and returns the ports to the range; safe to call twice. */
  release(): Promise<void>;
}

/** Hands out port pairs from a range and takes them back. */
export interface PortAllocator {
  readonly address: string;
  readonly family: 4 | 6;
  /** Which socket implementation the allocator binds with. */
  readonly io: RelayIo["kind"];
  /** Binds a pair (or one port when rtcpMux); rejects with MEDIA_PORTS_EXHAUSTED when the range is full. */
  allocate(options?: { readonly rtcpMux?: boolean }): Promise<PortPair>;
  /** Ports currently held. */
  inUse(): number;
  /** Number of RTP/RTCP pairs the range can hold. */
  readonly capacity: number;
  /** Releases every pair still held; later allocations fail with MEDIA_CLOSED. */
  close(): Promise<void>;
}

const DEFAULT_SOCKET_BUFFER = 256 * 1024;

/** Creates an allocator over [portMin, portMax] on address; throws MEDIA_BAD_OPTIONS for an unusable range. */
export function createPortAllocator(options: PortAllocatorOptions): PortAllocator {
  const { address, portMin, portMax } = options;
  const version = isIP(address);
  if (version !== 4 && version !== 6) {
    throw new MediaRelayError("MEDIA_BAD_OPTIONS", `media address is not an IP address: ${address}`);
  }
  const family: 4 | 6 = version;
  if (!Number.isInteger(portMin) || !Number.isInteger(portMax) || portMin < 1 || portMax > 65535 || portMin > portMax) {
    throw new MediaRelayError("MEDIA_BAD_OPTIONS", `bad media port range ${portMin}-${portMax}`);
  }
  // RFC 3550 11: RTP takes an even port and RTCP the next odd one.
  const firstEven = portMin % 2 === 0 ? portMin : portMin + 1;
  const evens: number[] = [];
  for (let p = firstEven; p + 1 <= portMax; p += 2) evens.push(p);
  if (evens.length === 0) {
    throw new MediaRelayError("MEDIA_BAD_OPTIONS", `media port range ${portMin}-${portMax} holds no even/odd pair`);
  }
  const odds: number[] = [];
  for (let p = portMin % 2 === 1 ? portMin : portMin + 1; p <= portMax; p += 2) odds.push(p);
  const bufferBytes = options.socketBufferBytes ?? DEFAULT_SOCKET_BUFFER;

  const held = new Set<number>();
  const live = new Set<PortPair>();
  // A rotating start spreads use over the range, so a freed port is not reused at once and
  // late packets of the previous call do not land in the next one.
  let cursor = 0;
  let closed = false;

  const io = options.io ?? dgramIo;
  const bindOne = (port: number): Promise<RelaySocket | "in-use"> => io.bind(address, port, bufferBytes);
  const closeSocket = (s: RelaySocket): Promise<void> => s.close();

  const makePair = (rtp: RelaySocket, rtcp: RelaySocket | undefined, rtpPort: number, rtcpPort: number): PortPair => {
    let released: Promise<void> | undefined;
    const pair: PortPair = {
      address,
      family,
      rtpPort,
      rtcpPort,
      rtcpMux: rtcp === undefined,
      rtp,
      rtcp,
      release() {
        released ??= (async () => {
          live.delete(pair);
          await Promise.all([closeSocket(rtp), rtcp === undefined ? undefined : closeSocket(rtcp)]);
          held.delete(rtpPort);
          held.delete(rtcpPort);
        })();
        return released;
      },
    };
    live.add(pair);
    return pair;
  };

  async function tryPair(p: number): Promise<PortPair | undefined> {
    if (held.has(p) || held.has(p + 1)) return undefined;
    // Reserve before binding so two concurrent allocations never race for the same pair.
    held.add(p);
    held.add(p + 1);
    const unreserve = (): void => {
      held.delete(p);
      held.delete(p + 1);
    };
    let rtp: RelaySocket | "in-use";
    try {
      rtp = await bindOne(p);
    } catch (e) {
      unreserve();
      throw e;
    }
    if (rtp === "in-use") {
      unreserve();
      return undefined;
    }
    let rtcp: RelaySocket | "in-use";
    try {
      rtcp = await bindOne(p + 1);
    } catch (e) {
      await closeSocket(rtp);
      unreserve();
      throw e;
    }
    if (rtcp === "in-use" || closed) {
      await Promise.all([closeSocket(rtp), rtcp === "in-use" ? undefined : closeSocket(rtcp)]);
      unreserve();
      if (closed) throw new MediaRelayError("MEDIA_CLOSED", "port allocator closed");
      return undefined;
    }
    return makePair(rtp, rtcp, p, p + 1);
  }

  async function trySingle(p: number): Promise<PortPair | undefined> {
    if (held.has(p)) return undefined;
    held.add(p);
    try {
      const s = await bindOne(p);
      if (s === "in-use") {
        held.delete(p);
        return undefined;
      }
      if (closed) {
        await closeSocket(s);
        throw new MediaRelayError("MEDIA_CLOSED", "port allocator closed");
      }
      return makePair(s, undefined, p, p);
    } catch (e) {
      held.delete(p);
      throw e;
    }
  }

  return {
    address,
    family,
    io: io.kind,
    capacity: evens.length,
    inUse: () => held.size,
    async allocate(request) {
      if (closed) throw new MediaRelayError("MEDIA_CLOSED", "port allocator closed");
      const mux = request?.rtcpMux ?? false;
      const start = cursor;
      cursor = (cursor + 1) % evens.length;
      for (let i = 0; i < evens.length; i++) {
        const p = evens[(start + i) % evens.length]!;
        const pair = mux ? await trySingle(p) : await tryPair(p);
        if (pair !== undefined) {
          cursor = (start + i + 1) % evens.length;
          return pair;
        }
      }
      // A muxed stream needs one port, so the odd ports left over by muxed calls still serve.
      if (mux) {
        for (const p of odds) {
          const pair = await trySingle(p);
          if (pair !== undefined) return pair;
        }
      }
      throw new MediaRelayError("MEDIA_PORTS_EXHAUSTED", `no free media port in ${portMin}-${portMax} on ${address}`);
    },
    async close() {
      closed = true;
      await Promise.all([...live].map((p) => p.release()));
    },
  };
}
