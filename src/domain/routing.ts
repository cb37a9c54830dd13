import { type Result, ok, err } from "../lib/index.ts";
import { type ChannelCounts, admit } from "./admission.ts";
import { formatForCarrier } from "./numbering.ts";
import type { RateTable } from "./rating.ts";
import { refusal } from "./refusal.ts";
import type { AttemptOutcome, CarrierTrunk, CustomerTrunk, E164, FailoverPolicy, Gateway, Refusal, Route, RouteCarrier } from "./types.ts";

/** Routes indexed by prefix for longest-prefix match. */
export interface RoutingTable {
  /** The route with the longest prefix of `number`, or undefined. */
  match(number: E164): Route | undefined;
}

/** Indexes routes; duplicate or non-digit prefixes are reported. */
export function createRoutingTable(routes: readonly Route[]): Result<RoutingTable, string[]> {
  const byPrefix = new Map<string, Route>();
  const errors: string[] = [];
  for (const route of routes) {
    const prefix = route.prefix.startsWith("+") ? route.prefix.slice(1) : route.prefix;
    if (!/^[0-9]{0,15}$/.test(prefix)) errors.push(`route ${route.id}: prefix ${JSON.stringify(route.prefix)} is not digits`);
    else if (byPrefix.has(prefix)) errors.push(`route ${route.id}: prefix ${prefix} is also route ${byPrefix.get(prefix)?.id ?? "?"}`);
    else byPrefix.set(prefix, route);
  }
  if (errors.length > 0) return err(errors);
  return ok({
    match(number: E164): Route | undefined {
      const digits = number.startsWith("+") ? number.slice(1) : number;
      // At most 16 map probes, longest first: the first hit is the longest match.
      for (let len = Math.min(digits.length, 15); len >= 0; len--) {
        const hit = byPrefix.get(digits.slice(0, len));
        if (hit !== undefined) return hit;
      }
      return undefined;
    },
  });
}

/**
 * Orders items by weighted random draw without replacement: an item of weight 3 comes first
 * three times as often as one of weight 1. Zero-weight items keep their order at the end
 * (standby: only used when the others failed). `random` returns [0, 1).
 */
export function weightedOrder<T>(items: readonly T[], weightOf: (item: T) => number, random: () => number): T[] {
  const pool = items.filter((i) => weightOf(i) > 0);
  const standby = items.filter((i) => !(weightOf(i) > 0));
  const out: T[] = [];
  while (pool.length > 0) {
    let total = 0;
    for (const i of pool) total += weightOf(i);
    let r = random() * total;
    let pick = pool.length - 1;
    for (let k = 0; k < pool.length; k++) {
      const item = pool[k];
      if (item === undefined) continue;
      r -= weightOf(item);
      if (r < 0) {
        pick = k;
        break;
      }
    }
    const [chosen] = pool.splice(pick, 1);
    if (chosen !== undefined) out.push(chosen);
  }
  return [...out, ...standby];
}

/** Sorts by key, then weighted-shuffles each run of equal keys. */
function groupedWeightedOrder<T>(items: readonly T[], key: (item: T) => number, weightOf: (item: T) => number, random: () => number): T[] {
  const keys = [...new Set(items.map(key))].sort((a, b) => a - b);
  return keys.flatMap((k) => weightedOrder(items.filter((i) => key(i) === k), weightOf, random));
}

/** The facts routing needs besides the route: provisioned carriers, prices, health, load. */
export interface RoutingContext {
  readonly carriers: ReadonlyMap<string, CarrierTrunk>;
  /** Rate tables by carrier id; needed by `cost` routes, and used to price attempts when present. */
  readonly rates: ReadonlyMap<string, RateTable>;
  /** Ids of gateways the health checks marked down. */
  readonly downGateways: ReadonlySet<string>;
  /** Calls in progress per carrier id; a carrier at its channel limit is skipped. */
  readonly carrierChannels?: ReadonlyMap<string, ChannelCounts>;
  /** Returns [0, 1); injected so that tests are exact. */
  readonly random: () => number;
}

/** One INVITE to try, in order. */
export interface GatewayAttempt {
  readonly carrier: CarrierTrunk;
  readonly gateway: Gateway;
  /** The called number written the way this carrier wants it (Request-URI user part). */
  readonly calledUser: string;
  /** Price per minute for the destination on this carrier, when its deck has one. */
  readonly pricePerMinute?: number;
  readonly currency?: string;
}

/** Something left out of the plan and why, for the operator. */
export interface Skipped {
  readonly carrierId: string;
  readonly gatewayId?: string;
  readonly reason: string;
}

/** The ordered attempts for a destination, or a refusal. */
export type RoutePlan =
  | { readonly kind: "route"; readonly route: Route; readonly attempts: readonly GatewayAttempt[]; readonly skipped: readonly Skipped[]; readonly reason: string }
  | { readonly kind: "refuse"; readonly refusal: Refusal; readonly skipped: readonly Skipped[] };

/** A usable carrier of a route, with its price when known. */
export interface RouteCandidate {
  readonly entry: RouteCarrier;
  readonly carrier: CarrierTrunk;
  readonly price?: number;
  readonly currency?: string;
}

/**
 * Orders a route's usable carriers. `priority` routes: by priority, weighted within a priority.
 * `cost` routes (LCR): cheapest first, then priority, then weight; a carrier whose deck has no
 * price for the destination is left out rather than guessed at.
 */
export function orderCarriers(route: Route, destination: E164, ctx: RoutingContext): { ordered: RouteCandidate[]; skipped: Skipped[] } {
  const skipped: Skipped[] = [];
  const candidates: RouteCandidate[] = [];
  for (const entry of route.carriers) {
    const carrier = ctx.carriers.get(entry.carrierId);
    if (carrier === undefined) {
      skipped.push({ carrierId: entry.carrierId, reason: "carrier not provisioned" });
      continue;
    }
    const counts = ctx.carrierChannels?.get(carrier.id);
    if (counts !== undefined) {
      const verdict = admit(carrier, "outbound", counts);
      if (verdict.kind === "refuse") {
        skipped.push({ carrierId: carrier.id, reason: verdict.refusal.reason });
        continue;
      }
    }
    const table = ctx.rates.get(carrier.id);
    const rate = table?.lookup(destination);
    if (route.ordering === "cost" && rate === undefined) {
      skipped.push({ carrierId: carrier.id, reason: `no rate for ${destination}` });
      continue;
    }
    candidates.push(
      rate !== undefined && table !== undefined
        ? { entry, carrier, price: rate.pricePerMinute, currency: table.currency }
        : { entry, carrier },
    );
  }
  if (route.ordering === "priority") {
    return { ordered: groupedWeightedOrder(candidates, (c) => c.entry.priority, (c) => c.entry.weight, ctx.random), skipped };
  }
  const prices = [...new Set(candidates.map((c) => c.price ?? Infinity))].sort((a, b) => a - b);
  const ordered = prices.flatMap((p) =>
    groupedWeightedOrder(
      candidates.filter((c) => (c.price ?? Infinity) === p),
      (c) => c.entry.priority,
      (c) => c.entry.weight,
      ctx.random,
    ),
  );
  return { ordered, skipped };
}

/** Orders a carrier's gateways (priority, then weight), leaving out the ones marked down. */
export function orderGateways(carrier: CarrierTrunk, ctx: RoutingContext): { gateways: Gateway[]; skipped: Skipped[] } {
  const skipped: Skipped[] = [];
  const up: Gateway[] = [];
  for (const g of carrier.gateways) {
    if (ctx.downGateways.has(g.id)) skipped.push({ carrierId: carrier.id, gatewayId: g.id, reason: "gateway marked down" });
    else up.push(g);
  }
  return { gateways: groupedWeightedOrder(up, (g) => g.priority, (g) => g.weight, ctx.random), skipped };
}

/** Plans the outbound attempts for a normalized destination: route match, carrier order, gateways. */
export function planRoute(table: RoutingTable, destination: E164, ctx: RoutingContext): RoutePlan {
  const route = table.match(destination);
  if (route === undefined) {
    return { kind: "refuse", refusal: refusal("no-route", `no route matches ${destination}`), skipped: [] };
  }
  const { ordered, skipped } = orderCarriers(route, destination, ctx);
  const attempts: GatewayAttempt[] = [];
  for (const c of ordered) {
    const gw = orderGateways(c.carrier, ctx);
    skipped.push(...gw.skipped);
    const calledUser = formatForCarrier(destination, c.carrier.numbering);
    for (const gateway of gw.gateways) {
      attempts.push(
        c.price !== undefined && c.currency !== undefined
          ? { carrier: c.carrier, gateway, calledUser, pricePerMinute: c.price, currency: c.currency }
          : { carrier: c.carrier, gateway, calledUser },
      );
    }
  }
  const where = `route ${route.id} (prefix ${route.prefix === "" ? "default" : "+" + route.prefix.replace(/^\+/, "")})`;
  if (attempts.length === 0) {
    return { kind: "refuse", refusal: refusal("route-unavailable", `${where}: no usable carrier or gateway for ${destination}`), skipped };
  }
  const carriersInOrder = [...new Set(attempts.map((a) => a.carrier.name))].join(", ");
  return {
    kind: "route",
    route,
    attempts,
    skipped,
    reason: `${where} by ${route.ordering}: ${carriersInOrder}`,
  };
}

/** Failover codes when a trunk does not say otherwise: no answer or a server-side failure, never a definite answer. */
export const DEFAULT_FAILOVER_CODES: readonly number[] = [408, 480, 500, 502, 503, 504];

/** The default failover policy, with the no-response timeout the trunk configures. */
export function defaultFailoverPolicy(timeoutMs = 5000): FailoverPolicy {
  return { codes: DEFAULT_FAILOVER_CODES, onTransportError: true, onTimeout: true, timeoutMs };
}

/** Whether to try the next target, and why. */
export interface FailoverDecision {
  readonly failover: boolean;
  readonly reason: string;
}

/** Decides whether an attempt's outcome moves the call to the next target under a trunk's policy. */
export function shouldFailover(trunk: { readonly failover: FailoverPolicy }, outcome: AttemptOutcome): FailoverDecision {
  const policy = trunk.failover;
  switch (outcome.kind) {
    case "transport-error":
      return { failover: policy.onTransportError, reason: `transport error${outcome.detail !== undefined ? ` (${outcome.detail})` : ""}` };
    case "timeout":
      return { failover: policy.onTimeout, reason: `no response within ${policy.timeoutMs} ms` };
    case "response": {
      const s = outcome.status;
      if (s < 300) return { failover: false, reason: `${s} is not a failure` };
      if (s < 400) return { failover: false, reason: `${s} is a redirect` };
      // RFC 3261 21.6: a 6xx says the call fails everywhere; trying elsewhere would only annoy.
      if (s >= 600) return { failover: false, reason: `${s} is a global failure` };
      return policy.codes.includes(s)
        ? { failover: true, reason: `${s} is a failover code` }
        : { failover: false, reason: `${s} is a definite answer` };
    }
  }
}

/** One target of an inbound delivery, with where it came from. */
export interface DeliveryTarget {
  readonly uri: string;
  readonly source: "static" | "registration" | "failover";
}

/** Where an inbound call to a customer goes: its targets in order, then an optional forward number. */
export type DeliveryPlan =
  | { readonly kind: "deliver"; readonly targets: readonly DeliveryTarget[]; readonly forwardTo?: E164; readonly reason: string }
  | { readonly kind: "refuse"; readonly refusal: Refusal };

/**
 * Plans delivery to a customer: its static URI or registered contacts, then its failover URIs;
 * the forward-to number, if any, goes last (through outbound routing).
 */
export function planDelivery(customer: CustomerTrunk, registeredContacts: readonly string[]): DeliveryPlan {
  const primary: DeliveryTarget[] =
    customer.mode.kind === "static"
      ? [{ uri: customer.mode.uri, source: "static" }]
      : registeredContacts.map((uri) => ({ uri, source: "registration" as const }));
  const targets = [...primary, ...customer.failover.uris.map((uri) => ({ uri, source: "failover" as const }))];
  const forwardTo = customer.failover.forwardTo;
  if (targets.length === 0 && forwardTo === undefined) {
    return { kind: "refuse", refusal: refusal("not-registered", `${customer.name} is not registered and has no failover`) };
  }
  const reason =
    (primary.length === 0 ? `${customer.name} not registered; ` : "") +
    `${targets.length} target(s)` +
    (forwardTo !== undefined ? `, then forward to ${forwardTo}` : "");
  return forwardTo !== undefined ? { kind: "deliver", targets, forwardTo, reason } : { kind: "deliver", targets, reason };
}
