import type { ChannelCounts, Policy } from "../domain/index.ts";
import type { Clock } from "../lib/index.ts";
import type { Logger } from "../observability/index.ts";
import type { BindingRepository, CallDetailRecord, CdrRepository } from "../ports/index.ts";
import type { DigestAlgorithm, SipStack, TransportProtocol } from "../sip/index.ts";
import type { FraudEngine } from "./fraud-engine.ts";
import type { MediaAnchor } from "./media-anchor.ts";

/** Settings of the call layer; everything but realm and nonce secret has a default. */
export interface CallLayerOptions {
  /** Digest realm of our 407 challenges. */
  readonly realm: string;
  /** Secret the stateless nonces are signed with (shared by every node of a cluster). */
  readonly nonceSecret: string;
  /** Host and port written in our Contact per transport; default the bound listener. */
  readonly advertised?: Partial<Record<TransportProtocol, { readonly host: string; readonly port: number }>>;
  /** A call is torn down this long after answer. Default 4 h. */
  readonly maxCallDurationMs?: number;
  /** RFC 4028 interval we ask for when the caller supports timers but asks for none. Default 1800 s. */
  readonly sessionTimerSeconds?: number;
  /** RFC 4028 Min-SE: shorter Session-Expires are refused with 422. Default 90 s (the RFC's floor). */
  readonly minSessionExpiresSeconds?: number;
  /** REFER: refuse with 403, or pass it to the other leg. Default reject. */
  readonly referPolicy?: "reject" | "pass";
  /** No-response timeout of an attempt when the trunk's failover policy sets none. Default 5000 ms. */
  readonly inviteTimeoutMs?: number;
  /** Algorithms offered in 407 challenges, in header order. Default MD5 then SHA-256 (see challenge step). */
  readonly digestAlgorithms?: readonly DigestAlgorithm[];
  /** Several registered contacts of one customer: ring them all at once (default) or one after another by q. */
  readonly registrationForking?: "parallel" | "sequential";
  /** [0, 1) source for weighted routing; Math.random when absent. */
  readonly random?: () => number;
}

/** What createCallLayer needs. */
export interface CallLayerDeps {
  readonly stack: SipStack;
  /** The compiled provisioning current now; read once per new call, so a change applies to the next call. */
  readonly policy: () => Policy;
  readonly cdrs: CdrRepository;
  /** Told of every call's record once it is written (the single place every call ends): /metrics counts there. */
  readonly onCallEnded?: (record: CallDetailRecord) => void;
  readonly bindings: BindingRepository;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly media?: MediaAnchor;
  /** Gateway health from OPTIONS pings; a gateway reported down is skipped by routing. */
  readonly health?: { isDown(gatewayId: string): boolean };
  /** Told of every failed digest on an INVITE (the 403 path): source address and username tried. */
  readonly onAuthFailure?: (source: string, account: string | undefined) => void;
  /** The lock on a digest account (security.auth.accountLock), if in force: its INVITEs get 403 unchecked. */
  readonly accountLock?: (account: string) => { readonly reason: string } | undefined;
  /** Per-call SIP capture: each leg's Call-ID is linked to the call, the ladder finished when the record closes. */
  readonly sipLadder?: { link(sipCallId: string, callId: string, leg: "a" | "b"): void; finish(callId: string): void };
  /** Toll-fraud engine (main.ts builds it with the configured ranges, webhook and stored suspensions); default: shipped ranges, no webhook. */
  readonly fraud?: FraudEngine;
  readonly options: CallLayerOptions;
}

/** One call in progress, as the API and dashboard show it. */
export interface ActiveCall {
  readonly id: string;
  readonly callId: string;
  readonly direction: "inbound" | "outbound";
  readonly customerId: string | null;
  readonly carrierId: string | null;
  readonly state: "trying" | "early" | "answered";
  readonly startedAt: number;
  readonly answeredAt: number | null;
}

/** The running call layer. */
export interface CallLayer {
  /** Calls admitted and not yet ended. */
  activeCalls(): ActiveCall[];
  /** Channels in use on a customer or carrier trunk. */
  channelUse(trunkId: string): ChannelCounts;
  /** Ends a call (by our id or its A-leg Call-ID) as the system; false when no such call. */
  hangup(callId: string, reason?: string): boolean;
  /** Ends every call (BYE, CANCEL or 487), closes their CDRs as ended by shutdown and stops taking calls. */
  stop(): Promise<void>;
}
