import { type Socket, createSocket } from "node:dgram";
import { type LookupOneOptions, lookup as dnsLookup } from "node:dns";
import { isIP } from "node:net";
import type { ReceiveCounters } from "../quality.ts";
import { MediaRelayError } from "./errors.ts";

/** A transport address as the I/O layer sees it. */
export interface SocketAddress {
  readonly address: string;
  readonly port: number;
}

/** Receives one datagram; must not keep the buffer beyond the call unless it copies it. */
export type DatagramHandler = (packet: Buffer, source: SocketAddress) => void;

/**
 * What C may do with the RTP received on one socket without JavaScript (native I/O only): accept
 * it from `latched` (else `signaled`), forward the payload types flagged PT_FAST to `target` from
 * the `out` socket, and count PT_STATS ones in the receive statistics. Anything else still reaches
 * the socket's handler, so the latching and drop rules stay in relay-session.ts.
 */
export interface FastForward {
  readonly out: RelaySocket;
  readonly target: SocketAddress | undefined;
  /** The other leg is on hold: count and drop instead of sending. */
  readonly held: boolean;
  readonly latched: SocketAddress | undefined;
  readonly signaled: SocketAddress | undefined;
  /** 128 entries, one per RTP payload type: PT_FAST | PT_STATS. */
  readonly ptFlags: Uint8Array;
  /** RTCP may arrive on this socket (RFC 5761): what looks like RTCP goes to JavaScript. */
  readonly demux: boolean;
}

/** Forward this payload type in C: the JS packet processor would leave it untouched. */
export const PT_FAST = 1;
/** Count this payload type in the receive statistics (not events or comfort noise). */
export const PT_STATS = 2;

/** What C did on one socket: its own counts (JavaScript keeps the rest) and RFC 3550 receive statistics. */
export interface FastCounters {
  readonly receivedPackets: number;
  readonly receivedBytes: number;
  /** Sent on to the other leg by C. */
  readonly forwardedPackets: number;
  readonly forwardedBytes: number;
  readonly droppedHeld: number;
  readonly droppedNoRoute: number;
  readonly droppedSendError: number;
  /** Milliseconds since C last accepted a packet here, or undefined. */
  readonly idleMs: number | undefined;
  /** C's RFC 3550 receive counters (jitter in timestamp units, A.8). */
  readonly rtp: ReceiveCounters;
  /** The last RTP header C forwarded, so JavaScript can continue the sequence. */
  readonly lastForwarded: { readonly ssrc: number; readonly seq: number; readonly timestamp: number; readonly ageMs: number } | undefined;
}

/** The native fast path of one socket. */
export interface FastPath {
  configure(config: FastForward | undefined): void;
  /** RTP clock rate of what this socket receives (jitter units). */
  setClockRate(rate: number): void;
  /** Accounts an RTP packet that JavaScript relayed in this socket's receive statistics. */
  feed(packet: Buffer): void;
  /** Undefined once the socket is closed. */
  counters(): FastCounters | undefined;
}

/** One bound relay UDP socket. */
export interface RelaySocket {
  address(): SocketAddress;
  /** Sends a datagram; onSent gets the error when the kernel refuses it. */
  send(packet: Buffer, port: number, address: string, onSent: (error: Error | null) => void): void;
  /** Sets where datagrams (and socket errors) go; undefined stops delivery. */
  setHandler(onMessage: DatagramHandler | undefined, onError?: (error: Error) => void): void;
  /** Closes the socket; safe to call twice. */
  close(): Promise<void>;
  /** Present when the socket is native. */
  readonly fast: FastPath | undefined;
}

/** How relay sockets are made: node:dgram, or the native addon. */
export interface RelayIo {
  readonly kind: "native" | "dgram";
  /** Binds address:port; "in-use" when taken (the allocator tries the next port), MEDIA_BIND_FAILED otherwise. */
  bind(address: string, port: number, bufferBytes: number): Promise<RelaySocket | "in-use">;
}

/**
 * dgram resolves the destination of every send through its socket's lookup: dns.lookup by
 * default, which answers even an IP literal a tick later (a queued callback per packet). Remotes
 * come from SDP as IP literals, so those are answered at once; anything else still goes to DNS.
 */
function literalLookup(hostname: string, options: LookupOneOptions, callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  const family = isIP(hostname);
  if (family !== 0) callback(null, hostname, family);
  else dnsLookup(hostname, options, callback);
}

class DgramSocket implements RelaySocket {
  readonly fast = undefined;
  private closed: Promise<void> | undefined;

  constructor(private readonly socket: Socket) {}

  address(): SocketAddress {
    return this.socket.address();
  }

  send(packet: Buffer, port: number, address: string, onSent: (error: Error | null) => void): void {
    this.socket.send(packet, port, address, onSent);
  }

  setHandler(onMessage: DatagramHandler | undefined, onError?: (error: Error) => void): void {
    this.socket.removeAllListeners("message");
    this.socket.removeAllListeners("error");
    if (onMessage !== undefined) this.socket.on("message", onMessage);
    // Without an error listener a socket error would crash the process.
    this.socket.on("error", onError ?? (() => undefined));
  }

  close(): Promise<void> {
    this.closed ??= new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve(); // already closed
      }
    });
    return this.closed;
  }
}

/** Relay sockets on node:dgram: every datagram goes through libuv and JavaScript. */
export const dgramIo: RelayIo = {
  kind: "dgram",
  bind: (address, port, bufferBytes) =>
    new Promise((resolve, reject) => {
      const udp = isIP(address) === 6 ? "udp6" : "udp4";
      const socket = createSocket({ type: udp, reuseAddr: false, lookup: literalLookup });
      const onError = (e: NodeJS.ErrnoException): void => {
        socket.close();
        if (e.code === "EADDRINUSE" || e.code === "EACCES") resolve("in-use");
        else reject(new MediaRelayError("MEDIA_BIND_FAILED", `cannot bind ${address}:${port}`, { cause: e }));
      };
      socket.once("error", onError);
      socket.bind({ port, address, exclusive: true }, () => {
        socket.off("error", onError);
        try {
          socket.setRecvBufferSize(bufferBytes);
          socket.setSendBufferSize(bufferBytes);
        } catch {
          // The kernel may cap buffer sizes; the defaults still work.
        }
        resolve(new DgramSocket(socket));
      });
    }),
};
