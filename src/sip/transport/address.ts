import { isIP } from "node:net";
import type { TransportProtocol } from "./types.ts";

/** Strips IPv6 brackets and the IPv4-mapped prefix so addresses from sockets and from headers compare equal. */
export function normalizeAddress(address: string): string {
  let a = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address;
  // Dual-stack sockets report IPv4 peers as ::ffff:a.b.c.d; the peer wrote a.b.c.d in its Via.
  if (a.toLowerCase().startsWith("::ffff:") && isIP(a.slice(7)) === 4) a = a.slice(7);
  return a.toLowerCase();
}

/** 4, 6, or 0 for a host name; accepts bracketed IPv6. */
export function addressFamily(host: string): 0 | 4 | 6 {
  const family = isIP(host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host);
  return family === 4 || family === 6 ? family : 0;
}

/** A host as it goes in a Via or URI: IPv6 in brackets. */
export function hostForHeader(address: string): string {
  return isIP(address) === 6 ? `[${address}]` : address;
}

/** The RFC 3261 default port: 5061 for TLS, 5060 otherwise. */
export function defaultPort(protocol: TransportProtocol): number {
  return protocol === "TLS" ? 5061 : 5060;
}

/** Whether the bytes use a reliable (connection) transport. */
export function isStream(protocol: TransportProtocol): boolean {
  return protocol !== "UDP";
}

/** The key of a remote endpoint for one protocol, used to find a connection to reuse. */
export function endpointKey(protocol: TransportProtocol, address: string, port: number): string {
  return `${protocol} ${normalizeAddress(address)} ${port}`;
}

/** Maps a Via transport token to a protocol we speak, or null. */
export function protocolFromToken(token: string): TransportProtocol | null {
  const t = token.toUpperCase();
  return t === "UDP" || t === "TCP" || t === "TLS" ? t : null;
}
