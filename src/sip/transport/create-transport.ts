import { networkInterfaces } from "node:os";
import { newTag, systemClock, type Clock } from "../../lib/index.ts";
import {
  StreamFramer,
  buildMalformedReply,
  createResponse,
  parseMessage,
  serializeMessage,
  withItem,
  type ParseResult,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from "../message/index.ts";
import { addressFamily, hostForHeader, isStream, normalizeAddress } from "./address.ts";
import { resolveTarget } from "./resolver.ts";
import { StreamLayer, type Connection, type StreamProtocol } from "./stream-transport.ts";
import { bindUdpListener, selectUdpIo, type UdpIoChoice, type UdpListener } from "./udp-transport.ts";
import { aliasEndpoint, fillSentBy, responseDestination, stampReceivedVia } from "./via-sent-by.ts";
import {
  TransportError,
  type DropReason,
  type Endpoint,
  type InboundContext,
  type MessageTap,
  type ListenOptions,
  type SendTarget,
  type SipTransport,
  type TlsEvent,
  type TransportOptions,
  type TransportProtocol,
} from "./types.ts";

const DEFAULTS = {
  maxMessageSize: 65536,
  maxConnections: 10000,
  idleTimeoutMs: 600_000,
  messageTimeoutMs: 20_000,
  udpMtuThreshold: 1300,
  connectTimeoutMs: 10_000,
} as const;

interface Listener {
  readonly protocol: TransportProtocol;
  readonly bound: Endpoint;
  readonly config: ListenOptions;
  readonly udp: UdpListener | null;
}

/** Whether a listener bound to `address` can talk to peers of `family`. */
function reaches(address: string, family: 4 | 6): boolean {
  return address === "::" || addressFamily(address) === family;
}

function isWildcard(address: string): boolean {
  return address === "0.0.0.0" || address === "::";
}

/** A local address to write in Via when bound to a wildcard and no publicAddress was given. */
function guessLocalAddress(family: 4 | 6, remote: string): string {
  if (remote === "127.0.0.1" || remote.startsWith("127.")) return "127.0.0.1";
  if (remote === "::1") return "::1";
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) {
      if (!a.internal && a.family === (family === 4 ? "IPv4" : "IPv6") && !a.address.startsWith("fe80")) return a.address;
    }
  }
  return family === 4 ? "127.0.0.1" : "::1";
}

class Transport implements SipTransport {
  private messageHandler: ((message: SipMessage, context: InboundContext) => void) | null = null;
  private dropHandler: ((reason: DropReason, context: InboundContext) => void) | null = null;
  private readonly listeners: Listener[] = [];
  private readonly stream: StreamLayer;
  private readonly clock: Clock;
  private readonly maxMessageSize: number;
  private readonly udpMtuThreshold: number;
  private readonly tap: MessageTap | undefined;
  private closed = false;
  private udpIoChoice: UdpIoChoice | undefined;

  constructor(private readonly options: TransportOptions) {
    this.clock = options.clock ?? systemClock;
    this.maxMessageSize = options.maxMessageSize ?? DEFAULTS.maxMessageSize;
    this.udpMtuThreshold = options.udpMtuThreshold ?? DEFAULTS.udpMtuThreshold;
    this.tap = options.tap;
    const maxMessageSize = this.maxMessageSize;
    this.stream = new StreamLayer(
      {
        clock: this.clock,
        maxConnections: options.maxConnections ?? DEFAULTS.maxConnections,
        idleTimeoutMs: options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
        messageTimeoutMs: options.messageTimeoutMs ?? DEFAULTS.messageTimeoutMs,
        connectTimeoutMs: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
        tls: options.tls,
        createFramer: () => new StreamFramer({ maxMessageSize }),
        connectionGate: options.connectionGate,
      },
      {
        onResults: (connection, results) => this.onStreamResults(connection, results),
        onRefused: (protocol, remote, local) =>
          this.drop({ code: "CONNECTION_LIMIT" }, { protocol, remote, local, connectionId: null, receivedAt: this.clock.now() }),
        onError: (error) => this.reportError(error),
        onTls: (event) => this.tlsEvent(event),
      },
    );
  }

  get udpIo(): UdpIoChoice | undefined {
    return this.udpIoChoice;
  }

  async start(): Promise<void> {
    try {
      for (const config of this.options.listen) {
        if (config.protocol === "UDP") {
          this.udpIoChoice ??= selectUdpIo(this.options.udpIo ?? "auto");
          const udp = await bindUdpListener(
            this.udpIoChoice.kind,
            config.address,
            config.port,
            (data, remote, listener) => this.onDatagram(data, remote, listener),
            (error) => this.reportError(error),
          );
          this.listeners.push({ protocol: "UDP", bound: udp.local, config, udp });
        } else {
          const bound = await this.stream.listen(config.protocol, config.address, config.port);
          this.listeners.push({ protocol: config.protocol, bound, config, udp: null });
        }
      }
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  onMessage(handler: (message: SipMessage, context: InboundContext) => void): void {
    this.messageHandler = handler;
  }

  onDrop(handler: (reason: DropReason, context: InboundContext) => void): void {
    this.dropHandler = handler;
  }

  listening(): ReadonlyArray<{ readonly protocol: TransportProtocol; readonly endpoint: Endpoint }> {
    return this.listeners.map((l) => ({ protocol: l.protocol, endpoint: l.bound }));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stream.close();
    await Promise.all(this.listeners.map((l) => l.udp?.close()));
  }

  // ---- receiving ----

  private onDatagram(data: Buffer, remote: Endpoint, udp: UdpListener): void {
    const context: InboundContext = { protocol: "UDP", remote, local: udp.local, connectionId: null, receivedAt: this.clock.now() };
    try {
      const gate = this.options.datagramGate;
      if (gate !== undefined && !gate(remote)) {
        this.drop({ code: "SCREENED", rule: "banned" }, context);
        return;
      }
      // RFC 3261 7.5: CRLFs before a start line are ignored; a datagram of nothing else is a keep-alive.
      if (data.every((b) => b === 0x0d || b === 0x0a || b === 0)) return;
      if (data.length > this.maxMessageSize) {
        this.drop({ code: "TOO_LARGE" }, context);
        return;
      }
      const result = parseMessage(data, { maxMessageSize: this.maxMessageSize });
      if (result.ok) this.tap?.observe("in", result.message, data, "UDP", udp.local, remote);
      this.handleResult(result, context, (reply) => udp.send(reply, remote));
    } catch (cause) {
      this.reportError(new TransportError("ERR_TRANSPORT_HANDLER", "failure while handling a UDP datagram", { cause }));
    }
  }

  private onStreamResults(connection: Connection, results: ParseResult[]): void {
    const base: InboundContext = {
      protocol: connection.protocol,
      remote: connection.remote,
      local: connection.local,
      connectionId: connection.id,
      receivedAt: this.clock.now(),
    };
    const context: InboundContext = connection.tlsPeer === null ? base : { ...base, tls: connection.tlsPeer };
    for (const result of results) {
      try {
        if (!result.ok && result.error.code === "TOO_LARGE") {
          // The rest of the stream cannot be framed once a message is skipped, so the connection goes.
          this.drop({ code: "TOO_LARGE" }, context);
          this.stream.end(connection);
          return;
        }
        if (result.ok) this.tap?.observe("in", result.message, null, connection.protocol, connection.local, connection.remote);
        this.handleResult(result, context, (reply) => this.stream.send(connection, reply), connection);
      } catch (cause) {
        this.reportError(new TransportError("ERR_TRANSPORT_HANDLER", `failure while handling a message on ${connection.id}`, { cause }));
      }
    }
  }

  private handleResult(result: ParseResult, context: InboundContext, reply: (data: Buffer) => Promise<void>, connection?: Connection): void {
    if (!result.ok) {
      if (result.error.code === "TOO_LARGE") {
        this.drop({ code: "TOO_LARGE" }, context);
        return;
      }
      // RFC 3261 16.3 / 8.2: a malformed request gets a stateless 400 (505 for a bad version) when it can be addressed.
      const answer = buildMalformedReply(result.error);
      this.drop({ code: "PARSE_ERROR", error: result.error, answered: answer !== null }, context);
      if (answer !== null) {
        reply(answer).catch((error: unknown) => this.reportError(error));
      }
      return;
    }
    const message = result.message;
    if (message.kind === "request") {
      const received = message.via[0];
      if (received !== undefined) {
        const via = stampReceivedVia(received, context.remote);
        if (via !== received) message.via = withItem(message.via, 0, via);
        if (connection !== undefined) {
          const alias = aliasEndpoint(via, context.remote);
          if (alias !== null) this.stream.alias(connection, alias);
        }
      }
    }
    if (message.kind === "request" && !this.screened(message, context)) return;
    if (this.messageHandler === null) {
      this.reportError(new TransportError("ERR_TRANSPORT_HANDLER", "message received before onMessage was set; dropped"));
      return;
    }
    try {
      this.messageHandler(message, context);
    } catch (cause) {
      this.reportError(new TransportError("ERR_TRANSPORT_HANDLER", "onMessage handler threw", { cause }));
    }
  }

  /** Runs the screen hook; false when the request stops here (dropped or answered statelessly). */
  private screened(request: SipRequest, context: InboundContext): boolean {
    const screen = this.options.screen;
    if (screen === undefined) return true;
    const outcome = screen(request, context);
    if (outcome.kind === "pass") return true;
    if (outcome.kind === "drop") {
      this.drop({ code: "SCREENED", rule: outcome.rule }, context);
      return false;
    }
    // ACK gets no response (RFC 3261 17.1.1.3); everything else gets the stateless refusal.
    if (request.method !== "ACK") {
      this.sendResponse(createResponse(request, outcome.status, outcome.reason, { toTag: newTag() }), context).catch((error: unknown) =>
        this.reportError(error),
      );
    }
    this.drop({ code: "SCREENED", rule: `reject-${outcome.status}` }, context);
    return false;
  }

  private drop(reason: DropReason, context: InboundContext): void {
    if (this.dropHandler === null) return;
    try {
      this.dropHandler(reason, context);
    } catch (cause) {
      this.reportError(new TransportError("ERR_TRANSPORT_HANDLER", "onDrop handler threw", { cause }));
    }
  }

  private tlsEvent(event: TlsEvent): void {
    const handler = this.options.onTlsEvent;
    if (handler !== undefined) {
      try {
        handler(event);
      } catch (cause) {
        this.reportError(new TransportError("ERR_TRANSPORT_HANDLER", "onTlsEvent handler threw", { cause }));
      }
      return;
    }
    if (event.kind === "handshake-failed") {
      const peer = `${event.remote.address}:${event.remote.port}`;
      this.reportError(new TransportError("ERR_TRANSPORT_TLS", `TLS handshake ${event.direction === "inbound" ? "from" : "to"} ${peer} failed: ${event.code} ${event.reason}`));
    } else if (event.kind === "reload-failed") {
      this.reportError(new TransportError("ERR_TRANSPORT_TLS", `TLS files ${event.certFile} changed but do not load (${event.code}); the previous pair stays in use`));
    }
  }

  private reportError(error: unknown): void {
    const transportError = error instanceof TransportError ? error : new TransportError("ERR_TRANSPORT_HANDLER", "unexpected transport failure", { cause: error });
    if (this.options.onError !== undefined) {
      try {
        this.options.onError(transportError);
        return;
      } catch (cause) {
        process.emitWarning(new TransportError("ERR_TRANSPORT_HANDLER", "onError handler threw", { cause }));
      }
    }
    process.emitWarning(transportError);
  }

  // ---- sending ----

  /** The listener whose address goes in Via for this protocol and peer family, preferring a given local endpoint. */
  private listenerFor(protocol: TransportProtocol, family: 4 | 6, local?: Endpoint): Listener | undefined {
    const candidates = this.listeners.filter((l) => l.protocol === protocol && reaches(l.bound.address, family));
    if (local !== undefined) {
      const exact = candidates.find((l) => l.bound.port === local.port && (isWildcard(l.bound.address) || l.bound.address === normalizeAddress(local.address)));
      if (exact !== undefined) return exact;
    }
    return candidates[0];
  }

  private sentBy(listener: Listener | undefined, family: 4 | 6, remote: string, connectionLocal: Endpoint | null): { host: string; port: number } {
    if (listener === undefined) {
      // No listener of this protocol: the connection's own end is all a peer could reach.
      const local = connectionLocal ?? { address: guessLocalAddress(family, remote), port: 0 };
      return { host: hostForHeader(local.address), port: local.port };
    }
    const pub = listener.config.publicAddress;
    const bound = listener.bound;
    const host = pub?.host ?? (isWildcard(bound.address) ? (connectionLocal?.address ?? guessLocalAddress(family, remote)) : bound.address);
    return { host: hostForHeader(normalizeAddress(host)), port: pub?.port ?? bound.port };
  }

  async sendRequest(request: SipRequest, target: SendTarget): Promise<SendTarget> {
    if (this.closed) throw new TransportError("ERR_TRANSPORT_CLOSED", "transport is closed");
    const via = request.via[0];
    if (via === undefined) throw new TransportError("ERR_TRANSPORT_SEND", "request has no Via");
    // RFC 3261 26.2.2 / RFC 5630: a sips: request travels over TLS on every hop; it is never sent
    // over TCP or UDP instead, whatever target or connection the caller picked.
    const secure = request.uri.scheme === "sips";
    if (target.connectionId !== undefined && target.connectionId !== null) {
      const connection = this.stream.get(target.connectionId);
      if (connection !== undefined && (!secure || connection.protocol === "TLS")) return this.sendOnConnection(request, connection, target);
    }
    if (secure && target.protocol !== "TLS") {
      throw new TransportError("ERR_TRANSPORT_SEND", `a sips: request must go over TLS, not ${target.protocol}`);
    }
    const remote: Endpoint = { address: normalizeAddress(target.remote.address), port: target.remote.port };
    const family = addressFamily(remote.address);
    if (family === 0) throw new TransportError("ERR_TRANSPORT_SEND", `target is not an IP address: ${target.remote.address}; resolve it first`);
    let protocol = target.protocol;
    if (protocol === "UDP") {
      const listener = this.listenerFor("UDP", family);
      if (listener?.udp == null) throw new TransportError("ERR_TRANSPORT_NO_LISTENER", `no UDP listener for IPv${family}`);
      const sentBy = this.sentBy(listener, family, remote.address, null);
      request.via = withItem(request.via, 0, fillSentBy(via, "UDP", sentBy.host, sentBy.port));
      const data = serializeMessage(request);
      // RFC 3261 18.1.1: over 1300 bytes with an unknown path MTU, a request MUST use a congestion-controlled transport.
      if (data.length <= this.udpMtuThreshold || this.listenerFor("TCP", family) === undefined) {
        this.tap?.observe("out", request, data, "UDP", listener.udp.local, remote);
        await listener.udp.send(data, remote);
        return { protocol: "UDP", remote, connectionId: null };
      }
      protocol = "TCP";
    }
    const connection = await this.stream.connect(protocol, remote, target.serverName);
    return this.sendOnConnection(request, connection, { ...target, protocol, remote });
  }

  private async sendOnConnection(request: SipRequest, connection: Connection, target: SendTarget): Promise<SendTarget> {
    const via = request.via[0];
    if (via === undefined) throw new TransportError("ERR_TRANSPORT_SEND", "request has no Via");
    const family = addressFamily(connection.remote.address) === 6 ? 6 : 4;
    const listener = this.listenerFor(connection.protocol, family);
    const sentBy = this.sentBy(listener, family, connection.remote.address, connection.local);
    request.via = withItem(request.via, 0, fillSentBy(via, connection.protocol, sentBy.host, sentBy.port));
    const data = serializeMessage(request);
    this.tap?.observe("out", request, data, connection.protocol, connection.local, connection.remote);
    await this.stream.send(connection, data);
    const used: SendTarget = { protocol: connection.protocol, remote: target.remote, connectionId: connection.id };
    return target.serverName !== undefined ? { ...used, serverName: target.serverName } : used;
  }

  async sendResponse(response: SipResponse, context: InboundContext | null): Promise<void> {
    if (this.closed) throw new TransportError("ERR_TRANSPORT_CLOSED", "transport is closed");
    const data = serializeMessage(response);
    // RFC 3261 18.2.2: reliable transports answer on the connection the request came on while it is open.
    if (context?.connectionId !== null && context?.connectionId !== undefined) {
      const connection = this.stream.get(context.connectionId);
      if (connection !== undefined) {
        this.tap?.observe("out", response, data, connection.protocol, connection.local, connection.remote);
        await this.stream.send(connection, data);
        return;
      }
    }
    const via = response.via[0];
    const destination = via === undefined ? null : responseDestination(via, context?.protocol);
    if (destination === null) {
      if (context !== null) this.drop({ code: "NO_ROUTE_FOR_RESPONSE" }, context);
      throw new TransportError("ERR_TRANSPORT_SEND", "response has no usable top Via");
    }
    let address = destination.host;
    if (addressFamily(address) === 0) {
      // RFC 3261 18.2.2 defers a sent-by name to RFC 3263 section 5; we use its addresses in order.
      const hops = await resolveTarget(`sip:${address}:${destination.port}`);
      address = hops[0]?.remote.address ?? address;
    }
    const remote: Endpoint = { address, port: destination.port };
    const family = addressFamily(address) === 6 ? 6 : 4;
    if (isStream(destination.protocol)) {
      const connection = await this.stream.connect(destination.protocol as StreamProtocol, remote);
      this.tap?.observe("out", response, data, connection.protocol, connection.local, connection.remote);
      await this.stream.send(connection, data);
      return;
    }
    // Answer from the socket the request arrived on, so NATs and firewalls see the same 5-tuple.
    const listener = this.listenerFor("UDP", family, context?.protocol === "UDP" ? context.local : undefined);
    if (listener?.udp == null) {
      if (context !== null) this.drop({ code: "NO_ROUTE_FOR_RESPONSE" }, context);
      throw new TransportError("ERR_TRANSPORT_NO_LISTENER", `no UDP listener for IPv${family}`);
    }
    this.tap?.observe("out", response, data, "UDP", listener.udp.local, remote);
    await listener.udp.send(data, remote);
  }
}

/** Binds every listener and resolves with a ready transport; rejects with ERR_TRANSPORT_BIND. */
export async function createTransport(options: TransportOptions): Promise<SipTransport> {
  const transport = new Transport(options);
  await transport.start();
  return transport;
}
