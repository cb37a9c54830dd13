import type { SipStack, TransportProtocol } from "../sip/index.ts";

/**
 * The host and port we put in our own Contact/Via for `protocol`: the address it listens on
 * (the first listener when none has that protocol), IPv6 bracketed.
 */
export function listeningAddress(stack: SipStack, protocol: TransportProtocol): { host: string; port: number } {
  const listening = stack.transport.listening();
  const bound = listening.find((l) => l.protocol === protocol) ?? listening[0];
  if (bound === undefined) return { host: "127.0.0.1", port: 5060 };
  const host = bound.endpoint.address.includes(":") ? `[${bound.endpoint.address}]` : bound.endpoint.address;
  return { host, port: bound.endpoint.port };
}
