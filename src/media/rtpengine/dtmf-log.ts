// The DTMF events rtpengine reports when started with `--dtmf-log-dest=IP:PORT`: one UDP datagram
// per detected RFC 4733 digit, a JSON object such as
//   {"callid":"c1","source_tag":"a","tags":["a","b1"],"type":"DTMF","timestamp":1795508390,
//    "source_ip":"127.0.0.1","event":5,"duration":80,"volume":10}
// (checked against rtpengine 10.5). The ng protocol has no such event, so this socket is how a
// digit sent as telephone-event reaches a leg that takes DTMF as SIP INFO.
import { createSocket, type Socket } from "node:dgram";
import { isIP } from "node:net";
import { dtmfDigit } from "../dtmf-event.ts";

/** One digit rtpengine saw in a call's media. */
export interface RtpengineDtmfEvent {
  /** The ng call-id of the call. */
  readonly callId: string;
  /** The ng tag of the side the digit came from. */
  readonly sourceTag: string;
  /** '0'-'9', '*', '#', 'A'-'D' or '!' (flash). */
  readonly digit: string;
  readonly durationMs: number;
}

// A DTMF log line is a few hundred bytes; anything much larger is not one.
const MAX_DATAGRAM_BYTES = 4096;

/** Reads one DTMF log datagram; undefined when it is not a DTMF event we can use. */
export function parseRtpengineDtmfLog(data: Buffer): RtpengineDtmfEvent | undefined {
  if (data.length > MAX_DATAGRAM_BYTES) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(data.toString("utf8"));
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (v["type"] !== undefined && v["type"] !== "DTMF") return undefined;
  const { callid, source_tag: sourceTag, event, duration } = v;
  if (typeof callid !== "string" || callid === "" || typeof sourceTag !== "string" || typeof event !== "number" || !Number.isInteger(event)) return undefined;
  const digit = dtmfDigit(event);
  if (digit === undefined) return undefined;
  const durationMs = typeof duration === "number" && Number.isFinite(duration) && duration > 0 ? Math.round(duration) : 100;
  return { callId: callid, sourceTag, digit, durationMs };
}

/** Options of the DTMF log listener. */
export interface RtpengineDtmfLogOptions {
  /** Where to listen (rtpengine's --dtmf-log-dest). */
  readonly address: string;
  readonly port: number;
  /** Only datagrams from this address (rtpengine's) are read; others are counted and dropped. */
  readonly from: string;
  readonly onEvent: (event: RtpengineDtmfEvent) => void;
  /** A datagram that was dropped: from another address, or not a DTMF event. */
  readonly onDropped?: (reason: "foreign-source" | "unreadable", source: string) => void;
  /** A socket error after binding (the socket stays open). */
  readonly onError?: (error: Error) => void;
}

/** A bound DTMF log socket. */
export interface RtpengineDtmfLog {
  readonly port: number;
  close(): Promise<void>;
}

/** Binds the socket rtpengine sends its DTMF log to; rejects when the address cannot be bound. */
export function listenRtpengineDtmfLog(options: RtpengineDtmfLogOptions): Promise<RtpengineDtmfLog> {
  const socket: Socket = createSocket(isIP(options.address) === 6 ? "udp6" : "udp4");
  const from = options.from.replace(/^::ffff:/, "");
  socket.on("message", (data, rinfo) => {
    const source = rinfo.address.replace(/^::ffff:/, "");
    if (source !== from) {
      options.onDropped?.("foreign-source", source);
      return;
    }
    const event = parseRtpengineDtmfLog(data);
    if (event === undefined) options.onDropped?.("unreadable", source);
    else options.onEvent(event);
  });
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(options.port, options.address, () => {
      socket.off("error", reject);
      socket.on("error", (error) => options.onError?.(error));
      resolve({
        port: socket.address().port,
        close: () => new Promise<void>((done) => socket.close(() => done())),
      });
    });
  });
}
