import { type Result, ok, err } from "../lib/index.ts";
import { numberFromUri } from "./numbering.ts";
import { refusal } from "./refusal.ts";
import type { CustomerTrunk, DidSpec, E164, NumberingPlan, Refusal } from "./types.ts";

const E164_PATTERN = /^\+[1-9][0-9]{0,14}$/;

/** Parses `+15550100000` or a range `+15550100000-+15550100099` (both ends inclusive, same length). */
export function parseDidSpec(text: string): Result<DidSpec, string> {
  const t = text.replace(/\s/g, "");
  // The separator is the dash before the second `+`, so `+1555-0100` style input is not split.
  const dash = t.indexOf("-+");
  if (dash < 0) {
    return E164_PATTERN.test(t) ? ok({ kind: "number", number: t }) : err(`${text}: not an E.164 number`);
  }
  const spec: DidSpec = { kind: "range", from: t.slice(0, dash), to: t.slice(dash + 1) };
  const problem = checkDidSpec(spec);
  return problem === undefined ? ok(spec) : err(`${text}: ${problem}`);
}

/** Writes a DID spec in the form `parseDidSpec` reads. */
export function formatDidSpec(spec: DidSpec): string {
  return spec.kind === "number" ? spec.number : `${spec.from}-${spec.to}`;
}

function checkDidSpec(spec: DidSpec): string | undefined {
  if (spec.kind === "number") return E164_PATTERN.test(spec.number) ? undefined : "not an E.164 number";
  if (!E164_PATTERN.test(spec.from) || !E164_PATTERN.test(spec.to)) return "range ends must be E.164 numbers";
  if (spec.from.length !== spec.to.length) return "range ends differ in length";
  if (Number(spec.from.slice(1)) > Number(spec.to.slice(1))) return "range starts after it ends";
  return undefined;
}

/** Who owns a number, and through which provisioned DID entry. */
export interface DidOwner {
  readonly customer: CustomerTrunk;
  readonly did: DidSpec;
}

/** Number-to-customer lookup built once from the provisioning. */
export interface DidIndex {
  /** The owner of an E.164 number, or undefined. */
  lookup(number: E164): DidOwner | undefined;
  /** True when `number` belongs to customer `customerId` (caller-ID checks). */
  owns(customerId: string, number: E164): boolean;
  /** Count of provisioned entries (numbers and ranges). */
  readonly size: number;
}

interface RangeEntry {
  readonly start: number;
  readonly end: number;
  readonly owner: DidOwner;
}

function findRange(ranges: readonly RangeEntry[], n: number): RangeEntry | undefined {
  // Ranges of one length are sorted and disjoint: the candidate is the last one starting at or before n.
  let lo = 0;
  let hi = ranges.length - 1;
  let found: RangeEntry | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const r = ranges[mid];
    if (r === undefined) break;
    if (r.start <= n) {
      found = r;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found !== undefined && n <= found.end ? found : undefined;
}

/**
 * Builds the DID index. Exact numbers go in a map; ranges, grouped by digit count (a range never
 * spans lengths), sit in sorted arrays for binary search, so ranges of any size cost no memory
 * per number. Overlapping or malformed entries are all reported: a number must have one owner.
 */
export function createDidIndex(customers: readonly CustomerTrunk[]): Result<DidIndex, string[]> {
  const exact = new Map<string, DidOwner>();
  const rangesByLength = new Map<number, RangeEntry[]>();
  const errors: string[] = [];
  let size = 0;
  for (const customer of customers) {
    for (const did of customer.dids) {
      const problem = checkDidSpec(did);
      if (problem !== undefined) {
        errors.push(`customer ${customer.name}: DID ${formatDidSpec(did)}: ${problem}`);
        continue;
      }
      size++;
      const owner: DidOwner = { customer, did };
      if (did.kind === "number") {
        const previous = exact.get(did.number);
        if (previous !== undefined) {
          errors.push(`DID ${did.number} is provisioned for ${previous.customer.name} and ${customer.name}`);
        } else {
          exact.set(did.number, owner);
        }
        continue;
      }
      const len = did.from.length;
      const list = rangesByLength.get(len) ?? [];
      list.push({ start: Number(did.from.slice(1)), end: Number(did.to.slice(1)), owner });
      rangesByLength.set(len, list);
    }
  }
  for (const list of rangesByLength.values()) {
    list.sort((a, b) => a.start - b.start);
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1];
      const cur = list[i];
      if (prev !== undefined && cur !== undefined && cur.start <= prev.end) {
        errors.push(
          `DID range ${formatDidSpec(cur.owner.did)} (${cur.owner.customer.name}) overlaps ` +
            `${formatDidSpec(prev.owner.did)} (${prev.owner.customer.name})`,
        );
      }
    }
  }
  for (const [number, owner] of exact) {
    const range = findRange(rangesByLength.get(number.length) ?? [], Number(number.slice(1)));
    if (range !== undefined) {
      errors.push(`DID ${number} (${owner.customer.name}) lies in range ${formatDidSpec(range.owner.did)} (${range.owner.customer.name})`);
    }
  }
  if (errors.length > 0) return err(errors);
  const lookup = (number: E164): DidOwner | undefined => {
    const hit = exact.get(number);
    if (hit !== undefined) return hit;
    if (!E164_PATTERN.test(number)) return undefined;
    return findRange(rangesByLength.get(number.length) ?? [], Number(number.slice(1)))?.owner;
  };
  return ok({
    size,
    lookup,
    owns: (customerId: string, number: E164): boolean => lookup(number)?.customer.id === customerId,
  });
}

/** Where an inbound call goes, or why it is refused. */
export type InboundDidDecision =
  | { readonly kind: "deliver"; readonly number: E164; readonly owner: DidOwner; readonly reason: string }
  | { readonly kind: "refuse"; readonly refusal: Refusal };

/** Finds the customer of a called number as a carrier sent it (URI or user part, in the carrier's plan). */
export function lookupInboundDid(index: DidIndex, called: string, carrierPlan: NumberingPlan): InboundDidDecision {
  const parsed = numberFromUri(called, carrierPlan);
  if (!parsed.ok) return { kind: "refuse", refusal: refusal("invalid-number", `called number ${parsed.error.message}`) };
  const owner = index.lookup(parsed.value);
  if (owner === undefined) {
    return { kind: "refuse", refusal: refusal("unknown-did", `${parsed.value} is not assigned to any customer`) };
  }
  return {
    kind: "deliver",
    number: parsed.value,
    owner,
    reason: `${parsed.value} belongs to ${owner.customer.name} (DID ${formatDidSpec(owner.did)})`,
  };
}
