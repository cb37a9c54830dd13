import type { CarrierTrunk, DigestCredentials, FailoverPolicy } from "../domain/index.ts";
import type { NameAddr, SendTarget, SipUri } from "../sip/index.ts";

/** One place the B2BUA may send the call: a carrier gateway, or a customer's contact or failover URI. */
export interface CallTarget {
  /** Written in the CDR attempt and the trace, e.g. `alpha/alpha-gw1 sip:+1555@127.0.2.1:5060`. */
  readonly label: string;
  readonly requestUri: SipUri;
  /** To of the B-leg INVITE (no tag). */
  readonly to: NameAddr;
  /** From of the B-leg INVITE (no tag); its host is ours, never the caller's. */
  readonly from: NameAddr;
  /** A known flow (a registered PBX behind NAT); null resolves the Request-URI (RFC 3263). */
  readonly flow: SendTarget | null;
  /** The carrier this attempt uses, whose channel it takes; null for customer targets. */
  readonly carrier: CarrierTrunk | null;
  readonly gatewayId: string | null;
  /** The failover policy of the trunk this target belongs to (codes, timeout, transport errors). */
  readonly failover: FailoverPolicy;
  /** Credentials we answer this target's 401/407 with, once. */
  readonly credentials?: DigestCredentials;
  /** Price of the destination on this carrier, used for the CDR cost when the call is answered here. */
  readonly pricePerMinute?: number;
  readonly currency?: string;
  /** Consecutive targets with the same group are rung at once (parallel forking); the first 2xx wins. */
  readonly group?: string;
}
