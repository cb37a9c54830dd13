/**
 * Provisioning and decision types of the trunking policy. Plain data only: strings for URIs and
 * addresses, numbers for SIP codes, so that storage, config and the call layer can all build
 * and read them without knowing the SIP stack.
 */
import type { CustomerFraudSettings } from "./fraud.ts";

/** An E.164 number with its leading `+`, e.g. `+442071234567`. Produced by `normalizeNumber`. */
export type E164 = string;

/**
 * How a trunk writes numbers: `e164-plus` (`+442071234567`), `e164` (`442071234567`) or
 * `national` (`02071234567`, read and written with the trunk's country code).
 */
export type NumberFormat = "e164-plus" | "e164" | "national";

/** The numbering plan of a trunk: how its numbers are read (inbound) or written (outbound). */
export interface NumberingPlan {
  readonly format: NumberFormat;
  /** Country calling code without `+`, e.g. `44`, `1`. */
  readonly countryCode: string;
  /** National (trunk) prefix; default `1` for country code 1, else `0`. Use `""` where there is none (Italy). */
  readonly nationalPrefix?: string;
  /** International call prefix; default `011` for country code 1, else `00`. */
  readonly internationalPrefix?: string;
}

/** A carrier's numbering: its plan plus a tech prefix some carriers use to pick a product. */
export interface CarrierNumbering extends NumberingPlan {
  /** Prepended to the called number sent to the carrier, e.g. `1234#`. */
  readonly techPrefix?: string;
}

/** A single DID or an inclusive range of DIDs of the same length. */
export type DidSpec =
  | { readonly kind: "number"; readonly number: E164 }
  | { readonly kind: "range"; readonly from: E164; readonly to: E164 };

/** Digest credentials a trunk authenticates with (ours for customers, theirs for carriers). */
export interface DigestCredentials {
  readonly username: string;
  /**
   * Plain password. A carrier's stays as given (we answer its challenges, in a realm it names only
   * then); a customer's is replaced by `ha1` and `ha1Sha256` before it is stored (hashCredentials).
   */
  readonly password?: string;
  /** MD5(user:realm:password), hex. */
  readonly ha1?: string;
  /** SHA-256(user:realm:password), hex (RFC 7616). */
  readonly ha1Sha256?: string;
  /** The realm the hashes were computed in; absent means the server's `calls.realm`. */
  readonly realm?: string;
}

/** Channel and CPS limits shared by both kinds of trunk; absent means unlimited. */
export interface TrunkLimits {
  /** Concurrent calls in both directions together. */
  readonly channels?: number;
  readonly inboundChannels?: number;
  readonly outboundChannels?: number;
  /** New calls per second (token-bucket rate). */
  readonly cps?: number;
  /** Token-bucket depth; defaults to `cps` (one second of burst). */
  readonly cpsBurst?: number;
  /** How an over-channel-limit call is refused: 503 with Retry-After, or 486 Busy Here. */
  readonly overLimitStatus?: 503 | 486;
  /** Retry-After seconds on 503 refusals; default 5. */
  readonly retryAfterSeconds?: number;
}

/** When to try the next target after a failed attempt. */
export interface FailoverPolicy {
  /** Final SIP codes that move on to the next target. */
  readonly codes: readonly number[];
  /** Move on after a transport error (ICMP, connection refused, TLS failure). */
  readonly onTransportError: boolean;
  /** Move on when nothing answers within `timeoutMs`. */
  readonly onTimeout: boolean;
  /** How long the call layer waits for a first response before declaring a timeout. */
  readonly timeoutMs: number;
}

/** How a customer trunk proves who it is. With both lists, `requireBoth` says whether IP and digest are both needed. */
export interface CustomerIdentification {
  readonly cidrs: readonly string[];
  readonly credentials: readonly DigestCredentials[];
  readonly requireBoth?: boolean;
  /** Mutual TLS: identified only on requests over TLS with a verified client certificate. */
  readonly tls?: CustomerTlsIdentification;
}

/** What a customer's TLS client certificate must show. */
export interface CustomerTlsIdentification {
  readonly requireClientCert: boolean;
  /** The certificate's subject CN or one of its subjectAltNames (DNS, URI or IP), compared without case. */
  readonly subject?: string;
}

/** Where a customer's inbound calls go: a fixed URI, or the Contact it REGISTERed. */
export type CustomerMode =
  | { readonly kind: "static"; readonly uri: string }
  | { readonly kind: "registration" };

/** The rules a customer's outbound calls must follow. */
export interface OutboundPolicy {
  /** E.164 prefixes the customer may call (`+44`, `+1`); `+` allows all; empty allows none. */
  readonly allowedPrefixes: readonly string[];
  /** Prefixes refused even when allowed (premium rate); a denial wins over an allowance. */
  readonly deniedPrefixes?: readonly string[];
  /** `own-dids`: the caller number must be one of the customer's DIDs; `any`: no check. */
  readonly callerId: "own-dids" | "any";
}

/** What to do when an inbound call to the customer fails. */
export interface InboundFailover {
  /** Alternate URIs tried in order after the primary target. */
  readonly uris: readonly string[];
  /** A number the call is forwarded to (through outbound routing) when every URI failed. */
  readonly forwardTo?: E164;
  readonly policy: FailoverPolicy;
}

/** A customer PBX. */
export interface CustomerTrunk {
  readonly id: string;
  readonly name: string;
  readonly identification: CustomerIdentification;
  readonly mode: CustomerMode;
  readonly dids: readonly DidSpec[];
  readonly limits: TrunkLimits;
  readonly outbound: OutboundPolicy;
  readonly failover: InboundFailover;
  readonly numbering: NumberingPlan;
  /** How its media is handled; absent: relayed with the server defaults. */
  readonly media?: TrunkMedia;
  /** Toll-fraud policy; absent: the safe defaults (domestic only, high-risk and premium blocked). */
  readonly fraud?: CustomerFraudSettings;
}

/** SIP transports a gateway can be reached over. */
export type Transport = "udp" | "tcp" | "tls";

/** One signalling address of a carrier. Lower `priority` is tried first; `weight` shares load within a priority. */
export interface Gateway {
  readonly id: string;
  readonly uri: string;
  readonly transport: Transport;
  readonly priority: number;
  readonly weight: number;
}

/** Registration we keep with a carrier that needs it to send us calls. */
export interface OutboundRegistration {
  readonly registrar: string;
  readonly expiresSeconds: number;
  /** Address-of-record to register; defaults to the credentials' username at the registrar's host. */
  readonly aor?: string;
}

/** An upstream provider. */
export interface CarrierTrunk {
  readonly id: string;
  readonly name: string;
  readonly gateways: readonly Gateway[];
  /** Addresses the carrier sends from (its calls to our DIDs). */
  readonly sourceCidrs: readonly string[];
  /** Credentials we answer its 401/407 with. */
  readonly credentials?: DigestCredentials;
  readonly registration?: OutboundRegistration;
  readonly numbering: CarrierNumbering;
  readonly limits: TrunkLimits;
  readonly failover: FailoverPolicy;
  /** How its media is handled; absent: relayed with the server defaults. */
  readonly media?: TrunkMedia;
}

/** A trunk's media settings (provisioning `media:`). Every field optional. */
export interface TrunkMedia {
  /** Codec allow-list, most preferred first (`PCMU`, `PCMA`, `G729`, `opus/48000/2`). */
  readonly codecs?: readonly string[];
  readonly dtmf?: "rfc4733" | "info" | "inband";
  readonly srtp?: "required" | "optional" | "off";
  /** True: SDP passes untouched and media flows end to end (no relay for calls of this trunk). */
  readonly directMedia?: boolean;
}

/** One line of a carrier's rate deck. */
export interface RateDeckEntry {
  /** E.164 prefix without `+`, e.g. `4420`. */
  readonly prefix: string;
  /** Price per minute in the deck's currency. */
  readonly pricePerMinute: number;
}

/** The prices a carrier charges us, per destination prefix. */
export interface RateDeck {
  readonly carrierId: string;
  readonly currency: string;
  readonly entries: readonly RateDeckEntry[];
}

/** A carrier on a route. Lower `priority` first; `weight` shares load among equal priorities. */
export interface RouteCarrier {
  readonly carrierId: string;
  readonly priority: number;
  readonly weight: number;
}

/** Destinations matched by prefix to an ordered list of carriers. */
export interface Route {
  readonly id: string;
  /** E.164 prefix without `+`; `""` matches every number (default route). */
  readonly prefix: string;
  /** `priority`: priority then weight; `cost`: cheapest carrier first from its rate deck (LCR). */
  readonly ordering: "priority" | "cost";
  readonly carriers: readonly RouteCarrier[];
}

/** The whole provisioning set, as stored and as applied from YAML. */
export interface Provisioning {
  readonly customers: readonly CustomerTrunk[];
  readonly carriers: readonly CarrierTrunk[];
  readonly routes: readonly Route[];
  readonly rateDecks: readonly RateDeck[];
}

/** Call direction as seen from a trunk: calls we deliver to it are inbound for customers. */
export type Direction = "inbound" | "outbound";

/** Why a call is refused; each kind maps to one SIP answer. */
export type RefusalKind =
  | "unknown-source"
  | "bad-credentials"
  | "channel-limit"
  | "cps-limit"
  | "destination-not-allowed"
  | "caller-id-not-allowed"
  | "invalid-number"
  | "no-route"
  | "route-unavailable"
  | "not-registered"
  | "unknown-did";

/**
 * A refusal: what to answer (status, Warning text, Retry-After) and a reason an operator can
 * read in logs and CDRs. The Warning header's agent (host) is the call layer's to fill in.
 */
export interface Refusal {
  readonly kind: RefusalKind;
  readonly status: number;
  readonly reasonPhrase: string;
  /** Warning text (RFC 3261 20.43, code 399) telling the peer what to fix. */
  readonly warning: string;
  readonly retryAfterSeconds?: number;
  /** Q.850 cause recorded in the CDR and sent in a Reason header. */
  readonly q850Cause: number;
  /** Detail for the operator: names the trunk, the number, the limit. */
  readonly reason: string;
}

/** The result of one call attempt, as the call layer observed it. */
export type AttemptOutcome =
  | { readonly kind: "response"; readonly status: number }
  | { readonly kind: "transport-error"; readonly detail?: string }
  | { readonly kind: "timeout" };
