import { type Result, ok, err } from "../lib/index.ts";
import { type CidrMatcher, createCidrMatcher } from "./cidr.ts";
import { refusal } from "./refusal.ts";
import type { CarrierTrunk, CustomerTrunk, DigestCredentials, Refusal } from "./types.ts";

/** The facts identification looks at. */
export interface IdentifyRequest {
  /** Source IP of the request as the transport saw it (IPv4-mapped IPv6 is fine). */
  readonly sourceAddress: string;
  /** Username of the Authorization/Proxy-Authorization header, when the request carries one. */
  readonly digestUsername?: string;
}

/**
 * Who sent a request. A customer with `verify` must still pass digest verification against
 * those credentials (the call layer challenges if the request carries none); without `verify`
 * the source address was enough.
 */
export type IdentifyDecision =
  | { readonly kind: "carrier"; readonly carrier: CarrierTrunk; readonly cidr: string; readonly reason: string }
  | {
      readonly kind: "customer";
      readonly customer: CustomerTrunk;
      readonly matchedBy: "source-ip" | "credentials" | "source-ip+credentials";
      readonly cidr?: string;
      readonly verify?: DigestCredentials;
      readonly reason: string;
    }
  | { readonly kind: "challenge"; readonly reason: string }
  | { readonly kind: "refuse"; readonly refusal: Refusal };

/** Identification built once from the provisioned trunks. */
export interface Identifier {
  /** Decides who sent a request. */
  identify(request: IdentifyRequest): IdentifyDecision;
}

type Candidate = { readonly kind: "carrier"; readonly trunk: CarrierTrunk } | { readonly kind: "customer"; readonly trunk: CustomerTrunk };

interface CredentialOwner {
  readonly customer: CustomerTrunk;
  readonly credentials: DigestCredentials;
}

function customerDecision(
  customer: CustomerTrunk,
  cidr: string,
  username: string | undefined,
  checkCredentials: boolean,
): IdentifyDecision {
  const id = customer.identification;
  if (!checkCredentials && id.requireBoth !== true) {
    return { kind: "customer", customer, matchedBy: "source-ip", cidr, reason: `source address in ${cidr} of customer ${customer.name}` };
  }
  if (username === undefined) {
    return { kind: "challenge", reason: `customer ${customer.name} requires digest credentials as well as its address` };
  }
  const credentials = id.credentials.find((c) => c.username === username);
  if (credentials === undefined) {
    return { kind: "refuse", refusal: refusal("bad-credentials", `username ${JSON.stringify(username)} is not one of customer ${customer.name}'s`) };
  }
  return {
    kind: "customer",
    customer,
    matchedBy: "source-ip+credentials",
    cidr,
    verify: credentials,
    reason: `source address in ${cidr} and username ${JSON.stringify(username)} of customer ${customer.name}`,
  };
}

/**
 * Builds the identifier. Carriers are known by source address only; customers by source
 * address, then by digest username. When one block holds several trunks (PBXs behind one NAT),
 * a digest username picks among the customers; without one, a lone carrier wins, else the
 * request is challenged so that credentials decide.
 */
export function createIdentifier(
  customers: readonly CustomerTrunk[],
  carriers: readonly CarrierTrunk[],
): Result<Identifier, string[]> {
  const pairs: (readonly [string, Candidate])[] = [];
  for (const c of carriers) for (const cidr of c.sourceCidrs) pairs.push([cidr, { kind: "carrier", trunk: c }]);
  for (const c of customers) for (const cidr of c.identification.cidrs) pairs.push([cidr, { kind: "customer", trunk: c }]);
  const built = createCidrMatcher(pairs);
  const errors: string[] = built.ok ? [] : [...built.error];
  const byUsername = new Map<string, CredentialOwner>();
  for (const customer of customers) {
    for (const credentials of customer.identification.credentials) {
      const previous = byUsername.get(credentials.username);
      if (previous !== undefined) {
        errors.push(`username ${JSON.stringify(credentials.username)} is used by ${previous.customer.name} and ${customer.name}`);
      }
      byUsername.set(credentials.username, { customer, credentials });
    }
    if (customer.identification.cidrs.length === 0 && customer.identification.credentials.length === 0) {
      errors.push(`customer ${customer.name} has neither source addresses nor credentials`);
    }
  }
  if (!built.ok || errors.length > 0) return err(errors);
  const matcher: CidrMatcher<Candidate> = built.value;

  return ok({
    identify({ sourceAddress, digestUsername }: IdentifyRequest): IdentifyDecision {
      const match = matcher.match(sourceAddress);
      if (match !== undefined) {
        const matchedCustomers: CustomerTrunk[] = [];
        const matchedCarriers: CarrierTrunk[] = [];
        for (const v of match.values) {
          if (v.kind === "customer") matchedCustomers.push(v.trunk);
          else matchedCarriers.push(v.trunk);
        }
        if (digestUsername !== undefined) {
          // A username that names one of the customers on this block settles who it is.
          const owner = matchedCustomers.find((c) => c.identification.credentials.some((k) => k.username === digestUsername));
          if (owner !== undefined) return customerDecision(owner, match.cidr, digestUsername, true);
        }
        const carrier = matchedCarriers[0];
        if (matchedCarriers.length === 1 && matchedCustomers.length === 0 && carrier !== undefined) {
          return { kind: "carrier", carrier, cidr: match.cidr, reason: `source address in ${match.cidr} of carrier ${carrier.name}` };
        }
        const customer = matchedCustomers[0];
        if (matchedCustomers.length === 1 && matchedCarriers.length === 0 && customer !== undefined) {
          return customerDecision(customer, match.cidr, digestUsername, false);
        }
        if (digestUsername === undefined) {
          return { kind: "challenge", reason: `source address in ${match.cidr} is shared by ${match.values.length} trunks; credentials decide` };
        }
        return { kind: "refuse", refusal: refusal("bad-credentials", `username ${JSON.stringify(digestUsername)} belongs to no trunk sharing ${match.cidr}`) };
      }
      if (digestUsername !== undefined) {
        const owner = byUsername.get(digestUsername);
        if (owner === undefined) {
          return { kind: "refuse", refusal: refusal("bad-credentials", `unknown username ${JSON.stringify(digestUsername)} from ${sourceAddress}`) };
        }
        if (owner.customer.identification.requireBoth === true) {
          return { kind: "refuse", refusal: refusal("unknown-source", `customer ${owner.customer.name} requires its provisioned addresses; ${sourceAddress} is not one`) };
        }
        return {
          kind: "customer",
          customer: owner.customer,
          matchedBy: "credentials",
          verify: owner.credentials,
          reason: `username ${JSON.stringify(digestUsername)} of customer ${owner.customer.name}`,
        };
      }
      if (byUsername.size > 0) {
        // Challenging only when some customer could answer keeps unknown scanners from learning a realm for nothing.
        return { kind: "challenge", reason: `source address ${sourceAddress} is not provisioned; credentials may identify it` };
      }
      return { kind: "refuse", refusal: refusal("unknown-source", `source address ${sourceAddress} matches no trunk`) };
    },
  });
}
