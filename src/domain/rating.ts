import { type Result, ok, err } from "../lib/index.ts";
import type { E164, RateDeck, RateDeckEntry } from "./types.ts";

/** A rate deck indexed for longest-prefix lookup. */
export interface RateTable {
  readonly carrierId: string;
  readonly currency: string;
  /** The most specific entry for a number, or undefined when the deck has no price for it. */
  lookup(number: E164): RateDeckEntry | undefined;
}

/**
 * Indexes a deck. Prefixes are at most 15 digits, so a lookup probes a map at most 16 times
 * (longest first), whatever the deck's size (decks run to tens of thousands of lines).
 */
export function createRateTable(deck: RateDeck): Result<RateTable, string[]> {
  const byPrefix = new Map<string, RateDeckEntry>();
  const errors: string[] = [];
  for (const entry of deck.entries) {
    const prefix = entry.prefix.startsWith("+") ? entry.prefix.slice(1) : entry.prefix;
    if (!/^[0-9]{0,15}$/.test(prefix)) errors.push(`rate deck ${deck.carrierId}: prefix ${JSON.stringify(entry.prefix)} is not digits`);
    else if (!(Number.isFinite(entry.pricePerMinute) && entry.pricePerMinute >= 0)) {
      errors.push(`rate deck ${deck.carrierId}: prefix ${prefix} has an invalid price`);
    } else if (byPrefix.has(prefix)) errors.push(`rate deck ${deck.carrierId}: prefix ${prefix} appears twice`);
    else byPrefix.set(prefix, { prefix, pricePerMinute: entry.pricePerMinute });
  }
  if (errors.length > 0) return err(errors);
  return ok({
    carrierId: deck.carrierId,
    currency: deck.currency,
    lookup(number: E164): RateDeckEntry | undefined {
      const digits = number.startsWith("+") ? number.slice(1) : number;
      for (let len = Math.min(digits.length, 15); len >= 0; len--) {
        const hit = byPrefix.get(digits.slice(0, len));
        if (hit !== undefined) return hit;
      }
      return undefined;
    },
  });
}

/** Billing increments: the first `minimumSeconds` are always billed, then blocks of `incrementSeconds` (60/60, 1/1, 30/6). */
export interface BillingIncrements {
  readonly minimumSeconds: number;
  readonly incrementSeconds: number;
}

/** Per-minute billing, the most common carrier default. */
export const BILLING_60_60: BillingIncrements = { minimumSeconds: 60, incrementSeconds: 60 };
/** Per-second billing. */
export const BILLING_1_1: BillingIncrements = { minimumSeconds: 1, incrementSeconds: 1 };

/** Seconds billed for a call of `durationSeconds` (answered time); zero for unanswered calls. */
export function billedSeconds(durationSeconds: number, increments: BillingIncrements): number {
  if (!(durationSeconds > 0)) return 0;
  const { minimumSeconds, incrementSeconds } = increments;
  if (durationSeconds <= minimumSeconds) return minimumSeconds;
  const step = Math.max(1, incrementSeconds);
  // A microsecond of slack keeps 120.0000001 s (float noise from ms arithmetic) from costing a whole extra block.
  const blocks = Math.ceil((durationSeconds - minimumSeconds - 1e-6) / step);
  return minimumSeconds + blocks * step;
}

/** The cost of a call: billed seconds times the per-minute price, rounded to 6 decimals. */
export interface CallCost {
  readonly billedSeconds: number;
  readonly cost: number;
}

/** Rates a call of `durationSeconds` at `pricePerMinute` with the given increments. */
export function callCost(pricePerMinute: number, durationSeconds: number, increments: BillingIncrements): CallCost {
  const billed = billedSeconds(durationSeconds, increments);
  // Rounded once at the end: CDR sums stay stable and no sub-micro-unit noise is stored.
  const cost = Math.round(((pricePerMinute * billed) / 60) * 1e6) / 1e6;
  return { billedSeconds: billed, cost };
}
