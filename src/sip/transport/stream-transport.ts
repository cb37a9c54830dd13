import { createServer as createTcpServer, connect as tcpConnect, isIP, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, connect as tlsConnect, type Server as TlsServer, type TLSSocket } from "node:tls";
import type { Clock, Timer } from "../../lib/index.ts";
import type { ParseResult } from "../message/index.ts";
import { normalizeAddress } from "./address.ts";
import { ConnectionTable } from "./connection-table.ts";
import { TlsMaterial, errorCode } from "./tls-material.ts";
import { TransportError, type ConnectionGate, type Endpoint, type TlsEvent, type TlsOptions, type TlsPeer, type TransportProtocol } from "./types.ts";

/** The per-connection stream parser (the message layer's StreamFramer has this shape). */
export interface Framer {
  push(chunk: Buffer): ParseResult[];
  readonly broken: boolean;
  /** Bytes held that are not yet a whole message. */
  readonly buffered: number;
}

export type StreamProtocol = Exclude<TransportProtocol, "UDP">;

/** One open TCP or TLS connection, in either direction. */
export interface Connection {
  readonly id: string;
  readonly protocol: StreamProtocol;
  readonly remote: Endpoint;
  readonly local: Endpoint;
  /** True when we opened it. */
  readonly outbound: boolean;
  readonly socket: Socket;
  readonly framer: Framer;
  /** For TLS: what the peer's certificate proved (checked once, at the handshake). */
  readonly tlsPeer: TlsPeer | null;
  lastActivity: number;
  idleTimer: Timer | null;
  /** When the framer last went from holding nothing to holding part of a message; 0 while it holds nothing. */
  partialSince: number;
  partialTimer: Timer | null;
  closing: boolean;
}

export interface StreamLayerOptions {
  readonly clock: Clock;
  readonly maxConnections: number;
  readonly idleTimeoutMs: number;
  /** A message begun on a connection must be complete within this time (slow-sender defence). */
  readonly messageTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly tls: TlsOptions | undefined;
  readonly createFramer: () => Framer;
  /** Per-source admission of inbound connections (security); absent: only maxConnections applies. */
  readonly connectionGate?: ConnectionGate | undefined;
}

/** What the stream layer reports upward; none of these may throw. */
export interface StreamEvents {
  /** Parse results of one chunk, in order; afterwards the layer closes the connection if the framer is broken. */
  onResults(connection: Connection, results: ParseResult[]): void;
  /** An inbound connection refused by maxConnections. */
  onRefused(protocol: StreamProtocol, remote: Endpoint, local: Endpoint): void;
  onError(error: TransportError): void;
  /** TLS handshake failures (both directions) and certificate reloads. */
  onTls(event: TlsEvent): void;
}

// A connection we end gracefully (so a final 400 is flushed) is destroyed if the peer never closes its side.
const END_GRACE_MS = 2000;
// RFC 5626 3.5.1: a CRLF CRLF "ping" on a stream is answered with a single CRLF "pong".
const PING = Buffer.from("\r\n\r\n");
const PONG = Buffer.from("\r\n");

let nextConnectionId = 1;

function endpointOf(address: string | undefined, port: number | undefined): Endpoint | null {
  if (address === undefined || port === undefined) return null;
  return { address: normalizeAddress(address), port };
}

/** What a TLS peer's certificate proved; `verified` is OpenSSL's chain check against our CAs. */
export function tlsPeerOf(socket: TLSSocket): TlsPeer {
  const cert = socket.getPeerCertificate();
  // Without a certificate Node hands back an empty object.
  if (cert === null || cert === undefined || cert.subject === undefined) {
    return { verified: false, subject: null, altNames: [], error: "NO_CERTIFICATE" };
  }
  const cn = cert.subject.CN as string | string[] | undefined;
  const subject = Array.isArray(cn) ? (cn[0] ?? null) : (cn ?? null);
  const altNames = typeof cert.subjectaltname === "string" && cert.subjectaltname !== "" ? cert.subjectaltname.split(", ") : [];
  const error = socket.authorized ? null : (socket.authorizationError === undefined ? "UNVERIFIED" : String(socket.authorizationError));
  return { verified: socket.authorized, subject, altNames, error };
}

/** TCP and TLS listeners and connections: the shared connection logic of RFC 3261 18 for reliable transports. */
export class StreamLayer {
  private readonly table = new ConnectionTable<Connection>();
  private readonly servers: Server[] = [];
  private readonly pending = new Map<string, Promise<Connection>>();
  private readonly material: TlsMaterial | null;
  // Accepted sockets count from 'connection' until they close, so TLS handshakes in progress
  // count against maxConnections too; outbound ones count from connect to close.
  private readonly inbound = new Set<Socket>();
  private outbound = 0;
  // Every socket we hold, including ones ended and waiting for the peer, so close() leaves none behind.
  private readonly sockets = new Set<Socket>();
  private closed = false;

  constructor(
    private readonly options: StreamLayerOptions,
    private readonly events: StreamEvents,
  ) {
    // Throws ERR_TRANSPORT_BIND for unreadable files or a key that does not match the certificate.
    this.material = options.tls === undefined ? null : new TlsMaterial(options.tls, options.clock, (event) => this.events.onTls(event));
  }

  /** Number of open connections, both directions. */
  get connectionCount(): number {
    return this.inbound.size + this.outbound + this.pending.size;
  }

  /** Starts a TCP or TLS listener; resolves with the bound endpoint, rejects with ERR_TRANSPORT_BIND. */
  listen(protocol: StreamProtocol, address: string, port: number): Promise<Endpoint> {
    if (isIP(address) === 0) {
      return Promise.reject(new TransportError("ERR_TRANSPORT_BIND", `${protocol} listen address is not an IP address: ${address}`));
    }
    let server: Server;
    if (protocol === "TLS") {
      const material = this.material;
      if (material === null) return Promise.reject(new TransportError("ERR_TRANSPORT_BIND", "a TLS listener needs the tls options"));
      const requireClientCert = this.options.tls?.requireClientCert === true;
      const requestClientCert = requireClientCert || this.options.tls?.requestClientCert === true;
      let tlsServer: TlsServer;
      try {
        // Verification failures are refused in secureConnection rather than by rejectUnauthorized,
        // which would close the socket without telling anyone why.
        tlsServer = createTlsServer({ ...material.current().options, requestCert: requestClientCert, rejectUnauthorized: false });
      } catch (cause) {
        return Promise.reject(new TransportError("ERR_TRANSPORT_BIND", "invalid TLS certificate, key or cipher list", { cause }));
      }
      material.onReload((pair) => {
        try {
          // Connections already up keep their session; the next handshake gets the new pair.
          tlsServer.setSecureContext(pair.options);
        } catch (cause) {
          this.events.onError(new TransportError("ERR_TRANSPORT_TLS", "cannot install the reloaded TLS certificate", { cause }));
        }
      });
      material.watch();
      tlsServer.on("secureConnection", (socket: TLSSocket) => {
        if (requireClientCert && !socket.authorized) {
          const peer = tlsPeerOf(socket);
          const remote = endpointOf(socket.remoteAddress, socket.remotePort) ?? { address: "", port: 0 };
          socket.destroy();
          this.events.onTls({ kind: "handshake-failed", direction: "inbound", remote, code: peer.error ?? "UNVERIFIED", reason: "client certificate missing or not trusted" });
          return;
        }
        this.accept("TLS", socket);
      });
      tlsServer.on("tlsClientError", (cause: Error & { code?: string; reason?: string }, socket: TLSSocket) => {
        // A peer that hangs up mid-handshake (and every socket refused by the limit, already
        // reported as CONNECTION_LIMIT) ends as ECONNRESET; only real handshake failures are reported.
        if (cause.code === "ECONNRESET") return;
        const remote = endpointOf(socket.remoteAddress, socket.remotePort) ?? { address: "", port: 0 };
        this.events.onTls({ kind: "handshake-failed", direction: "inbound", remote, code: errorCode(cause, "ERR_TLS"), reason: cause.reason ?? cause.message });
      });
      server = tlsServer;
    } else {
      server = createTcpServer();
    }
    // Refuse over the limit before a TLS handshake costs anything: prepended so it runs before
    // the TLS server wraps the socket.
    server.prependListener("connection", (socket: Socket) => {
      if (this.connectionCount >= this.options.maxConnections) {
        const remote = endpointOf(socket.remoteAddress, socket.remotePort) ?? { address: "", port: 0 };
        const local = endpointOf(socket.localAddress, socket.localPort) ?? { address: "", port: 0 };
        socket.destroy();
        this.events.onRefused(protocol, remote, local);
        return;
      }
      const gate = this.options.connectionGate;
      const gated = gate === undefined ? undefined : (endpointOf(socket.remoteAddress, socket.remotePort) ?? undefined);
      if (gate !== undefined && gated !== undefined && !gate.accept(gated)) {
        const local = endpointOf(socket.localAddress, socket.localPort) ?? { address: "", port: 0 };
        socket.destroy();
        this.events.onRefused(protocol, gated, local);
        return;
      }
      this.inbound.add(socket);
      this.sockets.add(socket);
      socket.once("close", () => {
        this.inbound.delete(socket);
        this.sockets.delete(socket);
        if (gate !== undefined && gated !== undefined) gate.release(gated);
      });
      if (protocol === "TCP") this.accept("TCP", socket);
    });
    return new Promise((resolve, reject) => {
      const onListenError = (cause: Error): void => {
        reject(new TransportError("ERR_TRANSPORT_BIND", `cannot listen on ${protocol} ${address}:${port}`, { cause }));
      };
      server.once("error", onListenError);
      server.listen({ host: address, port, ipv6Only: isIP(address) === 6 && address !== "::" }, () => {
        server.off("error", onListenError);
        server.on("error", (cause) => this.events.onError(new TransportError("ERR_TRANSPORT_CONNECT", `${protocol} listener error`, { cause })));
        this.servers.push(server);
        const bound = server.address();
        if (bound === null || typeof bound === "string") {
          reject(new TransportError("ERR_TRANSPORT_BIND", `${protocol} listener has no address`));
          return;
        }
        resolve({ address: normalizeAddress(bound.address), port: bound.port });
      });
    });
  }

  /** The open connection with this id. */
  get(id: string): Connection | undefined {
    const c = this.table.get(id);
    return c !== undefined && !c.closing ? c : undefined;
  }

  /** The open connection to reuse for this protocol and remote (real endpoint or alias). */
  find(protocol: StreamProtocol, remote: Endpoint): Connection | undefined {
    const c = this.table.find(protocol, { address: normalizeAddress(remote.address), port: remote.port });
    return c !== undefined && !c.closing ? c : undefined;
  }

  /** Lets requests to `endpoint` reuse this connection (RFC 5923 alias). */
  alias(connection: Connection, endpoint: Endpoint): void {
    this.table.alias(connection, endpoint);
  }

  /** Reuses an open connection to the remote or opens one; rejects with ERR_TRANSPORT_CONNECT. */
  connect(protocol: StreamProtocol, remote: Endpoint, serverName?: string): Promise<Connection> {
    const existing = this.find(protocol, remote);
    if (existing !== undefined) return Promise.resolve(existing);
    const key = `${protocol} ${normalizeAddress(remote.address)} ${remote.port}`;
    const inFlight = this.pending.get(key);
    if (inFlight !== undefined) return inFlight;
    if (this.closed) return Promise.reject(new TransportError("ERR_TRANSPORT_CLOSED", "transport is closed"));
    if (this.connectionCount >= this.options.maxConnections) {
      return Promise.reject(new TransportError("ERR_TRANSPORT_CONNECT", `connection limit (${this.options.maxConnections}) reached`));
    }
    const attempt = this.open(protocol, remote, serverName).finally(() => this.pending.delete(key));
    this.pending.set(key, attempt);
    return attempt;
  }

  private open(protocol: StreamProtocol, remote: Endpoint, serverName: string | undefined): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const where = `${protocol} ${remote.address}:${remote.port}`;
      let socket: Socket;
      if (protocol === "TLS") {
        if (this.material === null) {
          reject(new TransportError("ERR_TRANSPORT_CONNECT", `cannot connect to ${where}: no tls options`));
          return;
        }
        const name = serverName !== undefined && isIP(serverName) === 0 ? serverName : undefined;
        socket = tlsConnect({
          secureContext: this.material.current().context,
          host: remote.address,
          port: remote.port,
          // SNI takes names only. Node checks the certificate against servername when given, else
          // against host, so an address target is matched with the certificate's IP SANs.
          ...(name !== undefined ? { servername: name } : {}),
          rejectUnauthorized: this.options.tls?.verifyServer !== false,
        });
      } else {
        socket = tcpConnect({ host: remote.address, port: remote.port });
      }
      const timer = this.options.clock.schedule(this.options.connectTimeoutMs, () => {
        socket.destroy(new Error(`connect timeout after ${this.options.connectTimeoutMs} ms`));
      });
      // Once TCP is up, a failure before secureConnect is the TLS handshake's (verification included).
      let tcpUp = false;
      socket.once("connect", () => {
        tcpUp = true;
      });
      const onFail = (cause: Error & { reason?: string }): void => {
        timer.cancel();
        socket.destroy();
        if (protocol === "TLS" && tcpUp) {
          this.events.onTls({
            kind: "handshake-failed",
            direction: "outbound",
            remote,
            ...(serverName !== undefined ? { serverName } : {}),
            code: errorCode(cause, "ERR_TLS"),
            reason: cause.reason ?? cause.message,
          });
        }
        reject(new TransportError("ERR_TRANSPORT_CONNECT", `cannot connect to ${where}`, { cause }));
      };
      socket.once("error", onFail);
      socket.once(protocol === "TLS" ? "secureConnect" : "connect", () => {
        timer.cancel();
        socket.off("error", onFail);
        if (this.closed) {
          socket.destroy();
          reject(new TransportError("ERR_TRANSPORT_CLOSED", "transport closed while connecting"));
          return;
        }
        resolve(this.register(protocol, socket, true, remote));
      });
    });
  }

  private accept(protocol: StreamProtocol, socket: Socket): void {
    if (this.closed || socket.destroyed) {
      socket.destroy();
      return;
    }
    this.register(protocol, socket, false, null);
  }

  private register(protocol: StreamProtocol, socket: Socket, outbound: boolean, target: Endpoint | null): Connection {
    const remote = endpointOf(socket.remoteAddress, socket.remotePort) ?? target ?? { address: "", port: 0 };
    const local = endpointOf(socket.localAddress, socket.localPort) ?? { address: "", port: 0 };
    socket.setNoDelay(true);
    const connection: Connection = {
      id: `${protocol.toLowerCase()}-${nextConnectionId++}`,
      protocol,
      remote,
      local,
      outbound,
      socket,
      framer: this.options.createFramer(),
      tlsPeer: protocol === "TLS" ? tlsPeerOf(socket as TLSSocket) : null,
      lastActivity: this.options.clock.now(),
      idleTimer: null,
      partialSince: 0,
      partialTimer: null,
      closing: false,
    };
    this.table.add(connection);
    if (outbound) this.outbound++;
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
    this.armIdle(connection, this.options.idleTimeoutMs);
    socket.on("data", (chunk: Buffer) => this.onData(connection, chunk));
    socket.on("error", (cause) => {
      this.events.onError(new TransportError("ERR_TRANSPORT_SEND", `${protocol} connection ${connection.id} to ${remote.address}:${remote.port} failed`, { cause }));
    });
    socket.on("close", () => this.forget(connection));
    return connection;
  }

  private onData(connection: Connection, chunk: Buffer): void {
    connection.lastActivity = this.options.clock.now();
    if (connection.closing) return;
    if (chunk.equals(PING)) {
      connection.socket.write(PONG);
      return;
    }
    this.events.onResults(connection, connection.framer.push(chunk));
    if (connection.framer.broken) {
      this.end(connection);
      return;
    }
    if (connection.framer.buffered === 0) connection.partialSince = 0;
    else if (connection.partialSince === 0) {
      connection.partialSince = connection.lastActivity;
      if (connection.partialTimer === null) this.armPartial(connection, this.options.messageTimeoutMs);
    }
  }

  // A peer that trickles a message byte by byte keeps the idle timer happy forever (slowloris);
  // a begun message must be complete within messageTimeoutMs. Like armIdle, the timer is re-armed
  // lazily, so a connection whose chunks often end mid-message does not churn timers.
  private armPartial(connection: Connection, ms: number): void {
    connection.partialTimer = this.options.clock.schedule(ms, () => {
      connection.partialTimer = null;
      if (connection.closing || connection.partialSince === 0) return;
      const partialFor = this.options.clock.now() - connection.partialSince;
      if (partialFor < this.options.messageTimeoutMs) {
        this.armPartial(connection, this.options.messageTimeoutMs - partialFor);
        return;
      }
      this.events.onError(
        new TransportError("ERR_TRANSPORT_SLOW", `${connection.protocol} connection ${connection.id} from ${connection.remote.address}:${connection.remote.port} closed: a message was incomplete after ${partialFor} ms`, { remote: connection.remote }),
      );
      this.destroy(connection);
    });
  }

  // One timer per connection, re-armed lazily: traffic only stamps lastActivity, so a busy
  // connection does not cancel and create a timer per message.
  private armIdle(connection: Connection, ms: number): void {
    connection.idleTimer = this.options.clock.schedule(ms, () => {
      if (connection.closing) return;
      const idleFor = this.options.clock.now() - connection.lastActivity;
      if (idleFor >= this.options.idleTimeoutMs) this.destroy(connection);
      else this.armIdle(connection, this.options.idleTimeoutMs - idleFor);
    });
  }

  /** Writes bytes on a connection; rejects with ERR_TRANSPORT_SEND. */
  send(connection: Connection, data: Buffer): Promise<void> {
    if (connection.closing || connection.socket.destroyed) {
      return Promise.reject(new TransportError("ERR_TRANSPORT_SEND", `connection ${connection.id} is closed`));
    }
    connection.lastActivity = this.options.clock.now();
    return new Promise((resolve, reject) => {
      connection.socket.write(data, (cause) => {
        if (cause) reject(new TransportError("ERR_TRANSPORT_SEND", `write on ${connection.id} failed`, { cause }));
        else resolve();
      });
    });
  }

  /** Ends a connection after flushing what was written (e.g. a final 400); it is no longer reused. */
  end(connection: Connection): void {
    if (connection.closing) return;
    this.forget(connection);
    connection.socket.end();
    const grace = this.options.clock.schedule(END_GRACE_MS, () => connection.socket.destroy());
    connection.socket.once("close", () => grace.cancel());
  }

  /** Closes a connection at once. */
  destroy(connection: Connection): void {
    this.forget(connection);
    connection.socket.destroy();
  }

  private forget(connection: Connection): void {
    if (connection.closing) return;
    connection.closing = true;
    if (connection.outbound) this.outbound--;
    connection.idleTimer?.cancel();
    connection.idleTimer = null;
    connection.partialTimer?.cancel();
    connection.partialTimer = null;
    this.table.remove(connection);
  }

  /** Closes every listener and connection. */
  async close(): Promise<void> {
    this.closed = true;
    this.material?.stop();
    for (const connection of this.table.all()) this.destroy(connection);
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await Promise.all(
      this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
    this.servers.length = 0;
  }
}
