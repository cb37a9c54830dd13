// Live state (calls in progress, channels, gateway health, registrations) and CDR search.
import type { FastifyInstance } from "fastify";
import type { CdrQuery, Disposition } from "../ports/index.ts";
import { cdrsToCsv } from "./cdr-csv.ts";
import { HttpError } from "./errors.ts";
import { cdrQuerySchema, hangupQuerySchema, idParams } from "./schemas.ts";
import type { HttpAppDeps } from "./types.ts";

interface CdrSearchQuery {
  readonly from?: string;
  readonly to?: string;
  readonly trunk?: string;
  readonly number?: string;
  readonly disposition?: Disposition;
  readonly limit: number;
  readonly offset: number;
  readonly format: "json" | "csv";
}

function parseTime(name: string, text: string): number {
  // Date.parse accepts many shapes; an ISO date keeps "05/06" from meaning two things.
  const t = /^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(t)) {
    const issue = { path: `query.${name}`, message: "expected an ISO date or time such as 2026-01-31 or 2026-01-31T12:00:00Z" };
    throw new HttpError(400, "VALIDATION_FAILED", `${issue.path}: ${issue.message}`, [issue]);
  }
  return t;
}

/** Registers calls, trunks, health and CDR routes on app. */
export function registerLiveRoutes(app: FastifyInstance, deps: HttpAppDeps): void {
  app.get("/api/v1/calls", { config: { doc: { summary: "Calls in progress", tags: ["calls"] } } }, async () => ({ items: deps.calls.activeCalls() }));

  app.delete(
    "/api/v1/calls/:id",
    { schema: { params: idParams, querystring: hangupQuerySchema }, config: { doc: { summary: "Hang up a call (by our id or its Call-ID)", tags: ["calls"], status: 204 } } },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const { reason } = request.query as { reason?: string };
      if (!deps.calls.hangup(id, reason ?? "hung up through the API")) throw new HttpError(404, "NOT_FOUND", `no call ${id} in progress`);
      return reply.code(204).send();
    },
  );

  app.get(
    "/api/v1/trunks/:id/channels",
    { schema: { params: idParams }, config: { doc: { summary: "Channels in use and limits of a customer or carrier trunk", tags: ["calls"] } } },
    async (request) => {
      const { id } = request.params as { id: string };
      const policy = deps.policy();
      const trunk = policy.customers.get(id) ?? policy.carriers.get(id);
      if (trunk === undefined) throw new HttpError(404, "NOT_FOUND", `no customer or carrier ${id}`);
      const use = deps.calls.channelUse(id);
      return { trunkId: id, kind: policy.customers.has(id) ? "customer" : "carrier", inbound: use.inbound, outbound: use.outbound, total: use.inbound + use.outbound, limits: trunk.limits };
    },
  );

  app.get("/api/v1/health", { config: { doc: { summary: "Gateway health (OPTIONS pings) and carrier registrations", tags: ["calls"] } } }, async () => {
    const gateways = deps.health.gateways();
    const registrations = deps.health.registrations();
    const down = gateways?.filter((g) => g.status === "down").length ?? 0;
    const failed = registrations.filter((r) => r.status === "failed").length;
    return { status: down === 0 && failed === 0 ? "ok" : "degraded", gateways, registrations };
  });

  app.get(
    "/api/v1/cdrs",
    { schema: { querystring: cdrQuerySchema }, config: { doc: { summary: "Search call detail records, newest first (format=csv exports)", tags: ["cdrs"] } } },
    async (request, reply) => {
      const q = request.query as CdrSearchQuery;
      const query: CdrQuery = {
        limit: q.limit,
        offset: q.offset,
        ...(q.from === undefined ? {} : { from: parseTime("from", q.from) }),
        ...(q.to === undefined ? {} : { to: parseTime("to", q.to) }),
        ...(q.trunk === undefined ? {} : { trunkId: q.trunk }),
        ...(q.number === undefined ? {} : { number: q.number }),
        ...(q.disposition === undefined ? {} : { disposition: q.disposition }),
      };
      const { rows, total } = await deps.cdrs.search(query);
      // The total goes in a header too, so a CSV export still tells whether it is complete.
      void reply.header("x-total-count", String(total));
      if (q.format === "csv") {
        return reply.type("text/csv; charset=utf-8").header("content-disposition", 'attachment; filename="cdrs.csv"').send(cdrsToCsv(rows));
      }
      return { total, limit: q.limit, offset: q.offset, items: rows.map(({ trace: _trace, ...rest }) => rest) };
    },
  );

  app.get("/api/v1/cdrs/:id", { schema: { params: idParams }, config: { doc: { summary: "One call detail record with its decision trace", tags: ["cdrs"] } } }, async (request) => {
    const { id } = request.params as { id: string };
    const cdr = await deps.cdrs.get(id);
    if (cdr === undefined) throw new HttpError(404, "NOT_FOUND", `no CDR ${id}`);
    return cdr;
  });
}
