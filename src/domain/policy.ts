import { type Result, ok, err } from "../lib/index.ts";
import { type DidIndex, createDidIndex } from "./dids.ts";
import { type Identifier, createIdentifier } from "./identify.ts";
import { type RateTable, createRateTable } from "./rating.ts";
import { type RoutingTable, createRoutingTable } from "./routing.ts";
import type { CarrierTrunk, CustomerTrunk, Provisioning } from "./types.ts";

/** Provisioning compiled into the indexes used per request; rebuilt whenever provisioning changes. */
export interface Policy {
  readonly provisioning: Provisioning;
  readonly customers: ReadonlyMap<string, CustomerTrunk>;
  readonly carriers: ReadonlyMap<string, CarrierTrunk>;
  readonly identifier: Identifier;
  readonly dids: DidIndex;
  readonly routes: RoutingTable;
  readonly rates: ReadonlyMap<string, RateTable>;
}

/**
 * Compiles provisioning, collecting every problem at once (with the path of the offending
 * entry) so that `trunkline plan` can show them all instead of failing on the first.
 */
export function compilePolicy(provisioning: Provisioning): Result<Policy, string[]> {
  const errors: string[] = [];
  const customers = new Map<string, CustomerTrunk>();
  const carriers = new Map<string, CarrierTrunk>();
  provisioning.customers.forEach((c, i) => {
    if (customers.has(c.id)) errors.push(`customers[${i}].id: duplicate id ${c.id}`);
    customers.set(c.id, c);
  });
  provisioning.carriers.forEach((c, i) => {
    if (carriers.has(c.id)) errors.push(`carriers[${i}].id: duplicate id ${c.id}`);
    carriers.set(c.id, c);
    const gatewayIds = new Set<string>();
    c.gateways.forEach((g, j) => {
      if (gatewayIds.has(g.id)) errors.push(`carriers[${i}].gateways[${j}].id: duplicate id ${g.id}`);
      gatewayIds.add(g.id);
    });
  });
  provisioning.routes.forEach((r, i) => {
    r.carriers.forEach((rc, j) => {
      if (!carriers.has(rc.carrierId)) errors.push(`routes[${i}].carriers[${j}].carrierId: unknown carrier ${rc.carrierId}`);
    });
  });
  const identifier = createIdentifier(provisioning.customers, provisioning.carriers);
  if (!identifier.ok) errors.push(...identifier.error.map((e) => `identification: ${e}`));
  const dids = createDidIndex(provisioning.customers);
  if (!dids.ok) errors.push(...dids.error.map((e) => `dids: ${e}`));
  const routes = createRoutingTable(provisioning.routes);
  if (!routes.ok) errors.push(...routes.error.map((e) => `routes: ${e}`));
  const rates = new Map<string, RateTable>();
  provisioning.rateDecks.forEach((deck, i) => {
    if (!carriers.has(deck.carrierId)) errors.push(`rateDecks[${i}].carrierId: unknown carrier ${deck.carrierId}`);
    if (rates.has(deck.carrierId)) errors.push(`rateDecks[${i}].carrierId: second deck for ${deck.carrierId}`);
    const table = createRateTable(deck);
    if (table.ok) rates.set(deck.carrierId, table.value);
    else errors.push(...table.error.map((e) => `rateDecks[${i}]: ${e}`));
  });
  if (errors.length > 0 || !identifier.ok || !dids.ok || !routes.ok) return err(errors);
  return ok({ provisioning, customers, carriers, identifier: identifier.value, dids: dids.value, routes: routes.value, rates });
}
