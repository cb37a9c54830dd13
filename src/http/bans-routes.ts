// The ban list of the running server: list, ban an address by hand, lift a ban; the customers
// the fraud engine suspended: list, lift; and the digest accounts locked after distributed
// guessing (security.auth.accountLock): list, unlock. The security guard and the fraud engine hold
// bans and suspensions in memory and write them through to storage, so both survive a restart;
// account locks live in memory only (a restart lifts them). `trunkline bans` is a client of these
// routes.
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

const accountParams = {
  type: "object",
  additionalProperties: false,
  required: ["account"],
  properties: { account: { type: "string", minLength: 1, maxLength: 256 } },
} as const;

/** GET /api/v1/account-locks and DELETE /api/v1/account-locks/:account (lift the lock on a digest account). */
function registerAccountLockRoutes(app: FastifyInstance, locks: NonNullable<HttpAppDeps["accountLocks"]>): void {
  app.get("/api/v1/account-locks", { config: { doc: { summary: "Digest accounts locked after repeated failed authentications", tags: ["security"] } } }, async () => ({
    items: locks.listAccountLocks(),
  }));
  app.delete(
    "/api/v1/account-locks/:account",
    { schema: { params: accountParams }, config: { doc: { summary: "Lift the lock on a digest account", tags: ["security"], status: 204 } } },
    async (request, reply) => {
      const { account } = request.params as { account: string };
      const out = locks.unlockAccount(account, "api");
      if (!out.ok) throw new HttpError(404, "NOT_FOUND", out.reason);
      return reply.code(204).send();
    },
  );
}

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

/**
 * Registers GET/POST /api/v1/bans and DELETE /api/v1/bans/:address when the server has a security
 * guard, the suspension routes with a fraud engine, and the account-lock routes with `accountLocks`.
 */
export function registerBanRoutes(app: FastifyInstance, bans: HttpAppDeps["bans"], fraud?: HttpAppDeps["fraud"], accountLocks?: HttpAppDeps["accountLocks"]): void {
  if (fraud !== undefined) registerSuspensionRoutes(app, fraud);
  if (accountLocks !== undefined) registerAccountLockRoutes(app, accountLocks);
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
