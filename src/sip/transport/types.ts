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
  /** Set for TLS: what the peer's certificate proved, for identification by mutual TLS. */
  readonly tls?: TlsPeer;
}

/** The peer certificate of a TLS connection, as verified during the handshake. */
export interface TlsPeer {
  /** The peer presented a certificate that chains to a trusted CA and is valid now. */
  readonly verified: boolean;
  /** Subject common name of the presented certificate; null when none was presented. */
  readonly subject: string | null;
  /** subjectAltName entries as OpenSSL prints them, e.g. `DNS:pbx.example.com`, `IP Address:192.0.2.1`. */
  readonly altNames: readonly string[];
  /** Why it is not verified (an OpenSSL code such as `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, or `NO_CERTIFICATE`); null when verified. */
  readonly error: string | null;
}

/** Something TLS did that the operator must hear of; every failure is a security event above the stack. */
export type TlsEvent =
  /** A handshake failed: inbound (old protocol version, no shared cipher, bad client certificate) or outbound (server certificate not trusted or not for the name). */
  | { readonly kind: "handshake-failed"; readonly direction: "inbound" | "outbound"; readonly remote: Endpoint; readonly serverName?: string; readonly code: string; readonly reason: string }
  /** New certificate and key files were loaded; the next handshake uses them. */
  | { readonly kind: "reloaded"; readonly certFile: string; readonly subject: string | null; readonly validTo: string | null }
  /** Changed files could not be loaded (mismatched key, not PEM); the previous pair stays in use. */
  | { readonly kind: "reload-failed"; readonly certFile: string; readonly code: string; readonly reason: string };

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
  | "ERR_TRANSPORT_HANDLER"
  | "ERR_TRANSPORT_TLS"
  /** A stream peer too slow to complete a message (closed as a slow-sender attack). */
  | "ERR_TRANSPORT_SLOW";

/** An operational transport failure: a stable code and the underlying cause. */
export class TransportError extends Error {
  constructor(
    readonly code: TransportErrorCode,
    message: string,
    options?: { cause?: unknown; remote?: Endpoint },
  ) {
    super(message, options);
    this.name = "TransportError";
    this.remote = options?.remote;
  }

  /** The peer the failure concerns, when there is one (security events name it as the source). */
  readonly remote: Endpoint | undefined;
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
  /** How UDP listeners are driven and, when not natively, why; undefined without a UDP listener. */
  readonly udpIo?: { readonly kind: "native" | "dgram"; readonly reason?: string } | undefined;
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

/** TLS versions we accept; older ones are refused in both directions. */
export type TlsMinVersion = "TLSv1.2" | "TLSv1.3";

/**
 * The default cipher list: the TLS 1.3 suites, then for TLS 1.2 only ECDHE key exchange (forward
 * secrecy) with AEAD ciphers (AES-GCM, ChaCha20-Poly1305), ECDSA before RSA and 256 before 128 bits.
 * No CBC, no static RSA key exchange, no SHA-1 MACs.
 */
export const DEFAULT_TLS_CIPHERS = [
  "TLS_AES_256_GCM_SHA384",
  "TLS_CHACHA20_POLY1305_SHA256",
  "TLS_AES_128_GCM_SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
].join(":");

/** TLS files and policy, shared by the server side and the client side. */
export interface TlsOptions {
  readonly certFile: string;
  readonly keyFile: string;
  /** Trusted CAs for peers' certificates; Node's default roots when absent. */
  readonly caFile?: string;
  /** Server side: ask for and verify a client certificate; handshakes without a trusted one fail. Default false. */
  readonly requireClientCert?: boolean;
  /**
   * Server side: ask every client for a certificate without requiring one, and hand what it proved
   * up in InboundContext.tls, so trunks with mutual TLS can be told apart from the rest. Default false.
   */
  readonly requestClientCert?: boolean;
  /** Client side: verify the server certificate and its name (or IP SAN for an address target). Default true. */
  readonly verifyServer?: boolean;
  /** Lowest protocol version, both directions. Default TLSv1.2. */
  readonly minVersion?: TlsMinVersion;
  /** OpenSSL cipher string, TLS 1.3 suites included; the server's order wins. Default DEFAULT_TLS_CIPHERS. */
  readonly ciphers?: string;
  /** How often the certificate, key and CA files are checked for changes (ms); 0 turns reloading off. Default 5000. */
  readonly reloadCheckMs?: number;
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
  /** A TCP/TLS message must arrive whole within this time from its first byte, or the connection is closed. Default 20000. */
  readonly messageTimeoutMs?: number;
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
  /** Told about TLS handshake failures and certificate reloads. Default: failures go to onError. */
  readonly onTlsEvent?: (event: TlsEvent) => void;
  /** Asked on every new inbound TCP/TLS connection (false: closed at once); told when it closes. */
  readonly connectionGate?: ConnectionGate;
  /**
   * Asked for every UDP datagram before it is parsed: false drops it unparsed and unanswered
   * (a SCREENED drop, rule "banned"), so a banned source's flood costs a lookup, not a parse.
   */
  readonly datagramGate?: (remote: Endpoint) => boolean;
  /**
   * Told about failures that have nobody to reject: socket errors, a handler that threw.
   * Default: process.emitWarning.
   */
  readonly onError?: (error: TransportError) => void;
  /** Shown every well-formed message received and every message sent (per-call capture); absent: no cost. */
  readonly tap?: MessageTap;
  /**
   * How UDP sockets are driven: "native" (native/sip-io: sends leave this thread; start fails
   * when the addon does not load), "dgram" (node:dgram), or "auto" (native when it loads). Default auto.
   */
  readonly udpIo?: "auto" | "native" | "dgram";
}

/**
 * An observer of the SIP bytes crossing the transport, for per-call capture (SIP ladders, HEP).
 * Called synchronously on the hot path with positional arguments, so a tap that ignores a message
 * costs one call and allocates nothing. `data` is the message as on the wire: the received
 * datagram or the bytes written; on TCP/TLS receive, null (the framer keeps no copy), and the tap
 * serializes `message` itself if it wants the bytes. It must not throw and must not keep `message`.
 */
export interface MessageTap {
  observe(direction: "in" | "out", message: SipMessage, data: Buffer | null, protocol: TransportProtocol, local: Endpoint, remote: Endpoint): void;
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
