import type { Refusal, RefusalKind } from "./types.ts";

interface RefusalShape {
  readonly status: number;
  readonly reasonPhrase: string;
  readonly warning: string;
  readonly q850Cause: number;
}

// Causes are chosen for what happened, not derived from the status through the RFC 3398
// table: a full trunk is "no circuit available" (34) even though a 503 maps back to 41.
const SHAPES: Readonly<Record<RefusalKind, RefusalShape>> = {
  "unknown-source": { status: 403, reasonPhrase: "Forbidden", warning: "Source address not provisioned", q850Cause: 21 },
  "bad-credentials": { status: 403, reasonPhrase: "Forbidden", warning: "Authentication failed", q850Cause: 21 },
  "channel-limit": { status: 503, reasonPhrase: "Service Unavailable", warning: "Channel limit reached", q850Cause: 34 },
  "cps-limit": { status: 503, reasonPhrase: "Service Unavailable", warning: "Call rate limit reached", q850Cause: 42 },
  "destination-not-allowed": { status: 403, reasonPhrase: "Forbidden", warning: "Destination not allowed", q850Cause: 21 },
  "caller-id-not-allowed": { status: 403, reasonPhrase: "Forbidden", warning: "Caller ID not allowed", q850Cause: 21 },
  "invalid-number": { status: 484, reasonPhrase: "Address Incomplete", warning: "Invalid number", q850Cause: 28 },
  "no-route": { status: 404, reasonPhrase: "Not Found", warning: "No route to destination", q850Cause: 3 },
  "route-unavailable": { status: 503, reasonPhrase: "Service Unavailable", warning: "No gateway available", q850Cause: 38 },
  "not-registered": { status: 480, reasonPhrase: "Temporarily Unavailable", warning: "Destination not registered", q850Cause: 20 },
  "unknown-did": { status: 404, reasonPhrase: "Not Found", warning: "Number not assigned", q850Cause: 1 },
};

/** Options that change the answer of a refusal: 486 instead of 503 for full trunks, Retry-After. */
export interface RefusalOptions {
  readonly status?: 503 | 486;
  readonly retryAfterSeconds?: number;
}

/** Builds the refusal of a kind, with the operator-facing reason. */
export function refusal(kind: RefusalKind, reason: string, options: RefusalOptions = {}): Refusal {
  const shape = SHAPES[kind];
  if (options.status === 486) {
    return { kind, status: 486, reasonPhrase: "Busy Here", warning: shape.warning, q850Cause: 17, reason };
  }
  const base: Refusal = { kind, ...shape, reason };
  // Retry-After only makes sense on 503 (RFC 3261 21.5.4): the peer may come back later.
  return options.retryAfterSeconds !== undefined && shape.status === 503
    ? { ...base, retryAfterSeconds: options.retryAfterSeconds }
    : base;
}
