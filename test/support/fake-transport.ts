// A fake transport and message builders for the transaction state-machine tests (test-only code,
// kept out of src so `npm run build` does not ship it).
import { withParam } from "../../src/sip/message/index.ts";
import type { NameAddr, SipMessage, SipRequest, SipResponse, SipUri } from "../../src/sip/message/index.ts";
import {
  TransportError,
  type DropReason,
  type Endpoint,
  type InboundContext,
  type SendTarget,
  type SipTransport,
  type TransportProtocol,
} from "../../src/sip/transport/index.ts";

/** A recorded send of the fake transport. */
export type SentMessage =
  | { readonly kind: "request"; readonly message: SipRequest; readonly target: SendTarget }
  | { readonly kind: "response"; readonly message: SipResponse; readonly context: InboundContext | null };

/**
 * An in-memory SipTransport for state-machine tests: records every send, lets the test inject
 * received messages, and can be told to fail sends.
 */
export class FakeTransport implements SipTransport {
  readonly sent: SentMessage[] = [];
  failRequests = false;
  failResponses = false;
  /** When set, sendRequest resolves with this protocol instead of the requested one (UDP to TCP switch). */
  resolveProtocol: TransportProtocol | null = null;
  private handler: ((message: SipMessage, context: InboundContext) => void) | null = null;

  sendRequest(request: SipRequest, target: SendTarget): Promise<SendTarget> {
    this.sent.push({ kind: "request", message: request, target });
    if (this.failRequests) return Promise.reject(new TransportError("ERR_TRANSPORT_CONNECT", "connection refused"));
    return Promise.resolve(this.resolveProtocol === null ? target : { ...target, protocol: this.resolveProtocol });
  }

  sendResponse(response: SipResponse, context: InboundContext | null): Promise<void> {
    this.sent.push({ kind: "response", message: response, context });
    if (this.failResponses) return Promise.reject(new TransportError("ERR_TRANSPORT_SEND", "socket closed"));
    return Promise.resolve();
  }

  onMessage(handler: (message: SipMessage, context: InboundContext) => void): void {
    this.handler = handler;
  }

  onDrop(_handler: (reason: DropReason, context: InboundContext) => void): void {}

  listening(): ReadonlyArray<{ readonly protocol: TransportProtocol; readonly endpoint: Endpoint }> {
    return [];
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Delivers a message as if it had been received. */
  receive(message: SipMessage, context: InboundContext = inbound("UDP")): void {
    if (this.handler === null) throw new Error("no handler registered");
    this.handler(message, context);
  }

  /** Requests sent so far, optionally of one method. */
  requests(method?: string): SipRequest[] {
    const out: SipRequest[] = [];
    for (const s of this.sent) if (s.kind === "request" && (method === undefined || s.message.method === method)) out.push(s.message);
    return out;
  }

  /** Responses sent so far, optionally of one status. */
  responses(status?: number): SipResponse[] {
    const out: SipResponse[] = [];
    for (const s of this.sent) if (s.kind === "response" && (status === undefined || s.message.status === status)) out.push(s.message);
    return out;
  }
}

/** Lets pending promise callbacks (send resolutions and rejections) run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** An inbound context from a fixed peer. */
export function inbound(protocol: TransportProtocol): InboundContext {
  return {
    protocol,
    remote: { address: "192.0.2.10", port: 5060 },
    local: { address: "192.0.2.1", port: 5060 },
    connectionId: protocol === "UDP" ? null : "conn-1",
    receivedAt: 0,
  };
}

/** A send target at a fixed peer. */
export function target(protocol: TransportProtocol): SendTarget {
  return { protocol, remote: { address: "192.0.2.20", port: 5060 } };
}

/** A sip: URI. */
export function sipUri(user: string | null, host: string, params: Record<string, string | null> = {}): SipUri {
  return { scheme: "sip", user, password: null, host, port: null, params, headers: [] };
}

function nameAddr(user: string, host: string, tag?: string): NameAddr {
  return { displayName: null, uri: sipUri(user, host), params: tag === undefined ? {} : { tag } };
}

let counter = 0;

/** A request as a peer (or our TU) would build it. */
export function makeRequest(
  method: string,
  options: { branch?: string | null; cseq?: number; callId?: string; fromTag?: string; toTag?: string; route?: NameAddr[]; sentBy?: string } = {},
): SipRequest {
  counter++;
  const params: Record<string, string | null> = {};
  if (options.branch !== null) params["branch"] = options.branch ?? "z9hG4bKtest" + counter;
  return {
    kind: "request",
    method,
    uri: sipUri("bob", "biloxi.example.com"),
    via: [{ transport: "UDP", host: options.sentBy ?? "pc33.atlanta.example.com", port: 5060, params }],
    from: nameAddr("alice", "atlanta.example.com", options.fromTag ?? "1928301774"),
    to: nameAddr("bob", "biloxi.example.com", options.toTag),
    callId: options.callId ?? "a84b4c76e66710@pc33",
    cseq: { seq: options.cseq ?? 314159, method },
    contact: [nameAddr("alice", "pc33.atlanta.example.com")],
    contactWildcard: false,
    route: options.route ?? [],
    recordRoute: [],
    maxForwards: 70,
    contentType: null,
    headers: [],
    body: Buffer.alloc(0),
  };
}

/** A response to a request, as the peer would send it. */
export function makeResponse(request: SipRequest, status: number, toTag: string | null = "a6c85cf"): SipResponse {
  const to: NameAddr = toTag === null ? request.to : withParam(request.to, "tag", toTag);
  return {
    kind: "response",
    status,
    reason: "Test",
    via: request.via.map((v) => ({ ...v, params: { ...v.params } })),
    from: request.from,
    to,
    callId: request.callId,
    cseq: { ...request.cseq },
    contact: [],
    contactWildcard: false,
    route: [],
    recordRoute: [],
    maxForwards: null,
    contentType: null,
    headers: [],
    body: Buffer.alloc(0),
  };
}
