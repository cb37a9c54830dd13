import type { Clock } from "../../lib/index.ts";
import type { SipRequest, SipResponse } from "../message/index.ts";
import type { InboundContext, SendTarget, SipTransport, TransportError } from "../transport/index.ts";

/** RFC 3261 17.1.1.1 / Table 4 base values, in milliseconds; each layer has its own copy. */
export interface TransactionTimerOptions {
  /** RTT estimate (default 500 ms). */
  t1?: number;
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses (default 4000 ms). */
  t2?: number;
  /** Maximum time a message stays in the network (default 5000 ms). */
  t4?: number;
  /**
   * RFC 3261 16.6 Timer C for INVITE client transactions in Proceeding: when it fires the layer
   * CANCELs the INVITE. Default 180000 ms (the RFC asks for more than 3 minutes); null disables it.
   */
  timerC?: number | null;
  /** How long the INVITE server transaction waits for the TU before sending 100 Trying itself (default 200 ms, RFC 3261 17.2.1). */
  trying?: number;
}

/** Options of one transaction layer. */
export interface TransactionLayerOptions {
  transport: SipTransport;
  /** Defaults to systemClock. */
  clock?: Clock;
  timers?: TransactionTimerOptions;
  /** Told of every transaction that timed out (Timer B/F on the client side, Timer H on the server side), for counters. */
  onTimeout?: (side: "client" | "server", method: string) => void;
}

/** The resolved timer values of one layer. */
export interface TimerValues {
  readonly t1: number;
  readonly t2: number;
  readonly t4: number;
  readonly timerC: number | null;
  readonly trying: number;
}

export type InviteClientState = "Calling" | "Proceeding" | "Completed" | "Accepted" | "Terminated";
export type NonInviteClientState = "Trying" | "Proceeding" | "Completed" | "Terminated";
export type InviteServerState = "Proceeding" | "Completed" | "Confirmed" | "Accepted" | "Terminated";
export type NonInviteServerState = "Trying" | "Proceeding" | "Completed" | "Terminated";

/**
 * Where a final response handed to the client TU came from: the network, or synthesized by the
 * transaction for Timer B/F expiry (408, RFC 3261 17.1.1.2) or a transport failure (503, 8.1.3.1).
 */
export type ResponseSource = "network" | "timeout" | "transport";

/** Callbacks of the transaction user for one client transaction. */
export interface ClientTransactionUser {
  /** 1xx responses (every one received while not yet final). */
  onProvisional?(response: SipResponse, tx: ClientTransaction): void;
  /** The first final response, real or synthesized; called exactly once unless the layer is closed. */
  onFinal(response: SipResponse, tx: ClientTransaction, source: ResponseSource): void;
  /**
   * RFC 6026 Accepted state: further 2xx responses to an INVITE (retransmissions, or other forks
   * with another To tag). The TU acknowledges them; the transaction never does.
   */
  onAdditional2xx?(response: SipResponse, tx: ClientTransaction): void;
}

/** A client transaction as seen by its TU. */
export interface ClientTransaction {
  /** The top Via branch (shared with a CANCEL of this transaction). */
  readonly branch: string;
  readonly method: string;
  readonly isInvite: boolean;
  /** The request; null once an INVITE is Accepted (RFC 6026), when nothing is sent from it any more. */
  readonly request: SipRequest | null;
  readonly state: InviteClientState | NonInviteClientState;
  /** The target the transport actually used for the last send (protocol may have changed to TCP). */
  readonly target: SendTarget;
  /** The transport failure behind a synthesized 503, if any. */
  readonly transportError: TransportError | null;
  /** True once a CANCEL for this INVITE was requested (by the TU or by Timer C). */
  readonly cancelRequested: boolean;
}

/** Why a server transaction failed: Timer H expired without ACK, or the response could not be sent. */
export type ServerFailure = { readonly code: "timeout" } | { readonly code: "transport"; readonly error: unknown };

/** A server transaction as seen by its TU. */
export interface ServerTransaction {
  readonly branch: string;
  readonly method: string;
  readonly isInvite: boolean;
  /** The request; null once an INVITE is Accepted (RFC 6026), when nothing needs it any more. */
  readonly request: SipRequest | null;
  readonly context: InboundContext;
  readonly state: InviteServerState | NonInviteServerState;
  /**
   * The last response passed to the transport, replayed on request retransmissions. Null for an
   * INVITE transaction in Accepted (RFC 6026), which replays nothing: the TU keeps its 2xx.
   */
  readonly lastResponse: SipResponse | null;
  /** True once a matching CANCEL arrived (RFC 3261 9.2). */
  readonly cancelled: boolean;
  /** Sends a response through the state machine; responses not allowed in the current state are ignored. */
  respond(response: SipResponse): void;
  /**
   * Told when a CANCEL matched this INVITE while it was still Proceeding; the layer has already
   * answered the CANCEL with 200. The TU SHOULD answer the INVITE with 487. When no handler is set
   * the layer sends the 487 itself.
   */
  oncancel: ((cancel: SipRequest, tx: ServerTransaction) => void) | null;
  /** Told of a transaction failure (RFC 3261 17.2.1 Timer H, 17.2.4 transport error). */
  onfailure: ((failure: ServerFailure, tx: ServerTransaction) => void) | null;
}

/** Handler for a request that starts a new server transaction (never ACK or CANCEL). */
export type RequestHandler = (request: SipRequest, tx: ServerTransaction, context: InboundContext) => void;
/** Handler for an ACK that matched no transaction in Completed/Confirmed: ACKs for 2xx, RFC 6026. */
export type AckHandler = (ack: SipRequest, context: InboundContext) => void;
/** Handler for a response that matched no client transaction (2xx retransmissions after Timer M, strays). */
export type StrayResponseHandler = (response: SipResponse, context: InboundContext) => void;

/** Options of layer.cancel(). */
export interface CancelOptions {
  /** Value of a Reason header (RFC 3326), e.g. `SIP;cause=200;text="Call completed elsewhere"`. */
  reason?: string;
  /** Told of the CANCEL's own final response (200, 481, or a synthesized 408/503). */
  onFinal?: (response: SipResponse, source: ResponseSource) => void;
}

/** Counts of live transactions, for leak checks and metrics. */
export interface TransactionCounts {
  readonly client: number;
  readonly server: number;
  readonly total: number;
}

/** The transaction layer (RFC 3261 section 17): the only handler of its transport's messages. */
export interface TransactionLayer {
  /** Sets the handler for new requests (not ACK, not CANCEL: the layer answers CANCEL itself). */
  onRequest(handler: RequestHandler): void;
  /** Sets the handler for ACKs that belong to the TU (ACKs for 2xx). */
  onAck(handler: AckHandler): void;
  /** Sets the handler for responses that match no client transaction. */
  onStrayResponse(handler: StrayResponseHandler): void;
  /** Starts a client transaction; sets the top Via branch when missing. ACK is refused: use sendAck. */
  sendRequest(request: SipRequest, target: SendTarget, user: ClientTransactionUser): ClientTransaction;
  /**
   * CANCELs an INVITE client transaction (RFC 3261 9.1). The CANCEL is queued until a provisional
   * response has arrived. Returns false when there is nothing left to cancel.
   */
  cancel(tx: ClientTransaction, options?: CancelOptions): boolean;
  /** Sends an ACK for a 2xx outside any transaction (RFC 3261 13.2.2.4); sets a fresh branch when missing. */
  sendAck(ack: SipRequest, target: SendTarget): Promise<SendTarget>;
  /** Sends a response statelessly (no transaction), e.g. a 400 for a request no transaction should hold. */
  sendStatelessResponse(response: SipResponse, context: InboundContext): Promise<void>;
  /** Live transaction counts. */
  size(): TransactionCounts;
  /** The resolved timer values. */
  readonly timers: TimerValues;
  /** Cancels every timer and forgets every transaction; callbacks are not called afterwards. */
  close(): void;
}
