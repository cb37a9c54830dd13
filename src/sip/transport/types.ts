import type { Clock } from "../../lib/index.ts";
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
  /** Refused by the `screen` hook (silently); `rule` says which rule. */
  | { readonly code: "SCREENED"; readonly rule: string }
  | { readonly code: "NO_ROUTE_FOR_RESPONSE" };

/** Stable transport error codes (thrown or rejected with `code` set; callers branch on it). */
export type TransportErrorCode =
  | "ERR_TRANSPORT_CONNECT"
  | "ERR_TRANSPORT_SEND"
  | "ERR_TRANSPORT_NO_LISTENER"
  | "ERR_TRANSPORT_CLOSED"
  | "ERR_TRANSPORT_BIND"
  | "ERR_TRANSPORT_RESOLVE"
  | "ERR_TRANSPORT_HANDLER";

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

/** One address to listen on. */
export interface ListenOptions {
  readonly protocol: TransportProtocol;
  /** Numeric IPv4 or IPv6 address (IPv6 without brackets); `0.0.0.0` or `::` for all. */
  readonly address: string;
  /** 0 picks a free port; listening() tells which. */
  readonly port: number;
  /** Host (name or address) and port written in Via sent-by instead of the bound ones, e.g. behind static NAT. */
  readonly publicAddress?: { readonly host: string; readonly port?: number };
}

/** TLS files and policy, shared by the server side and the client side. */
export interface TlsOptions {
  readonly certFile: string;
  readonly keyFile: string;
  /** Trusted CAs for peers' certificates; Node's default roots when absent. */
  readonly caFile?: string;
  /** Server side: ask for and verify a client certificate. Default false. */
  readonly requireClientCert?: boolean;
  /** Client side: verify the server certificate and its name. Default true. */
  readonly verifyServer?: boolean;
}

/** Options of createTransport; every limit has a default. */
export interface TransportOptions {
  readonly listen: ReadonlyArray<ListenOptions>;
  readonly tls?: TlsOptions;
  /** Largest message accepted, in bytes. Default 65536. */
  readonly maxMessageSize?: number;
  /** Open TCP/TLS connections, both directions; further ones are refused. Default 10000. */
  readonly maxConnections?: number;
  /** A connection with no traffic for this long is closed. Default 600000 (10 min). */
  readonly idleTimeoutMs?: number;
  /** RFC 3261 18.1.1: requests larger than this go over TCP when a TCP listener exists. Default 1300. */
  readonly udpMtuThreshold?: number;
  /** Timeout for establishing an outbound TCP/TLS connection. Default 10000. */
  readonly connectTimeoutMs?: number;
  readonly clock?: Clock;
  /**
   * Called for every parsed request before it goes up (security screening): `drop` sends nothing
   * (reported as a SCREENED drop), `reject` answers statelessly with `status`. Absent: all pass.
   */
  readonly screen?: InboundScreen;
  /** Asked on every new inbound TCP/TLS connection (false: closed at once); told when it closes. */
  readonly connectionGate?: ConnectionGate;
  /**
   * Told about failures that have nobody to reject: socket errors, a handler that threw.
   * Default: process.emitWarning.
   */
  readonly onError?: (error: TransportError) => void;
}

/** What the screen hook says of one request. */
export type ScreenOutcome =
  | { readonly kind: "pass" }
  | { readonly kind: "drop"; readonly rule: string }
  | { readonly kind: "reject"; readonly status: number; readonly reason: string };

/** A per-request screen (bans, scanners, message shape, rates), decided above the SIP stack. */
export type InboundScreen = (request: SipRequest, context: InboundContext) => ScreenOutcome;

/** Per-source admission of inbound stream connections. */
export interface ConnectionGate {
  accept(remote: Endpoint): boolean;
  release(remote: Endpoint): void;
}
