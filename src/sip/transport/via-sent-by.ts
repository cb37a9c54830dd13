import { paramsWith } from "../message/index.ts";
import type { Via } from "../message/index.ts";
import { addressFamily, defaultPort, normalizeAddress, protocolFromToken } from "./address.ts";
import type { Endpoint, TransportProtocol } from "./types.ts";

/**
 * RFC 3261 18.2.1 and RFC 3581 section 4: the top Via of a received request stamped with where it
 * really came from, so the response finds its way back through NATs; `via` itself when nothing changes.
 */
export function stampReceivedVia(via: Via, source: Endpoint): Via {
  const sourceAddress = normalizeAddress(source.address);
  const hasEmptyRport = Object.hasOwn(via.params, "rport") && via.params["rport"] === null;
  let params = via.params;
  // RFC 3581: with rport the server MUST add received even when identical to sent-by.
  if (hasEmptyRport || addressFamily(via.host) === 0 || normalizeAddress(via.host) !== sourceAddress) {
    params = paramsWith(params, "received", sourceAddress);
  }
  if (hasEmptyRport) params = paramsWith(params, "rport", String(source.port));
  return params === via.params ? via : { transport: via.transport, host: via.host, port: via.port, params };
}

/** The top Via of an outgoing request filled for the protocol and sent-by actually used, asking for rport (RFC 3581); `via` itself when it already says so. */
export function fillSentBy(via: Via, protocol: TransportProtocol, host: string, port: number): Via {
  const params = Object.hasOwn(via.params, "rport") ? via.params : paramsWith(via.params, "rport", null);
  if (via.transport === protocol && via.host === host && via.port === port && params === via.params) return via;
  return { transport: protocol, host, port, params };
}

/** Where a response goes when it cannot use the request's connection: RFC 3261 18.2.2 and RFC 3581 section 4. */
export interface ResponseDestination {
  readonly protocol: TransportProtocol;
  /** An IP address or a host name still to resolve (RFC 3263 section 5). */
  readonly host: string;
  readonly port: number;
}

function portParam(value: string | null | undefined): number | null {
  if (value === null || value === undefined || !/^\d{1,5}$/.test(value)) return null;
  const n = Number(value);
  return n > 0 && n <= 65535 ? n : null;
}

/**
 * Computes the response destination from the top Via, or null when the Via names no transport we speak.
 * A request that arrived over UDP is answered over UDP even when its Via names another transport
 * (RFC 4475 messages do): the client evidently sends, and so listens, on UDP.
 */
export function responseDestination(via: Via, arrivedOver?: TransportProtocol): ResponseDestination | null {
  const protocol = arrivedOver === "UDP" ? "UDP" : protocolFromToken(via.transport);
  if (protocol === null) return null;
  const sentByPort = via.port ?? defaultPort(protocol);
  const received = via.params["received"];
  const receivedHost = received !== undefined && received !== null && received !== "" ? received : null;
  if (protocol === "UDP") {
    const maddr = via.params["maddr"];
    // RFC 3261 18.2.2: maddr wins for unreliable transports (multicast is not supported; unicast maddr is honoured).
    if (maddr !== undefined && maddr !== null && maddr !== "") return { protocol, host: normalizeAddress(maddr), port: sentByPort };
    const rport = portParam(via.params["rport"]);
    if (receivedHost !== null) return { protocol, host: normalizeAddress(receivedHost), port: rport ?? sentByPort };
    return { protocol, host: normalizeAddress(via.host), port: rport ?? sentByPort };
  }
  // Reliable: RFC 3261 18.2.2 opens a connection to received (or sent-by host) at the sent-by port; rport is UDP-only.
  return { protocol, host: normalizeAddress(receivedHost ?? via.host), port: sentByPort };
}

/** RFC 5923: a request whose top Via carries `alias` lets us reuse its connection for requests to source address + sent-by port. */
export function aliasEndpoint(via: Via, source: Endpoint): Endpoint | null {
  if (!Object.hasOwn(via.params, "alias")) return null;
  const protocol = protocolFromToken(via.transport);
  if (protocol === null) return null;
  return { address: normalizeAddress(source.address), port: via.port ?? defaultPort(protocol) };
}
