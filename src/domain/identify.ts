import { type Result, ok, err } from "../lib/index.ts";
import { type CidrMatcher, createCidrMatcher } from "./cidr.ts";
import { refusal } from "./refusal.ts";
import type { CarrierTrunk, CustomerTrunk, DigestCredentials, Refusal } from "./types.ts";

/** A TLS client certificate as the transport verified it during the handshake. */
export interface ClientCertificate {
  /** It chains to a trusted CA and is valid now. */
  readonly verified: boolean;
  /** Subject CN; null when the client presented no certificate. */
  readonly subject: string | null;
  /** subjectAltName entries as OpenSSL prints them (`DNS:pbx.example.com`, `IP Address:192.0.2.1`, `URI:...`). */
  readonly altNames: readonly string[];
  /** Why it is not verified, when it is not. */
  readonly error?: string | null;
}

/** The facts identification looks at. */
export interface IdentifyRequest {
  /** Source IP of the request as the transport saw it (IPv4-mapped IPv6 is fine). */
  readonly sourceAddress: string;
  /** Username of the Authorization/Proxy-Authorization header, when the request carries one. */
  readonly digestUsername?: string;
  /** Set when the request arrived over TLS; absent for UDP and TCP. */
  readonly clientCertificate?: ClientCertificate;
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

/** The names a certificate answers to: its CN and its DNS, URI and IP subjectAltNames, lower-cased. */
function certificateNames(cert: ClientCertificate): string[] {
  const names = cert.subject === null ? [] : [cert.subject.toLowerCase()];
  for (const entry of cert.altNames) {
    const colon = entry.indexOf(":");
    if (colon > 0) names.push(entry.slice(colon + 1).trim().toLowerCase());
  }
  return names;
}

/**
 * Mutual TLS: the refusal for a customer that requires a client certificate when the request did
 * not come over TLS with a verified one (naming its `subject` when one is configured); null when
 * the customer does not require one or the certificate satisfies it. Used for REGISTER too.
 */
export function clientCertificateRefusal(customer: CustomerTrunk, cert: ClientCertificate | undefined): Refusal | null {
  const tls = customer.identification.tls;
  if (tls === undefined || !tls.requireClientCert) return null;
  const name = customer.name;
  if (cert === undefined) return refusal("unknown-source", `customer ${name} requires mutual TLS; the request did not come over TLS`);
  if (cert.subject === null && cert.altNames.length === 0) return refusal("unknown-source", `customer ${name} requires mutual TLS; no client certificate was presented`);
  if (!cert.verified) {
    const why = cert.error !== undefined && cert.error !== null ? ` (${cert.error})` : "";
    return refusal("unknown-source", `customer ${name} requires mutual TLS; the client certificate is not trusted${why}`);
  }
  if (tls.subject !== undefined && !certificateNames(cert).includes(tls.subject.toLowerCase())) {
    return refusal("unknown-source", `customer ${name} requires a client certificate for ${JSON.stringify(tls.subject)}; it names ${JSON.stringify(cert.subject)}`);
  }
  return null;
}

/** Applies clientCertificateRefusal to a customer decision; the address or credentials alone are not enough. */
function requireClientCertificate(decision: IdentifyDecision, cert: ClientCertificate | undefined): IdentifyDecision {
  if (decision.kind !== "customer") return decision;
  const refused = clientCertificateRefusal(decision.customer, cert);
  if (refused !== null) return { kind: "refuse", refusal: refused };
  if (decision.customer.identification.tls?.requireClientCert !== true || cert === undefined) return decision;
  return { ...decision, reason: `${decision.reason}, with a verified TLS client certificate (${cert.subject ?? cert.altNames[0] ?? "?"})` };
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

  const decide = ({ sourceAddress, digestUsername }: IdentifyRequest): IdentifyDecision => {
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
  };

  return ok({
    identify: (request: IdentifyRequest): IdentifyDecision => requireClientCertificate(decide(request), request.clientCertificate),
  });
}
