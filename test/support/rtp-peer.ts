// Helpers for the relay's socket tests: a UDP endpoint standing in for a phone or a gateway,
// and RTP/RTCP datagrams built by hand. Test-only: kept out of src so the build does not ship it.
import { type RemoteInfo, type Socket, createSocket } from "node:dgram";
import { setTimeout as sleep } from "node:timers/promises";
import { type SessionDescription, parseSdp } from "../../src/sdp/index.ts";

/** A datagram and where it came from. */
export interface Received {
  readonly msg: Buffer;
  readonly from: RemoteInfo;
}

/** A UDP endpoint on loopback that records what it receives. */
export interface TestPeer {
  readonly address: string;
  readonly port: number;
  send(msg: Uint8Array, port: number, address?: string): Promise<void>;
  /** The next datagram (queued or future); rejects after timeoutMs. */
  next(timeoutMs?: number): Promise<Received>;
  /** Datagrams received and not yet taken with next(). */
  pending(): number;
  close(): Promise<void>;
}

/** Binds a test endpoint on an ephemeral port (or the given one). */
export async function testPeer(address = "127.0.0.1", port = 0): Promise<TestPeer> {
  const socket: Socket = createSocket(address.includes(":") ? "udp6" : "udp4");
  const queue: Received[] = [];
  let waiter: ((r: Received) => void) | undefined;
  socket.on("message", (msg, from) => {
    const r = { msg, from };
    if (waiter !== undefined) {
      const w = waiter;
      waiter = undefined;
      w(r);
    } else queue.push(r);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(port, address, () => resolve());
  });
  const bound = socket.address().port;
  return {
    address,
    port: bound,
    send: (msg, toPort, toAddress = address) =>
      new Promise((resolve, reject) => socket.send(msg, toPort, toAddress, (e) => (e ? reject(e) : resolve()))),
    next(timeoutMs = 1000) {
      const queued = queue.shift();
      if (queued !== undefined) return Promise.resolve(queued);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          waiter = undefined;
          reject(new Error(`no datagram at ${address}:${bound} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiter = (r) => {
          clearTimeout(t);
          resolve(r);
        };
      });
    },
    pending: () => queue.length,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

/** An RTP packet (RFC 3550 5.1) with a payload of the given size filled with one octet. */
export function rtp(seq: number, options: { ssrc?: number; timestamp?: number; pt?: number; size?: number; fill?: number } = {}): Buffer {
  const size = options.size ?? 172;
  const b = Buffer.alloc(size, options.fill ?? 0xd5);
  b[0] = 0x80; // V=2, no padding, no extension, CC=0
  b[1] = options.pt ?? 0; // M=0, PT=PCMU
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE((options.timestamp ?? seq * 160) >>> 0, 4);
  b.writeUInt32BE((options.ssrc ?? 0x1234abcd) >>> 0, 8);
  return b;
}

/**
 * Sends one digit as RFC 4733 telephone-event packets (payload type 101) from `socket`, 20 ms
 * apart: `updates` packets growing in duration, the first with the marker bit, then three end
 * packets (2.5.1.4), all with the event's one timestamp.
 */
export async function sendDigit(socket: Socket, port: number, digit: number, o: { firstSeq: number; timestamp: number; ssrc: number; updates: number }): Promise<void> {
  const total = o.updates + 3;
  for (let i = 0; i < total; i++) {
    const b = Buffer.alloc(16);
    b[0] = 0x80;
    b[1] = (i === 0 ? 0x80 : 0) | 101;
    b.writeUInt16BE((o.firstSeq + i) & 0xffff, 2);
    b.writeUInt32BE(o.timestamp >>> 0, 4);
    b.writeUInt32BE(o.ssrc >>> 0, 8);
    b[12] = digit;
    b[13] = (i >= o.updates ? 0x80 : 0) | 10;
    b.writeUInt16BE(Math.min(i + 1, o.updates + 1) * 160, 14);
    socket.send(b, port, "127.0.0.1");
    await sleep(20);
  }
}

/** An empty RTCP receiver report (RFC 3550 6.4.2): V=2, RC=0, PT=201, length 1 word, SSRC. */
export function rtcpRr(ssrc = 0x1234abcd): Buffer {
  const b = Buffer.alloc(8);
  b[0] = 0x80;
  b[1] = 201;
  b.writeUInt16BE(1, 2);
  b.writeUInt32BE(ssrc >>> 0, 4);
  return b;
}

// The relay tests import until from here, beside the peer they wait on.
export { until } from "./until.ts";

/** Waits so that a datagram that should not arrive has had its chance to. */
export function settle(ms = 80): Promise<void> {
  return sleep(ms).then(() => undefined);
}

/** RFC 4733 telephone-event on payload type 101, digits 0-15, as SDP attribute lines. */
export const TE101: readonly string[] = ["a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15"];

/** A one-stream audio SDP from 127.0.0.1 at `port` offering `formats`, with `extra` attribute lines. */
export function audioSdp(port: number, formats: string, extra: readonly string[] = [], protocol = "RTP/AVP"): SessionDescription {
  const text = ["v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0", `m=audio ${port} ${protocol} ${formats}`, ...extra, ""].join("\r\n");
  const parsed = parseSdp(text);
  if (!parsed.ok) throw new Error(`bad test SDP: ${parsed.error.code}`);
  return parsed.value;
}
