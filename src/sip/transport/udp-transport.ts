import { createSocket, type Socket } from "node:dgram";
import { isIP } from "node:net";
import { normalizeAddress } from "./address.ts";
import { TransportError, type Endpoint } from "./types.ts";

/** Called for every datagram; must not throw (the caller guards its own handler). */
const UDP_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

export type DatagramHandler = (data: Buffer, remote: Endpoint, listener: UdpListener) => void;

/** One bound UDP socket (RFC 3261 18: a UDP "listener" both receives and sends). */
export class UdpListener {
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
    if (family === 0) {
      return Promise.reject(new TransportError("ERR_TRANSPORT_BIND", `UDP listen address is not an IP address: ${address}`));
    }
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
        // Bursts of thousands of requests per second overflow the default (~200 KiB) buffer and the
        // kernel drops silently; the kernel caps these at net.core.rmem_max/wmem_max.
        try {
          socket.setRecvBufferSize(UDP_SOCKET_BUFFER_BYTES);
          socket.setSendBufferSize(UDP_SOCKET_BUFFER_BYTES);
        } catch (cause) {
          onError(new TransportError("ERR_TRANSPORT_BIND", `cannot size UDP buffers on ${address}:${port}`, { cause }));
        }
        const bound = socket.address();
        const listener = new UdpListener(socket, { address: normalizeAddress(bound.address), port: bound.port }, dualStack);
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
