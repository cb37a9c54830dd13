/** Counts of what the stack saw and did, read by the metrics layer above (it cannot import it). */
export interface StackCounters {
  /** Requests received, by method. */
  readonly requestsIn: Map<string, number>;
  /** Responses sent by the stack's default handling and handlers, by status code. */
  readonly responsesOut: Map<number, number>;
  /** Messages dropped, by reason code (PARSE_ERROR, TOO_LARGE, CONNECTION_LIMIT, STRAY_RESPONSE, ...). */
  readonly dropped: Map<string, number>;
  /** Malformed requests answered with a stateless 400/505. */
  malformedAnswered: number;
}

/** A fresh set of zeroed counters. */
export function createStackCounters(): StackCounters {
  return { requestsIn: new Map(), responsesOut: new Map(), dropped: new Map(), malformedAnswered: 0 };
}

/** Adds one to a keyed counter. */
export function bump<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}
