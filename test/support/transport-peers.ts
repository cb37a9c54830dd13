// Helpers for the SIP transport tests: raw loopback peers that speak SIP as text, so the transport is
// checked against bytes on real sockets rather than against itself.
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { connect as tcpConnect, createServer, type Server, type Socket } from "node:net";
import { once } from "node:events";
import { createRequest, type SipMessage, type SipRequest } from "../../src/sip/message/index.ts";
import type { DropReason, InboundContext, SipTransport } from "../../src/sip/transport/index.ts";
import { sipStreamSplitter } from "./raw-sip.ts";
import { poll, until } from "./until.ts";

/** A raw SIP request as text; `via` is the whole Via value. */
export function rawRequest(method: string, via: string, options: { callId?: string; body?: string; uri?: string } = {}): string {
  const body = options.body ?? "";
  return (
    `${method} ${options.uri ?? "sip:bob@127.0.0.1"} SIP/2.0\r\n` +
    `Via: ${via}\r\n` +
    `Max-Forwards: 70\r\n` +
    `From: <sip:alice@example.com>;tag=a1\r\n` +
    `To: <sip:bob@example.com>\r\n` +
    `Call-ID: ${options.callId ?? "call-" + Math.random().toString(36).slice(2)}\r\n` +
    `CSeq: 1 ${method}\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
    body
  );
}

/** A request ready for sendRequest: a top Via with a branch, the rest to be filled by the transport. */
export function outgoingRequest(method: string, bodySize = 0): SipRequest {
  return createRequest({
    method,
    uri: { scheme: "sip", user: "bob", password: null, host: "127.0.0.1", port: null, params: {}, headers: [] },
    from: { displayName: null, uri: { scheme: "sip", user: "alice", password: null, host: "example.com", port: null, params: {}, headers: [] }, params: { tag: "t1" } },
    to: { displayName: null, uri: { scheme: "sip", user: "bob", password: null, host: "example.com", port: null, params: {}, headers: [] }, params: {} },
    callId: "out-" + Math.random().toString(36).slice(2),
    cseq: 1,
    via: [{ transport: "UDP", host: "invalid", port: null, params: { branch: "z9hG4bK" + Math.random().toString(36).slice(2) } }],
    ...(bodySize > 0 ? { body: Buffer.alloc(bodySize, "x"), contentType: "text/plain" } : {}),
  });
}

/** Queues what the transport hands up so a test can await the next message or drop. */
export function collect(transport: SipTransport) {
  const messages: Array<{ message: SipMessage; context: InboundContext }> = [];
  const drops: Array<{ reason: DropReason; context: InboundContext }> = [];
  transport.onMessage((message, context) => messages.push({ message, context }));
  transport.onDrop((reason, context) => drops.push({ reason, context }));
  let readMessages = 0;
  let readDrops = 0;
  return {
    messages,
    drops,
    /** Resolves with the n-th message (1-based), by default the first one not yet read. */
    async message(n = readMessages + 1) {
      readMessages = Math.max(readMessages, n);
      await until(() => messages.length >= n, 3000, `message #${n}`);
      const m = messages[n - 1];
      if (m === undefined) throw new Error("unreachable");
      return m;
    },
    async drop(n = readDrops + 1) {
      readDrops = Math.max(readDrops, n);
      await until(() => drops.length >= n, 3000, `drop #${n}`);
      const d = drops[n - 1];
      if (d === undefined) throw new Error("unreachable");
      return d;
    },
  };
}

/** A UDP peer on loopback that records datagrams. */
export async function udpPeer(address: string) {
  const socket: UdpSocket = createSocket(address.includes(":") ? "udp6" : "udp4");
  const received: Buffer[] = [];
  let read = 0;
  socket.on("message", (data) => received.push(data));
  socket.bind(0, address);
  await once(socket, "listening");
  return {
    port: socket.address().port,
    received,
    send(text: string | Buffer, port: number, to = address): void {
      socket.send(typeof text === "string" ? Buffer.from(text) : text, port, to);
    },
    async next(n = read + 1, ms = 3000): Promise<string> {
      read = Math.max(read, n);
      await until(() => received.length >= n, ms, `datagram #${n}`);
      return (received[n - 1] ?? Buffer.alloc(0)).toString();
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** Raw TCP stream reader: splits what arrives into SIP messages by Content-Length (long or compact form). */
export function streamReader(socket: Socket) {
  const split = sipStreamSplitter();
  let raw = "";
  let read = 0;
  const messages: string[] = [];
  let closed = false;
  socket.on("data", (chunk: Buffer) => {
    raw += chunk.toString("latin1");
    for (const message of split(chunk)) messages.push(message.toString("latin1"));
  });
  socket.on("close", () => {
    closed = true;
  });
  socket.on("error", () => {
    closed = true;
  });
  return {
    messages,
    /** Everything received, as text. */
    get raw() {
      return raw;
    },
    get closed() {
      return closed;
    },
    async next(n = read + 1, ms = 3000): Promise<string> {
      read = Math.max(read, n);
      await until(() => messages.length >= n, ms, `stream message #${n}`);
      return messages[n - 1] ?? "";
    },
    async closedWithin(ms = 3000): Promise<boolean> {
      return poll(() => closed, ms);
    },
  };
}

/** Opens a raw TCP connection to the transport. */
export async function tcpClient(address: string, port: number) {
  const socket = tcpConnect({ host: address, port });
  await once(socket, "connect");
  return { socket, reader: streamReader(socket) };
}

/** A raw TCP server peer that records connections and what arrives on them. */
export async function tcpServerPeer(address: string, port = 0) {
  const connections: Array<{ socket: Socket; reader: ReturnType<typeof streamReader> }> = [];
  const server: Server = createServer((socket) => connections.push({ socket, reader: streamReader(socket) }));
  server.listen(port, address);
  await once(server, "listening");
  const bound = server.address();
  if (bound === null || typeof bound === "string") throw new Error("no address");
  return {
    port: bound.port,
    connections,
    async close(): Promise<void> {
      for (const c of connections) c.socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Sleeps a little (only where the absence of an event is being checked). */
export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
