import type { MessageTap } from "./transport/index.ts";

/** Per direction of the wire: requests by method, responses by status code then CSeq method. */
export interface WireCounts {
  readonly requests: Map<string, number>;
  readonly responses: Map<number, Map<string, number>>;
}

/** Counts of what the stack saw and did, read by the metrics layer above (it cannot import it). */
export interface StackCounters {
  /** Every message on the wire, retransmissions included, as the transport read or wrote it. */
  readonly wire: { readonly in: WireCounts; readonly out: WireCounts };
  /** Requests received, by method. */
  readonly requestsIn: Map<string, number>;
  /** Responses sent by the stack's default handling and handlers, by status code. */
  readonly responsesOut: Map<number, number>;
  /** Messages dropped, by reason code (PARSE_ERROR, TOO_LARGE, CONNECTION_LIMIT, STRAY_RESPONSE, ...). */
  readonly dropped: Map<string, number>;
  /** Malformed requests answered with a stateless 400/505. */
  malformedAnswered: number;
  /** Transactions that timed out, by side and method (`client INVITE`: Timer B, `server INVITE`: Timer H, ...). */
  readonly timeouts: Map<string, number>;
}

/** A fresh set of zeroed counters. */
export function createStackCounters(): StackCounters {
  return {
    wire: { in: { requests: new Map(), responses: new Map() }, out: { requests: new Map(), responses: new Map() } },
    requestsIn: new Map(),
    responsesOut: new Map(),
    dropped: new Map(),
    malformedAnswered: 0,
    timeouts: new Map(),
  };
}

/**
 * A transport tap that counts every message read or written, then shows it to `next` (per-call
 * capture) if there is one. Two map updates per message and no allocation once a key is known.
 */
export function countingTap(counters: StackCounters, next: MessageTap | undefined): MessageTap {
  return {
    observe(direction, message, data, protocol, local, remote) {
      const wire = direction === "in" ? counters.wire.in : counters.wire.out;
      if (message.kind === "request") bump(wire.requests, message.method);
      else {
        let byMethod = wire.responses.get(message.status);
        if (byMethod === undefined) wire.responses.set(message.status, (byMethod = new Map()));
        bump(byMethod, message.cseq.method);
      }
      next?.observe(direction, message, data, protocol, local, remote);
    },
  };
}

/** Adds one to a keyed counter. */
export function bump<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}
