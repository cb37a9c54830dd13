import { createSocket, type Socket } from "node:dgram";
import { isIP } from "node:net";
import { normalizeAddress } from "./address.ts";
import { bindNativeUdp, nativeUdpError } from "./native-udp.ts";
import { TransportError, type Endpoint } from "./types.ts";

// Bursts of thousands of requests per second overflow the default (~200 KiB) buffer and the
// kernel drops silently; the kernel caps these at net.core.rmem_max/wmem_max.
const UDP_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

/** Called for every datagram; must not throw (the caller guards its own handler). */
export type DatagramHandler = (data: Buffer, remote: Endpoint, listener: UdpListener) => void;

/** One bound UDP socket (RFC 3261 18: a UDP "listener" both receives and sends). */
export interface UdpListener {
  /** The bound address and port. */
  readonly local: Endpoint;
  /** Sends one datagram; rejects with ERR_TRANSPORT_SEND (or ERR_TRANSPORT_CLOSED). */
  send(data: Buffer, remote: Endpoint): Promise<void>;
  /** Closes the socket; harmless when already closed. */
  close(): Promise<void>;
}

/** How SIP UDP sockets are driven: the native/sip-io addon, node:dgram, or auto (native when it loads). */
export type UdpIoMode = "auto" | "native" | "dgram";

/** The UDP I/O chosen for a mode, and why not native when it is not. */
export interface UdpIoChoice {
  readonly kind: "native" | "dgram";
  readonly reason?: string;
}

/** The UDP I/O for a mode: `native` fails with ERR_TRANSPORT_BIND when the addon does not load; `auto` falls back to node:dgram. */
export function selectUdpIo(mode: UdpIoMode): UdpIoChoice {
  if (mode === "dgram") return { kind: "dgram", reason: "sip.udpIo is dgram" };
  const error = nativeUdpError();
  if (error === undefined) return { kind: "native" };
  if (mode === "native") throw new TransportError("ERR_TRANSPORT_BIND", `sip.udpIo is native but the addon does not load: ${error}`);
  return { kind: "dgram", reason: error };
}

/** Binds a UDP listener with the chosen I/O; rejects with ERR_TRANSPORT_BIND. */
export function bindUdpListener(
  io: UdpIoChoice["kind"],
  address: string,
  port: number,
  onDatagram: DatagramHandler,
  onError: (error: TransportError) => void,
): Promise<UdpListener> {
  if (isIP(address) === 0) {
    return Promise.reject(new TransportError("ERR_TRANSPORT_BIND", `UDP listen address is not an IP address: ${address}`));
  }
  if (io === "native") return bindNativeUdp(address, port, UDP_SOCKET_BUFFER_BYTES, onDatagram, onError);
  return DgramUdpListener.bind(address, port, onDatagram, onError);
}

/** A UDP listener on node:dgram (the fallback without the native addon). */
class DgramUdpListener implements UdpListener {
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    /** The bound address and port. */
    readonly local: Endpoint,
    /** True for an IPv6 socket that also carries IPv4 (bound to `::`). */
    private readonly dualStack: boolean,
  ) {}

  /** Binds a UDP socket; rejects with ERR_TRANSPORT_BIND. */
  static bind(address: string, port: number, onDatagram: DatagramHandler, onError: (error: TransportError) => void): Promise<UdpListener> {
    const family = isIP(address);
    const dualStack = family === 6 && address === "::";
    const socket = createSocket({ type: family === 6 ? "udp6" : "udp4", ipv6Only: family === 6 && !dualStack });
    return new Promise((resolve, reject) => {
      const onBindError = (cause: Error): void => {
        socket.close();
        reject(new TransportError("ERR_TRANSPORT_BIND", `cannot bind UDP ${address}:${port}`, { cause }));
      };
      socket.once("error", onBindError);
      socket.bind(port, address, () => {
        socket.off("error", onBindError);
        try {
          socket.setRecvBufferSize(UDP_SOCKET_BUFFER_BYTES);
          socket.setSendBufferSize(UDP_SOCKET_BUFFER_BYTES);
        } catch (cause) {
          onError(new TransportError("ERR_TRANSPORT_BIND", `cannot size UDP buffers on ${address}:${port}`, { cause }));
        }
        const bound = socket.address();
        const listener = new DgramUdpListener(socket, { address: normalizeAddress(bound.address), port: bound.port }, dualStack);
        socket.on("error", (cause) => onError(new TransportError("ERR_TRANSPORT_SEND", `UDP socket ${address}:${bound.port} error`, { cause })));
        socket.on("message", (data, rinfo) => onDatagram(data, { address: normalizeAddress(rinfo.address), port: rinfo.port }, listener));
        resolve(listener);
      });
    });
  }

  /** Sends one datagram; rejects with ERR_TRANSPORT_SEND. */
  send(data: Buffer, remote: Endpoint): Promise<void> {
    if (this.closed) return Promise.reject(new TransportError("ERR_TRANSPORT_CLOSED", "UDP listener is closed"));
    // A dual-stack socket needs IPv4 peers written as IPv4-mapped IPv6.
    const address = this.dualStack && isIP(remote.address) === 4 ? `::ffff:${remote.address}` : remote.address;
    return new Promise((resolve, reject) => {
      try {
        this.socket.send(data, remote.port, address, (cause) => {
          if (cause) reject(new TransportError("ERR_TRANSPORT_SEND", `UDP send to ${remote.address}:${remote.port} failed`, { cause }));
          else resolve();
        });
      } catch (cause) {
        // dgram throws synchronously for a bad port or address.
        reject(new TransportError("ERR_TRANSPORT_SEND", `UDP send to ${remote.address}:${remote.port} failed`, { cause }));
      }
    });
  }

  /** Closes the socket; harmless when already closed. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
