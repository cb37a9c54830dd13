// CRUD for customers (with their DIDs), carriers (with their gateways), routes and rate decks.
// Every write loads the stored set, builds the next whole Provisioning and hands it to
// applyProvisioning, which compiles it (the policy's own checks, with paths such as
// `routes[2].carriers[0].carrierId`), stores it and puts it in force for the next call.
import type { FastifyInstance, FastifyRequest } from "fastify";
import {
  formatDidSpec,
  parseCidr,
  parseDidSpec,
  type CarrierTrunk,
  type CustomerMode,
  type CustomerTrunk,
  type DidSpec,
  type DigestCredentials,
  type Provisioning,
  type RateDeck,
  type Route,
} from "../domain/index.ts";
import type { ApiPrincipal, ApiRole } from "./auth.ts";
import { HttpError, issueFromText, issuesMessage, type ApiIssue } from "./errors.ts";
import { carrierSchema, customerSchema, didBodySchema, didParams, idParams, numberParams, rateDeckSchema, routeSchema, type JsonSchema } from "./schemas.ts";
import type { HttpAppDeps } from "./types.ts";

type ListName = "customers" | "carriers" | "routes" | "rateDecks";

/** A customer as the API reads and writes it: DIDs as text (`+E164` or `+A-+B`), mode's uri beside its kind. */
export type CustomerJson = Omit<CustomerTrunk, "dids" | "mode"> & {
  readonly dids: readonly string[];
  readonly mode: { readonly kind: CustomerMode["kind"]; readonly uri?: string };
};

/** What differs between the provisioning lists; everything else about their routes is the same. */
interface CollectionSpec<T, B> {
  readonly list: ListName;
  readonly path: string;
  readonly noun: string;
  /** The plural noun, also the OpenAPI tag of the list's routes. */
  readonly plural: string;
  readonly schema: JsonSchema;
  /** The field that names an item: its URL id, which the body must repeat. */
  readonly idField: "id" | "carrierId";
  /** The domain object, or the issues found in the body beyond its JSON schema. */
  fromBody(body: B, at: string): T | ApiIssue[];
  toJson(item: T, role: ApiRole): unknown;
  /** Other entries that go with a deleted one (a carrier's rate deck). */
  afterDelete?(p: Provisioning, id: string): Provisioning;
}

/** One provisioning list and how the API maps it. */
interface Collection<T, B> extends CollectionSpec<T, B> {
  idOf(item: T): string;
  bodyId(body: B): string;
  items(p: Provisioning): readonly T[];
  withItems(p: Provisioning, items: readonly T[]): Provisioning;
}

/** A collection from its spec: items are read and written by list name and named by idField. */
function collection<K extends CollectionSpec<T, B>["idField"], T extends Record<K, string>, B extends Record<K, string>>(
  spec: CollectionSpec<T, B> & { readonly idField: K },
): Collection<T, B> {
  const name = (x: Record<K, string>): string => x[spec.idField];
  return {
    ...spec,
    idOf: name,
    bodyId: name,
    // Each ListName holds the T its spec is declared with; the casts only restate that.
    items: (p) => p[spec.list] as readonly unknown[] as readonly T[],
    withItems: (p, items) => ({ ...p, [spec.list]: items }),
  };
}

const SECRET = "********";

/** Credentials as a role may see them: every password-equivalent (the password, either HA1) masked but for admins. */
function redacted(c: DigestCredentials, role: ApiRole): DigestCredentials {
  if (role === "admin") return c;
  return {
    ...c,
    ...(c.password === undefined ? {} : { password: SECRET }),
    ...(c.ha1 === undefined ? {} : { ha1: SECRET }),
    ...(c.ha1Sha256 === undefined ? {} : { ha1Sha256: SECRET }),
  };
}

function checkCidrs(list: readonly string[], at: string, issues: ApiIssue[]): void {
  list.forEach((text, i) => {
    const parsed = parseCidr(text);
    if (!parsed.ok) issues.push({ path: `${at}[${i}]`, message: `expected an IP address or CIDR block such as 127.0.4.0/24 (${parsed.error})` });
  });
}

function checkCredentials(c: DigestCredentials, at: string, issues: ApiIssue[]): void {
  if (c.password === undefined && c.ha1 === undefined && c.ha1Sha256 === undefined) issues.push({ path: `${at}.password`, message: "expected a password (or ha1, ha1Sha256)" });
  if ((c.ha1 !== undefined || c.ha1Sha256 !== undefined) && c.realm === undefined) issues.push({ path: `${at}.realm`, message: "an ha1 is bound to a realm: name it" });
}

const customers = collection<"id", CustomerTrunk, CustomerJson>({
  list: "customers",
  path: "/api/v1/customers",
  noun: "customer",
  plural: "customers",
  schema: customerSchema,
  idField: "id",
  fromBody(body, at) {
    const issues: ApiIssue[] = [];
    const dids: DidSpec[] = [];
    body.dids.forEach((text, j) => {
      const parsed = parseDidSpec(text);
      if (parsed.ok) dids.push(parsed.value);
      else issues.push({ path: `${at}.dids[${j}]`, message: `expected +E.164 number or range +A-+B (${parsed.error})` });
    });
    checkCidrs(body.identification.cidrs, `${at}.identification.cidrs`, issues);
    body.identification.credentials.forEach((c, k) => checkCredentials(c, `${at}.identification.credentials[${k}]`, issues));
    if (body.identification.cidrs.length === 0 && body.identification.credentials.length === 0) {
      issues.push({ path: `${at}.identification`, message: "a customer needs cidrs or credentials to be recognised by" });
    }
    let mode: CustomerMode = { kind: "registration" };
    if (body.mode.kind === "static") {
      if (body.mode.uri === undefined) issues.push({ path: `${at}.mode.uri`, message: "a static customer needs the URI of its PBX" });
      else mode = { kind: "static", uri: body.mode.uri };
    } else if (body.mode.uri !== undefined) {
      issues.push({ path: `${at}.mode.uri`, message: "a registration customer is reached at the Contact it registers; remove uri" });
    }
    if (issues.length > 0) return issues;
    return { ...body, mode, dids };
  },
  toJson: (c, role) => ({
    ...c,
    identification: { ...c.identification, credentials: c.identification.credentials.map((x) => redacted(x, role)) },
    dids: c.dids.map(formatDidSpec),
  }),
});

const carriers = collection<"id", CarrierTrunk, CarrierTrunk>({
  list: "carriers",
  path: "/api/v1/carriers",
  noun: "carrier",
  plural: "carriers",
  schema: carrierSchema,
  idField: "id",
  fromBody(body, at) {
    const issues: ApiIssue[] = [];
    checkCidrs(body.sourceCidrs, `${at}.sourceCidrs`, issues);
    if (body.credentials !== undefined) checkCredentials(body.credentials, `${at}.credentials`, issues);
    if (body.registration !== undefined && body.credentials === undefined) issues.push({ path: `${at}.credentials`, message: "outbound registration needs credentials" });
    return issues.length > 0 ? issues : body;
  },
  toJson: (c, role) => (c.credentials === undefined ? c : { ...c, credentials: redacted(c.credentials, role) }),
  // A rate deck belongs to its carrier: it goes with it rather than blocking the delete.
  afterDelete: (p, id) => ({ ...p, rateDecks: p.rateDecks.filter((d) => d.carrierId !== id) }),
});

const routes = collection<"id", Route, Route>({
  list: "routes",
  path: "/api/v1/routes",
  noun: "route",
  plural: "routes",
  schema: routeSchema,
  idField: "id",
  fromBody: (body) => body,
  toJson: (r) => r,
});

const rateDecks = collection<"carrierId", RateDeck, RateDeck>({
  list: "rateDecks",
  path: "/api/v1/rate-decks",
  noun: "rate deck",
  plural: "rate decks",
  schema: rateDeckSchema,
  idField: "carrierId",
  fromBody: (body) => body,
  toJson: (d) => d,
});

const COLLECTIONS = { customers, carriers, routes, rateDecks } as const;

function paramId(request: FastifyRequest): string | undefined {
  const params = request.params;
  if (typeof params !== "object" || params === null || !("id" in params)) return undefined;
  return typeof params.id === "string" ? params.id : undefined;
}

/** Where a route's body sits in the whole provisioning (`customers[3]`), for naming bad fields. */
export async function bodyPathPrefix(request: FastifyRequest, deps: HttpAppDeps): Promise<string> {
  const list = request.routeOptions.config.collection;
  if (list === undefined) return "body";
  const items: readonly unknown[] = COLLECTIONS[list].items(await deps.provisioning.load());
  const id = request.method === "PUT" ? paramId(request) : undefined;
  const collection: Collection<unknown, unknown> = COLLECTIONS[list] as Collection<unknown, unknown>;
  const index = id === undefined ? -1 : items.findIndex((x) => collection.idOf(x) === id);
  return `${list}[${index < 0 ? items.length : index}]`;
}

/** Registers the provisioning routes on app. */
export function registerProvisioningRoutes(app: FastifyInstance, deps: HttpAppDeps, principalOf: (r: FastifyRequest) => ApiPrincipal): void {
  // Writes run one at a time: each builds on the set the previous one stored.
  let queue: Promise<unknown> = Promise.resolve();
  const serialized = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };
  const mutate = <T>(change: (current: Provisioning) => { next: Provisioning; result: T }): Promise<T> =>
    serialized(async () => {
      const { next, result } = change(await deps.provisioning.load());
      const applied = await deps.applyProvisioning(next);
      if (!applied.ok) {
        const issues = applied.errors.map(issueFromText);
        throw new HttpError(400, "PROVISIONING_INVALID", issuesMessage(issues), issues);
      }
      return result;
    });

  const register = <T, B>(c: Collection<T, B>): void => {
    const tag = c.plural;
    const notFound = (id: string): HttpError => new HttpError(404, "NOT_FOUND", `no ${c.noun} ${id}`);
    const find = (p: Provisioning, id: string): number => c.items(p).findIndex((x) => c.idOf(x) === id);
    const build = (body: B, at: string): T => {
      const item = c.fromBody(body, at);
      if (Array.isArray(item)) throw new HttpError(400, "VALIDATION_FAILED", issuesMessage(item), item);
      return item as T;
    };

    const listSchema: JsonSchema = { type: "object", properties: { items: { type: "array", items: c.schema } } };
    app.get(c.path, { config: { doc: { summary: `List ${c.plural}`, tags: [tag], response: listSchema } } }, async (request) => {
      const role = principalOf(request).role;
      return { items: c.items(await deps.provisioning.load()).map((x) => c.toJson(x, role)) };
    });
    app.get(`${c.path}/:id`, { schema: { params: idParams }, config: { doc: { summary: `Read one ${c.noun}`, tags: [tag], response: c.schema } } }, async (request) => {
      const id = paramId(request) ?? "";
      const item = c.items(await deps.provisioning.load()).find((x) => c.idOf(x) === id);
      if (item === undefined) throw notFound(id);
      return c.toJson(item, principalOf(request).role);
    });
    app.post(
      c.path,
      { schema: { body: c.schema }, config: { collection: c.list, doc: { summary: `Create a ${c.noun}`, tags: [tag], status: 201, response: c.schema } } },
      async (request, reply) => {
        const body = request.body as B;
        const id = c.bodyId(body);
        const created = await mutate((p) => {
          if (find(p, id) >= 0) throw new HttpError(409, "ALREADY_EXISTS", `${c.noun} ${id} already exists`);
          const item = build(body, `${c.list}[${c.items(p).length}]`);
          return { next: c.withItems(p, [...c.items(p), item]), result: item };
        });
        return reply.code(201).send(c.toJson(created, "admin"));
      },
    );
    app.put(
      `${c.path}/:id`,
      { schema: { params: idParams, body: c.schema }, config: { collection: c.list, doc: { summary: `Replace a ${c.noun}`, tags: [tag], response: c.schema } } },
      async (request) => {
        const id = paramId(request) ?? "";
        const body = request.body as B;
        const updated = await mutate((p) => {
          const index = find(p, id);
          if (index < 0) throw notFound(id);
          const at = `${c.list}[${index}]`;
          if (c.bodyId(body) !== id) {
            const issue = { path: `${at}.${c.idField}`, message: `must be ${id}, the id in the URL` };
            throw new HttpError(400, "VALIDATION_FAILED", issuesMessage([issue]), [issue]);
          }
          const item = build(body, at);
          const items = [...c.items(p)];
          items[index] = item;
          return { next: c.withItems(p, items), result: item };
        });
        return c.toJson(updated, "admin");
      },
    );
    app.delete(`${c.path}/:id`, { schema: { params: idParams }, config: { doc: { summary: `Delete a ${c.noun}`, tags: [tag], status: 204 } } }, async (request, reply) => {
      const id = paramId(request) ?? "";
      await mutate((p) => {
        if (find(p, id) < 0) throw notFound(id);
        const next = c.withItems(p, c.items(p).filter((x) => c.idOf(x) !== id));
        return { next: c.afterDelete?.(next, id) ?? next, result: undefined };
      });
      return reply.code(204).send();
    });
  };

  register(customers);
  register(carriers);
  register(routes);
  register(rateDecks);

  /** Replaces one customer's DIDs with what change returns and resolves with the customer; 404 when there is none. */
  const changeDids = (id: string, change: (current: CustomerTrunk, index: number) => DidSpec[]): Promise<CustomerTrunk> =>
    mutate((p) => {
      const index = p.customers.findIndex((c) => c.id === id);
      const current = p.customers[index];
      if (current === undefined) throw new HttpError(404, "NOT_FOUND", `no customer ${id}`);
      const next: CustomerTrunk = { ...current, dids: change(current, index) };
      return { next: { ...p, customers: p.customers.map((c, i) => (i === index ? next : c)) }, result: next };
    });

  // DIDs live in their customer; these two routes change one without resending the customer.
  app.post(
    "/api/v1/customers/:id/dids",
    { schema: { params: idParams, body: didBodySchema }, config: { doc: { summary: "Add a DID or DID range to a customer", tags: ["dids"], status: 201 } } },
    async (request, reply) => {
      const id = paramId(request) ?? "";
      const text = (request.body as { did: string }).did;
      const customer = await changeDids(id, (current, index) => {
        const parsed = parseDidSpec(text);
        const at = `customers[${index}].dids[${current.dids.length}]`;
        if (!parsed.ok) throw new HttpError(400, "VALIDATION_FAILED", `${at}: ${parsed.error}`, [{ path: at, message: parsed.error }]);
        if (current.dids.some((d) => formatDidSpec(d) === formatDidSpec(parsed.value))) throw new HttpError(409, "ALREADY_EXISTS", `customer ${id} already has ${text}`);
        return [...current.dids, parsed.value];
      });
      return reply.code(201).send(customers.toJson(customer, "admin"));
    },
  );
  app.delete(
    "/api/v1/customers/:id/dids/:did",
    { schema: { params: didParams }, config: { doc: { summary: "Remove a DID or DID range from a customer", tags: ["dids"], status: 204 } } },
    async (request, reply) => {
      const { id, did } = request.params as { id: string; did: string };
      await changeDids(id, (current) => {
        const dids = current.dids.filter((d) => formatDidSpec(d) !== did);
        if (dids.length === current.dids.length) throw new HttpError(404, "NOT_FOUND", `customer ${id} has no DID entry ${did}`);
        return dids;
      });
      return reply.code(204).send();
    },
  );
  app.get(
    "/api/v1/dids/:number",
    { schema: { params: numberParams }, config: { doc: { summary: "Which customer owns a number (as now in force)", tags: ["dids"] } } },
    async (request) => {
      const { number } = request.params as { number: string };
      const owner = deps.policy().dids.lookup(number);
      if (owner === undefined) throw new HttpError(404, "NOT_FOUND", `no customer owns ${number}`);
      return { number, customerId: owner.customer.id, customerName: owner.customer.name, did: formatDidSpec(owner.did) };
    },
  );
}
