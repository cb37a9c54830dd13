import type { ParseError, SipMessage, SipRequest, SipResponse } from "../message/index.ts";

/** Transports Trunkline speaks. */
export type TransportProtocol = "UDP" | "TCP" | "TLS";

/** A numeric IP address (IPv6 without brackets) and a port. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** Where a message came from, handed up with every received message. */
export interface InboundContext {
  readonly protocol: TransportProtocol;
  readonly remote: Endpoint;
  readonly local: Endpoint;
  /** Set for TCP/TLS: the connection the message arrived on, so responses and in-dialog requests can reuse it. */
  readonly connectionId: string | null;
  /** Monotonic receive time (clock.now()). */
  readonly receivedAt: number;
}

/** Where to send a request: a resolved next hop (RFC 3263 output) and optionally a connection to reuse. */
export interface SendTarget {
  readonly protocol: TransportProtocol;
  readonly remote: Endpoint;
  /** Reuse this connection when it is still open (RFC 5923 style alias). */
  readonly connectionId?: string | null;
  /** Host name for TLS SNI and certificate verification; defaults to the remote address. */
  readonly serverName?: string;
}

/** Why the transport dropped something; reported for counting, never thrown. */
export type DropReason =
  | { readonly code: "PARSE_ERROR"; readonly error: ParseError; readonly answered: boolean }
  | { readonly code: "TOO_LARGE" }
  | { readonly code: "CONNECTION_LIMIT" }
  | { readonly code: "NO_ROUTE_FOR_RESPONSE" };

/** Stable transport error codes (thrown or rejected with `code` set; callers branch on it). */
export type TransportErrorCode = "ERR_TRANSPORT_CONNECT" | "ERR_TRANSPORT_SEND" | "ERR_TRANSPORT_NO_LISTENER" | "ERR_TRANSPORT_CLOSED";

/** An operational transport failure: a stable code and the underlying cause. */
export class TransportError extends Error {
  constructor(
    readonly code: TransportErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "TransportError";
  }
}

/**
 * What the transaction layer needs from the transport layer (RFC 3261 section 18).
 * The transaction layer registers itself as the message handler; the transport never calls up otherwise.
 */
export interface SipTransport {
  /**
   * Sends a request. The top Via must exist with its branch; the transport fills in its transport
   * token, sent-by host and port (and `rport`) for the protocol it actually uses, which may be TCP
   * instead of UDP for a request over 1300 bytes (RFC 3261 18.1.1). Resolves with what was used;
   * rejects with a TransportError when the bytes could not be handed to the network.
   */
  sendRequest(request: SipRequest, target: SendTarget): Promise<SendTarget>;
  /**
   * Sends a response by RFC 3261 18.2.2 and RFC 3581: over the connection it came on when still open,
   * else to the top Via's received/rport (or sent-by). `context` is the request's inbound context.
   */
  sendResponse(response: SipResponse, context: InboundContext | null): Promise<void>;
  /** Sets the single handler for every well-formed message received. */
  onMessage(handler: (message: SipMessage, context: InboundContext) => void): void;
  /** Sets the handler told about every dropped or refused message (for counters and logs). */
  onDrop(handler: (reason: DropReason, context: InboundContext) => void): void;
  /** Addresses actually bound (useful with port 0), per protocol. */
  listening(): ReadonlyArray<{ readonly protocol: TransportProtocol; readonly endpoint: Endpoint }>;
  /** Closes every listener and connection. */
  close(): Promise<void>;
}
