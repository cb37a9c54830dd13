import type { DidIndex } from "./dids.ts";
import { normalizeNumber } from "./numbering.ts";
import { refusal } from "./refusal.ts";
import type { CustomerTrunk, Direction, E164, Refusal, TrunkLimits } from "./types.ts";

/** Calls in progress on one trunk, per direction. Held by the call layer (memory or Redis). */
export interface ChannelCounts {
  readonly inbound: number;
  readonly outbound: number;
}

/** A trunk with no call in progress. */
export const NO_CHANNELS: ChannelCounts = { inbound: 0, outbound: 0 };

/** Anything with a name and limits: customer and carrier trunks both qualify. */
export interface LimitedTrunk {
  readonly name: string;
  readonly limits: TrunkLimits;
}

/** Default Retry-After on 503 refusals, in seconds. */
export const DEFAULT_RETRY_AFTER_SECONDS = 5;

/** An admission: the counts to store if the call is taken, or a refusal. */
export type AdmitDecision =
  | { readonly kind: "admit"; readonly counts: ChannelCounts; readonly reason: string }
  | { readonly kind: "refuse"; readonly refusal: Refusal };

function channelRefusal(trunk: LimitedTrunk, reason: string): AdmitDecision {
  return {
    kind: "refuse",
    refusal: refusal("channel-limit", reason, {
      status: trunk.limits.overLimitStatus ?? 503,
      retryAfterSeconds: trunk.limits.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS,
    }),
  };
}

/**
 * Decides whether one more call in `direction` fits the trunk's channel limits; on admission
 * returns the incremented counts, which the caller stores (and later `release`s on every way
 * the call can end).
 */
export function admit(trunk: LimitedTrunk, direction: Direction, counts: ChannelCounts): AdmitDecision {
  const { channels, inboundChannels, outboundChannels } = trunk.limits;
  const total = counts.inbound + counts.outbound;
  if (channels !== undefined && total >= channels) {
    return channelRefusal(trunk, `${trunk.name}: ${total} of ${channels} channels in use`);
  }
  const dirLimit = direction === "inbound" ? inboundChannels : outboundChannels;
  const inDir = direction === "inbound" ? counts.inbound : counts.outbound;
  if (dirLimit !== undefined && inDir >= dirLimit) {
    return channelRefusal(trunk, `${trunk.name}: ${inDir} of ${dirLimit} ${direction} channels in use`);
  }
  const next: ChannelCounts =
    direction === "inbound" ? { inbound: counts.inbound + 1, outbound: counts.outbound } : { inbound: counts.inbound, outbound: counts.outbound + 1 };
  return { kind: "admit", counts: next, reason: `${trunk.name}: ${direction} channel ${inDir + 1} admitted (${total + 1} in use)` };
}

/** The counts after a call in `direction` ends; never below zero, so a double release is harmless. */
export function release(counts: ChannelCounts, direction: Direction): ChannelCounts {
  return direction === "inbound"
    ? { inbound: Math.max(0, counts.inbound - 1), outbound: counts.outbound }
    : { inbound: counts.inbound, outbound: Math.max(0, counts.outbound - 1) };
}

/** Token-bucket state: tokens left at time `updatedAt` (ms, the caller's monotonic clock). */
export interface TokenBucket {
  readonly tokens: number;
  readonly updatedAt: number;
}

/** The outcome of asking for one call's token. The returned bucket is to be stored either way. */
export type CpsDecision =
  | { readonly kind: "admit"; readonly bucket: TokenBucket; readonly reason: string }
  | { readonly kind: "refuse"; readonly bucket: TokenBucket; readonly retryAfterMs: number; readonly refusal: Refusal };

/**
 * Takes a token for one new call at time `now` (ms). The bucket refills at `cps` tokens per
 * second up to `cpsBurst` (default `cps`); a missing bucket starts full. No limit: always admits.
 */
export function admitCps(trunk: LimitedTrunk, bucket: TokenBucket | undefined, now: number): CpsDecision {
  const rate = trunk.limits.cps;
  if (rate === undefined || rate <= 0) {
    return { kind: "admit", bucket: bucket ?? { tokens: 0, updatedAt: now }, reason: `${trunk.name}: no CPS limit` };
  }
  const burst = Math.max(1, trunk.limits.cpsBurst ?? rate);
  const start = bucket ?? { tokens: burst, updatedAt: now };
  // A clock that steps back (another node's time in shared state) must not mint tokens, now or later.
  const elapsedMs = Math.max(0, now - start.updatedAt);
  const tokens = Math.min(burst, start.tokens + (elapsedMs * rate) / 1000);
  const updatedAt = Math.max(start.updatedAt, now);
  if (tokens >= 1) {
    return { kind: "admit", bucket: { tokens: tokens - 1, updatedAt }, reason: `${trunk.name}: within ${rate} CPS` };
  }
  const retryAfterMs = Math.ceil(((1 - tokens) * 1000) / rate);
  return {
    kind: "refuse",
    bucket: { tokens, updatedAt },
    retryAfterMs,
    refusal: refusal("cps-limit", `${trunk.name}: over ${rate} calls per second (burst ${burst})`, {
      retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)),
    }),
  };
}

/** A policy verdict on a customer's outbound call. */
export type PolicyDecision =
  | { readonly kind: "allow"; readonly reason: string }
  | { readonly kind: "refuse"; readonly refusal: Refusal };

function canonicalPrefix(prefix: string): string {
  const p = prefix.replace(/[\s\-.()]/g, "");
  return p.startsWith("+") ? p : "+" + p;
}

function longestMatch(prefixes: readonly string[], number: E164): string | undefined {
  let best: string | undefined;
  for (const raw of prefixes) {
    const p = canonicalPrefix(raw);
    if (number.startsWith(p) && (best === undefined || p.length > best.length)) best = p;
  }
  return best;
}

/** Checks a normalized destination against the customer's allowed and denied prefixes. */
export function checkDestination(customer: CustomerTrunk, destination: E164): PolicyDecision {
  const denied = longestMatch(customer.outbound.deniedPrefixes ?? [], destination);
  if (denied !== undefined) {
    return { kind: "refuse", refusal: refusal("destination-not-allowed", `${customer.name}: ${destination} matches denied prefix ${denied}`) };
  }
  const allowed = longestMatch(customer.outbound.allowedPrefixes, destination);
  if (allowed === undefined) {
    return { kind: "refuse", refusal: refusal("destination-not-allowed", `${customer.name}: ${destination} matches no allowed prefix`) };
  }
  return { kind: "allow", reason: `${customer.name}: ${destination} allowed by ${allowed}` };
}

/** The caller-ID verdict, with the normalized caller number when it could be read. */
export type CallerIdDecision =
  | { readonly kind: "allow"; readonly callerNumber?: E164; readonly reason: string }
  | { readonly kind: "refuse"; readonly refusal: Refusal };

/**
 * Applies the customer's caller-ID rule to the number it presents (From or P-Asserted-Identity
 * user part, in the customer's plan). `own-dids` requires a DID of this customer.
 */
export function checkCallerId(customer: CustomerTrunk, presented: string, dids: DidIndex): CallerIdDecision {
  const parsed = normalizeNumber(presented, customer.numbering);
  if (customer.outbound.callerId === "any") {
    return parsed.ok
      ? { kind: "allow", callerNumber: parsed.value, reason: `${customer.name}: any caller ID allowed` }
      : { kind: "allow", reason: `${customer.name}: any caller ID allowed (${JSON.stringify(presented)} is not a number)` };
  }
  if (!parsed.ok) {
    return { kind: "refuse", refusal: refusal("caller-id-not-allowed", `${customer.name}: caller ID ${parsed.error.message}`) };
  }
  if (!dids.owns(customer.id, parsed.value)) {
    return { kind: "refuse", refusal: refusal("caller-id-not-allowed", `${customer.name}: caller ID ${parsed.value} is not one of its DIDs`) };
  }
  return { kind: "allow", callerNumber: parsed.value, reason: `${customer.name}: caller ID ${parsed.value} is its own DID` };
}
