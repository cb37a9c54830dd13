import { endpointKey } from "./address.ts";
import type { Endpoint, TransportProtocol } from "./types.ts";

/** What the table needs to know about a connection. */
export interface TableEntry {
  readonly id: string;
  readonly protocol: TransportProtocol;
  readonly remote: Endpoint;
}

/**
 * Open connections by id and by remote endpoint + protocol. A connection is found under its real
 * remote endpoint and under any alias (RFC 5923: the peer's listening address), so a request to a
 * peer reuses a connection that either side opened.
 */
export class ConnectionTable<C extends TableEntry> {
  private readonly byId = new Map<string, C>();
  private readonly byKey = new Map<string, C>();
  private readonly keysById = new Map<string, string[]>();

  /** Number of open connections. */
  get size(): number {
    return this.byId.size;
  }

  /** Adds a connection under its id and its real remote endpoint. */
  add(connection: C): void {
    this.byId.set(connection.id, connection);
    this.keysById.set(connection.id, []);
    this.alias(connection, connection.remote);
  }

  /** Makes the connection the one used for `endpoint` with the connection's protocol; the newest alias wins. */
  alias(connection: C, endpoint: Endpoint): void {
    const keys = this.keysById.get(connection.id);
    if (keys === undefined) return;
    const key = endpointKey(connection.protocol, endpoint.address, endpoint.port);
    this.byKey.set(key, connection);
    if (!keys.includes(key)) keys.push(key);
  }

  /** Removes a connection and every alias that still points at it. */
  remove(connection: C): void {
    if (this.byId.get(connection.id) !== connection) return;
    this.byId.delete(connection.id);
    for (const key of this.keysById.get(connection.id) ?? []) {
      if (this.byKey.get(key) === connection) this.byKey.delete(key);
    }
    this.keysById.delete(connection.id);
  }

  /** The connection with this id, when still open. */
  get(id: string): C | undefined {
    return this.byId.get(id);
  }

  /** The connection to reuse for this protocol and remote endpoint, if any. */
  find(protocol: TransportProtocol, endpoint: Endpoint): C | undefined {
    return this.byKey.get(endpointKey(protocol, endpoint.address, endpoint.port));
  }

  /** Every open connection (a copy, safe to close while iterating). */
  all(): C[] {
    return [...this.byId.values()];
  }
}
