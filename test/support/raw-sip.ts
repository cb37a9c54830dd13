import { createSocket, type Socket } from "node:dgram";
import { connect, type Socket as TcpSocket } from "node:net";
import { once } from "node:events";
import { parseMessage } from "../../src/sip/index.ts";
import { poll } from "./until.ts";

/**
 * What came back, read leniently: a stateless 400 to a broken request may itself be incomplete
 * (it can only copy what was salvageable), so the status line and a few headers are read from text.
 */
export interface Received {
  readonly status: number | null;
  readonly callId: string | null;
  readonly cseqMethod: string | null;
  readonly raw: string;
}

/** Reads a received message leniently. */
export function readReceived(data: Buffer): Received {
  const parsed = parseMessage(data);
  if (parsed.ok) {
    const m = parsed.message;
    return { status: m.kind === "response" ? m.status : null, callId: m.callId, cseqMethod: m.cseq.method, raw: data.toString("latin1") };
  }
  const raw = data.toString("latin1");
  const status = /^SIP\/2\.0 (\d{3}) /.exec(raw);
  const callId = /^(?:Call-ID|i)\s*:\s*(\S+)/im.exec(raw);
  const cseq = /^CSeq\s*:\s*\S+\s+(\S+)/im.exec(raw);
  return { status: status ? Number(status[1]) : null, callId: callId?.[1] ?? null, cseqMethod: cseq?.[1] ?? null, raw };
}

/** A raw SIP peer for tests: sends exact bytes and collects the responses that come back. */
export interface RawPeer {
  readonly port: number;
  send(bytes: Buffer | string): Promise<void>;
  /** Responses received so far (parsed); unparseable input is kept as raw text. */
  readonly received: Received[];
  /** Waits until `count` messages have arrived in total or ms have passed. */
  waitFor(count: number, ms: number): Promise<void>;
  close(): Promise<void>;
}


async function waitFor(received: unknown[], count: number, ms: number): Promise<void> {
  await poll(() => received.length >= count, ms, 5);
}

/** A UDP peer bound to address:port (0 for any), sending to the target. */
export async function udpPeer(address: string, port: number, target: { address: string; port: number }): Promise<RawPeer> {
  const sock: Socket = createSocket(address.includes(":") ? "udp6" : "udp4");
  const received: Received[] = [];
  sock.on("message", (data) => received.push(readReceived(data)));
  sock.bind(port, address);
  await once(sock, "listening");
  return {
    port: sock.address().port,
    received,
    async send(bytes) {
      await new Promise<void>((res, rej) => sock.send(bytes, target.port, target.address, (e) => (e ? rej(e) : res())));
    },
    waitFor: (count, ms) => waitFor(received, count, ms),
    close: () => new Promise<void>((res) => sock.close(() => res())),
  };
}

/**
 * Splits a SIP stream into messages (RFC 3261 18.3): each ends Content-Length octets after the
 * blank line, the compact form `l:` included. Bare CRLFs between messages (RFC 5626 keep-alive
 * pongs) belong to none. Framed by Content-Length alone (no full parse), so an incomplete stateless
 * reply is still seen. Returns a function that takes each chunk and returns the messages it completed.
 */
export function sipStreamSplitter(): (chunk: Buffer) => Buffer[] {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    const out: Buffer[] = [];
    for (;;) {
      let start = 0;
      while (pending[start] === 0x0d && pending[start + 1] === 0x0a) start += 2;
      pending = pending.subarray(start);
      const end = pending.indexOf("\r\n\r\n");
      if (end < 0) break;
      const head = pending.subarray(0, end).toString("latin1");
      const cl = /^(?:Content-Length|l)[ \t]*:[ \t]*(\d+)/im.exec(head);
      const total = end + 4 + (cl ? Number(cl[1]) : 0);
      if (pending.length < total) break;
      out.push(pending.subarray(0, total));
      pending = pending.subarray(total);
    }
    return out;
  };
}

/** A stream's data handler that splits SIP messages into `received` (see sipStreamSplitter). */
export function framer(received: Received[]): (chunk: Buffer) => void {
  const split = sipStreamSplitter();
  return (chunk) => {
    for (const message of split(chunk)) received.push(readReceived(message));
  };
}

/** A TCP peer connected to the target. */
export async function tcpPeer(target: { address: string; port: number }): Promise<RawPeer & { readonly closed: boolean }> {
  const sock: TcpSocket = connect({ host: target.address, port: target.port });
  await once(sock, "connect");
  return streamPeer(sock);
}

/** A RawPeer over a connected stream socket (TCP, or TLS once the handshake is done); waitFor stops early once it closes. */
export function streamPeer(sock: TcpSocket): RawPeer & { readonly closed: boolean } {
  const received: Received[] = [];
  let closed = false;
  sock.on("data", framer(received));
  sock.on("close", () => (closed = true));
  sock.on("error", () => (closed = true));
  return {
    port: sock.localPort ?? 0,
    received,
    get closed() {
      return closed;
    },
    async send(bytes) {
      if (closed) throw new Error("connection closed");
      await new Promise<void>((res, rej) => sock.write(bytes, (e) => (e ? rej(e) : res())));
    },
    waitFor: async (count, ms) => {
      await poll(() => received.length >= count || closed, ms, 5);
    },
    close: async () => {
      sock.destroy();
    },
  };
}

/** A valid OPTIONS whose Via points back at the sender, used as a liveness probe. */
export function optionsProbe(protocol: "UDP" | "TCP", from: { address: string; port: number }, to: { address: string; port: number }, n: number): string {
  return [
    `OPTIONS sip:probe@${to.address}:${to.port} SIP/2.0`,
    `Via: SIP/2.0/${protocol} ${from.address}:${from.port};branch=z9hG4bKprobe${n}x${Date.now()};rport`,
    `From: <sip:tester@${from.address}>;tag=probe${n}`,
    `To: <sip:probe@${to.address}>`,
    `Call-ID: probe-${n}-${Date.now()}@test`,
    `CSeq: 1 OPTIONS`,
    `Max-Forwards: 70`,
    `Content-Length: 0`,
    ``,
    ``,
  ].join("\r\n");
}
