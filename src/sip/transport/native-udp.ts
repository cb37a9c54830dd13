import { getSystemErrorName } from "node:util";
import { type Result, loadNativeAddon } from "../../lib/index.ts";
import { TransportError, type Endpoint } from "./types.ts";
import type { DatagramHandler, UdpListener } from "./udp-transport.ts";

/** The functions native/sip-io/src/sip_io.c exports (one instance per thread that loads it). */
interface SipIoAddon {
  bind(
    address: string,
    port: number,
    bufferBytes: number,
    onDatagram: (data: Buffer, address: string, port: number) => void,
    onSendFailed: (count: number, errno: number) => void,
  ): number;
  localAddress(id: number): [string, number] | undefined;
  send(id: number, data: Buffer, port: number, address: string): number;
  close(id: number): void;
}

/** An errno the addon returned as a Node-style system error, so logs read the same as with node:dgram. */
function systemError(errno: number, syscall: string): Error {
  const name = getSystemErrorName(-errno);
  return Object.assign(new Error(`${syscall} ${name}`), { code: name, errno: -errno, syscall });
}

let loaded: Result<SipIoAddon, string> | undefined;

function load(): Result<SipIoAddon, string> {
  loaded ??= loadNativeAddon<SipIoAddon>("sip-io", "sip_io.node");
  return loaded;
}

/** Why the native SIP UDP addon does not load, or undefined when it does. */
export function nativeUdpError(): string | undefined {
  const r = load();
  return r.ok ? undefined : r.error;
}

// Sends resolve with this one settled promise: a queued datagram needs no promise of its own.
const QUEUED: Promise<void> = Promise.resolve();

/**
 * A UDP socket owned by native/sip-io: received in this thread's event loop, sent by the addon's
 * sender thread. `send` resolves once the datagram is queued; a failure after that (the kernel
 * refusing it in the sender thread) cannot fail the transaction that sent it (UDP promises no
 * delivery anyway, and an unconnected socket hears no ICMP errors), so it reaches `onError`,
 * counted per burst, to be logged.
 */
class NativeUdpListener implements UdpListener {
  private closed = false;

  constructor(
    private readonly io: SipIoAddon,
    private readonly id: number,
    readonly local: Endpoint,
  ) {}

  send(data: Buffer, remote: Endpoint): Promise<void> {
    if (this.closed) return Promise.reject(new TransportError("ERR_TRANSPORT_CLOSED", "UDP listener is closed"));
    const r = this.io.send(this.id, data, remote.port, remote.address);
    if (r === 0) return QUEUED;
    const cause = systemError(-r, "send");
    return Promise.reject(new TransportError("ERR_TRANSPORT_SEND", `UDP send to ${remote.address}:${remote.port} failed`, { cause }));
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.io.close(this.id);
    }
    return Promise.resolve();
  }
}

/** Binds a native UDP listener; rejects with ERR_TRANSPORT_BIND (the addon must have loaded). */
export function bindNativeUdp(
  address: string,
  port: number,
  bufferBytes: number,
  onDatagram: DatagramHandler,
  onError: (error: TransportError) => void,
): Promise<UdpListener> {
  const r = load();
  if (!r.ok) return Promise.reject(new TransportError("ERR_TRANSPORT_BIND", `native SIP UDP I/O does not load: ${r.error}`));
  const io = r.value;
  let listener: NativeUdpListener | undefined;
  const id = io.bind(
    address,
    port,
    bufferBytes,
    (data, from, fromPort) => {
      if (listener !== undefined) onDatagram(data, { address: from, port: fromPort }, listener);
    },
    (count, errno) => {
      const cause = systemError(errno, "sendmmsg");
      const where = listener === undefined ? `${address}:${port}` : `${listener.local.address}:${listener.local.port}`;
      onError(new TransportError("ERR_TRANSPORT_SEND", `${count} UDP datagram(s) from ${where} not sent (${cause.message})`, { cause }));
    },
  );
  if (id < 0) {
    return Promise.reject(new TransportError("ERR_TRANSPORT_BIND", `cannot bind UDP ${address}:${port}`, { cause: systemError(-id, "bind") }));
  }
  const bound = io.localAddress(id);
  if (bound === undefined) {
    io.close(id);
    return Promise.reject(new TransportError("ERR_TRANSPORT_BIND", `cannot read the bound address of UDP ${address}:${port}`));
  }
  listener = new NativeUdpListener(io, id, { address: bound[0], port: bound[1] });
  return Promise.resolve(listener);
}
