// Builders for domain tests only (not exported from index.ts): complete trunks with overridable fields.
import { defaultFailoverPolicy } from "./routing.ts";
import type { CarrierTrunk, CustomerTrunk, Gateway } from "./types.ts";

/** A static-mode UK customer trunk with sensible defaults. */
export function customer(over: Partial<CustomerTrunk> & { readonly id: string }): CustomerTrunk {
  return {
    name: over.id,
    identification: { cidrs: [], credentials: [] },
    mode: { kind: "static", uri: `sip:${over.id}.example.net` },
    dids: [],
    limits: {},
    outbound: { allowedPrefixes: ["+"], callerId: "any" },
    failover: { uris: [], policy: defaultFailoverPolicy() },
    numbering: { format: "national", countryCode: "44" },
    ...over,
  };
}

/** A gateway with priority 1 and weight 1 unless told otherwise. */
export function gateway(id: string, over: Partial<Gateway> = {}): Gateway {
  return { id, uri: `sip:${id}.carrier.example`, transport: "udp", priority: 1, weight: 1, ...over };
}

/** An E.164-plus carrier with one gateway unless told otherwise. */
export function carrier(over: Partial<CarrierTrunk> & { readonly id: string }): CarrierTrunk {
  return {
    name: over.id,
    gateways: [gateway(`${over.id}-gw1`)],
    sourceCidrs: [],
    numbering: { format: "e164-plus", countryCode: "44" },
    limits: {},
    failover: defaultFailoverPolicy(),
    ...over,
  };
}

/** A deterministic random source cycling through the given values. */
export function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length] ?? 0;
}
