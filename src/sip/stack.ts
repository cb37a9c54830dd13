import { newTag, systemClock, type Clock } from "../lib/index.ts";
import { createResponse, type HeaderField, type SipRequest, type SipResponse } from "./message/index.ts";
import { createTransport, type InboundContext, type SipTransport, type TransportOptions } from "./transport/index.ts";
import {
  createTransactionLayer,
  type AckHandler,
  type ServerTransaction,
  type TransactionLayer,
  type TransactionTimerOptions,
} from "./transaction/index.ts";
import { checkRequest, unhandledResponse, type UasCapabilities } from "./default-responses.ts";
import { silentLogger, type SipLogger } from "./logger.ts";
import { bump, countingTap, createStackCounters, type StackCounters } from "./stack-counters.ts";

/** A request handler registered for one method; it owns the server transaction from then on. */
export type MethodHandler = (request: SipRequest, tx: ServerTransaction, context: InboundContext) => void;

/** Everything a SIP stack needs; each field has a default except the listeners. */
export interface SipStackOptions extends Omit<TransportOptions, "clock"> {
  timers?: TransactionTimerOptions;
  clock?: Clock;
  logger?: SipLogger;
  /** Written in Server/User-Agent headers; empty string for none. */
  userAgent?: string;
  /** What we say about ourselves; `allow` grows as handlers are registered. */
  capabilities?: Partial<Omit<UasCapabilities, "allow">> & { allow?: readonly string[] };
}

/** A running SIP stack: transports, transactions and the default user agent server behaviour. */
export interface SipStack {
  readonly transport: SipTransport;
  readonly transactions: TransactionLayer;
  readonly counters: StackCounters;
  readonly clock: Clock;
  /** Serves `method` with handler (replacing any earlier one) and lists it in Allow. */
  handle(method: string, handler: MethodHandler): void;
  /** Sets the handler of ACKs that match no transaction (ACKs for 2xx, which belong to dialogs). */
  onAck(handler: AckHandler): void;
  /** Builds a response to request with our Server header and, for non-100, a To tag when missing. */
  response(request: SipRequest, status: number, reason?: string, headers?: HeaderField[]): SipResponse;
  /** Answers through tx, counting the status. */
  respond(tx: ServerTransaction, response: SipResponse): void;
  /** Current capabilities (Allow, Supported, Accept). */
  capabilities(): UasCapabilities;
  /** Closes transactions and transports. */
  close(): Promise<void>;
}

// INVITE and BYE are always "allowed": with no call handler an INVITE gets 404 (no such target)
// and a BYE 481, which tell a peer more than 405 would.
const BASE_ALLOW = ["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS"];

/** Creates and binds a SIP stack (RFC 3261 transports + transactions) with default request handling. */
export async function createSipStack(options: SipStackOptions): Promise<SipStack> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const userAgent = options.userAgent ?? "Trunkline";
  const counters = createStackCounters();
  const handlers = new Map<string, MethodHandler>();
  const allow = new Set<string>([...BASE_ALLOW, ...(options.capabilities?.allow ?? [])]);
  const supported = [...(options.capabilities?.supported ?? ["replaces", "timer", "path", "outbound"])];
  const accept = [...(options.capabilities?.accept ?? ["application/sdp"])];

  const transport = await createTransport({ ...options, clock, tap: countingTap(counters, options.tap) });
  const transactions = createTransactionLayer({
    transport,
    clock,
    ...(options.timers ? { timers: options.timers } : {}),
    onTimeout: (side, method) => bump(counters.timeouts, `${side} ${method}`),
  });

  // Read for every request (checkRequest): made once, and again only after handle() adds a method.
  let known: UasCapabilities | null = null;
  const capabilities = (): UasCapabilities => (known ??= { allow: [...allow], supported, accept });

  const response = (request: SipRequest, status: number, reason?: string, headers: HeaderField[] = []): SipResponse => {
    const needsTag = status > 100 && request.to.params["tag"] === undefined;
    const all = userAgent === "" ? headers : [...headers, { name: "Server", value: userAgent }];
    return createResponse(request, status, reason, { headers: all, ...(needsTag ? { toTag: newTag() } : {}) });
  };

  const respond = (tx: ServerTransaction, res: SipResponse): void => {
    bump(counters.responsesOut, res.status);
    tx.respond(res);
  };

  transactions.onRequest((request, tx, context) => {
    bump(counters.requestsIn, request.method);
    const refusal = checkRequest(request, capabilities());
    if (refusal !== null) {
      respond(tx, response(request, refusal.status, refusal.reason, refusal.headers));
      return;
    }
    const handler = handlers.get(request.method);
    if (handler !== undefined) {
      try {
        handler(request, tx, context);
      } catch (error) {
        // A handler bug must not leave the client retransmitting into a void: answer 500 and log it.
        logger.error({ err: error, callId: request.callId, method: request.method }, "request handler threw");
        if (tx.lastResponse === null || tx.lastResponse.status < 200) respond(tx, response(request, 500));
      }
      return;
    }
    const fallback = unhandledResponse(request, capabilities());
    if (fallback !== null) respond(tx, response(request, fallback.status, fallback.reason, fallback.headers));
  });

  let ackHandler: AckHandler | null = null;
  transactions.onAck((ack, context) => {
    bump(counters.requestsIn, "ACK");
    // ACKs for 2xx belong to dialogs; with no dialog layer above they are absorbed (RFC 3261 17.2.3).
    if (ackHandler === null) bump(counters.dropped, "ACK_NO_DIALOG");
    else ackHandler(ack, context);
  });

  transactions.onStrayResponse((res, context) => {
    bump(counters.dropped, "STRAY_RESPONSE");
    logger.debug({ callId: res.callId, status: res.status, remote: context.remote }, "response matched no transaction");
  });

  transport.onDrop((reason, context) => {
    bump(counters.dropped, reason.code);
    if (reason.code === "PARSE_ERROR") {
      if (reason.answered) counters.malformedAnswered++;
      logger.info(
        { remote: context.remote, protocol: context.protocol, parseError: reason.error.code, header: reason.error.header, answered: reason.answered },
        "malformed message",
      );
    } else if (reason.code === "SCREENED") {
      // A flood is screened here by the thousand: count every one, log at debug only.
      bump(counters.dropped, `SCREENED_${reason.rule.toUpperCase()}`);
      logger.debug({ remote: context.remote, protocol: context.protocol, rule: reason.rule }, "request screened");
    } else {
      logger.info({ remote: context.remote, protocol: context.protocol, reason: reason.code }, "message dropped");
    }
  });

  return {
    transport,
    transactions,
    counters,
    clock,
    handle(method, handler) {
      handlers.set(method.toUpperCase(), handler);
      allow.add(method.toUpperCase());
      known = null;
    },
    onAck(handler) {
      ackHandler = handler;
    },
    response,
    respond,
    capabilities,
    async close() {
      transactions.close();
      await transport.close();
    },
  };
}
