// The ban list of the running server: list, ban an address by hand, lift a ban; and the customers
// the fraud engine suspended: list, lift. The security guard and the fraud engine hold them in
// memory and write them through to storage, so both survive a restart; `trunkline bans` is a
// client of these routes.
import type { FastifyInstance } from "fastify";
import { HttpError } from "./errors.ts";
import type { HttpAppDeps } from "./types.ts";

const addressParams = {
  type: "object",
  additionalProperties: false,
  required: ["address"],
  properties: { address: { type: "string", minLength: 1, maxLength: 64 } },
} as const;

const banBody = {
  type: "object",
  additionalProperties: false,
  required: ["address"],
  properties: {
    address: { type: "string", minLength: 1, maxLength: 64 },
    seconds: { type: "integer", minimum: 1, maximum: 31_536_000 },
    reason: { type: "string", minLength: 1, maxLength: 200 },
  },
} as const;

const customerParams = {
  type: "object",
  additionalProperties: false,
  required: ["customer"],
  properties: { customer: { type: "string", minLength: 1, maxLength: 64 } },
} as const;

/** GET /api/v1/suspensions and DELETE /api/v1/suspensions/:customer (lift a fraud suspension). */
function registerSuspensionRoutes(app: FastifyInstance, fraud: NonNullable<HttpAppDeps["fraud"]>): void {
  app.get("/api/v1/suspensions", { config: { doc: { summary: "Customers whose outbound calling the fraud engine suspended", tags: ["security"] } } }, async () => ({
    items: fraud.suspensions(),
  }));
  app.delete(
    "/api/v1/suspensions/:customer",
    { schema: { params: customerParams }, config: { doc: { summary: "Lift a customer's fraud suspension", tags: ["security"], status: 204 } } },
    async (request, reply) => {
      const { customer } = request.params as { customer: string };
      if (!fraud.lift(customer, "api")) throw new HttpError(404, "NOT_FOUND", `${customer} is not suspended`);
      return reply.code(204).send();
    },
  );
}

/** Registers GET/POST /api/v1/bans and DELETE /api/v1/bans/:address when the server has a security guard, and the suspension routes with a fraud engine. */
export function registerBanRoutes(app: FastifyInstance, bans: HttpAppDeps["bans"], fraud?: HttpAppDeps["fraud"]): void {
  if (fraud !== undefined) registerSuspensionRoutes(app, fraud);
  if (bans === undefined) return;
  app.get("/api/v1/bans", { config: { doc: { summary: "Banned source addresses", tags: ["security"] } } }, async () => ({ items: bans.listBans() }));
  app.post(
    "/api/v1/bans",
    { schema: { body: banBody }, config: { doc: { summary: "Ban a source address (until lifted, or for `seconds`)", tags: ["security"], status: 201 } } },
    async (request, reply) => {
      const body = request.body as { address: string; seconds?: number; reason?: string };
      const out = bans.addBan(body.address, {
        ...(body.seconds !== undefined ? { seconds: body.seconds } : {}),
        ...(body.reason !== undefined ? { reason: body.reason } : {}),
        by: "api",
      });
      if (!out.ok) throw new HttpError(400, "VALIDATION_FAILED", out.reason, [{ path: "address", message: out.reason }]);
      return reply.code(201).send(out.ban);
    },
  );
  app.delete(
    "/api/v1/bans/:address",
    { schema: { params: addressParams }, config: { doc: { summary: "Lift the ban of a source address", tags: ["security"], status: 204 } } },
    async (request, reply) => {
      const { address } = request.params as { address: string };
      const out = bans.liftBan(address);
      if (!out.ok) throw new HttpError(404, "NOT_FOUND", out.reason);
      return reply.code(204).send();
    },
  );
}
