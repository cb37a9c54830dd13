// Builds the HTTP app (REST API, /metrics, /openapi.json, /docs) without listening: main.ts
// listens, tests use app.inject().
import { createServer } from "node:https";
import fastify, { type FastifyError, type FastifyHttpOptions, type FastifyInstance, type FastifyRequest } from "fastify";
import type { Server } from "node:http";
import { PROMETHEUS_CONTENT_TYPE } from "../observability/index.ts";
import { authenticate, authorize, type ApiPrincipal } from "./auth.ts";
import { HttpError, errorBody, issuesMessage, type ApiIssue } from "./errors.ts";
import { registerDashboardRoutes } from "./dashboard-routes.ts";
import { registerBanRoutes } from "./bans-routes.ts";
import { registerLiveRoutes } from "./live-routes.ts";
import { registerLadderRoutes } from "./ladder-routes.ts";
import { registerPlanRoutes } from "./plan-routes.ts";
import { collectRoutes, docsPage, openApiDocument } from "./openapi.ts";
import { bodyPathPrefix, registerProvisioningRoutes } from "./provisioning-routes.ts";
import type { HttpAppDeps, HttpAppOptions } from "./types.ts";

/** Builds the app; call `listen` (main.ts) or `inject` (tests) on the result. */
export function buildHttpApp(deps: HttpAppDeps, options: HttpAppOptions = {}): FastifyInstance {
  const https = options.https;
  const settings: FastifyHttpOptions<Server> = {
    logger: false,
    ajv: {
      customOptions: {
        // A misspelt field is an error, never silently dropped; every bad field is reported at once.
        removeAdditional: false,
        allErrors: true,
        useDefaults: true,
        coerceTypes: "array",
      },
    },
  };
  // An https.Server is an http.Server to fastify; the factory keeps the app's type the same either way.
  if (https !== undefined) settings.serverFactory = (handler) => createServer({ key: https.key, cert: https.cert }, handler);
  const app = fastify(settings);
  const principals = new WeakMap<FastifyRequest, ApiPrincipal>();
  const principalOf = (request: FastifyRequest): ApiPrincipal => principals.get(request) ?? { name: "anonymous", role: "read" };

  app.addHook("onRequest", async (request, reply) => {
    // The matched route, not the raw URL: no spelling of a path can reach a route past this check.
    const path = request.routeOptions.url ?? "";
    const isMetrics = path === "/metrics";
    if (!path.startsWith("/api/") && !(isMetrics && deps.metricsNeedToken)) return;
    try {
      const principal = authenticate(request.headers.authorization, deps.tokens);
      authorize(principal, request.method);
      principals.set(request, principal);
    } catch (e) {
      if (e instanceof HttpError && e.statusCode === 401) void reply.header("www-authenticate", 'Bearer realm="trunkline"');
      throw e;
    }
  });

  app.setErrorHandler(async (error: FastifyError | HttpError, request, reply) => {
    if (error instanceof HttpError) return reply.code(error.statusCode).send(errorBody(error));
    if (error.validation !== undefined) {
      const prefix = await validationPrefix(error.validationContext, request, deps);
      const issues = error.validation.map((v): ApiIssue => issueFromAjv(prefix, v.instancePath, v.params, v.message ?? "is invalid"));
      const e = new HttpError(400, "VALIDATION_FAILED", issuesMessage(issues), issues);
      return reply.code(400).send(errorBody(e));
    }
    const status = error.statusCode ?? 500;
    // Fastify's own refusals (bad JSON, body too large, unsupported content type) keep their status.
    if (status >= 400 && status < 500) return reply.code(status).send(errorBody(new HttpError(status, status === 400 ? "VALIDATION_FAILED" : "REQUEST_REJECTED", error.message)));
    deps.logger?.error({ err: error, method: request.method, url: request.url }, "HTTP request failed");
    return reply.code(500).send(errorBody(new HttpError(500, "INTERNAL_ERROR", "internal error; see the server log")));
  });
  app.setNotFoundHandler(async (request, reply) =>
    reply.code(404).send(errorBody(new HttpError(404, "NOT_FOUND", `no route ${request.method} ${request.url.split("?", 1)[0] ?? ""}`))),
  );

  const routes = collectRoutes(app);
  registerProvisioningRoutes(app, deps, principalOf);
  registerLiveRoutes(app, deps);
  registerLadderRoutes(app, deps);
  registerBanRoutes(app, deps.bans, deps.fraud, deps.accountLocks);
  registerPlanRoutes(app, deps);
  registerDashboardRoutes(app, deps);

  app.get("/metrics", { config: { doc: { summary: "Prometheus metrics (text format 0.0.4)", tags: ["metrics"], produces: "text/plain" } } }, async (_request, reply) =>
    reply.type(PROMETHEUS_CONTENT_TYPE).send(deps.metrics.render()),
  );
  app.get("/openapi.json", { config: { doc: { summary: "This OpenAPI 3.1 document", tags: ["docs"] } } }, async () =>
    openApiDocument(routes, { tokens: deps.tokens.length > 0 }),
  );
  app.get("/docs", { config: { doc: { summary: "A page listing the API routes", tags: ["docs"], produces: "text/html" } } }, async (_request, reply) =>
    reply.type("text/html; charset=utf-8").send(docsPage(routes)),
  );
  return app;
}

/** Where a bad field sits: the resource's place in the whole provisioning for bodies, `query` or `params` otherwise. */
async function validationPrefix(context: string | undefined, request: FastifyRequest, deps: HttpAppDeps): Promise<string> {
  if (context === "querystring") return "query";
  if (context === "params") return "params";
  if (context === "body") return bodyPathPrefix(request, deps);
  return context ?? "";
}

/** `/dids/1/number` under `customers[3]` -> `customers[3].dids[1].number`. */
function joinPointer(prefix: string, pointer: string): string {
  let out = prefix;
  for (const raw of pointer.split("/").slice(1)) {
    const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    out += /^\d+$/.test(part) ? `[${part}]` : out === "" ? part : `.${part}`;
  }
  return out;
}

function issueFromAjv(prefix: string, pointer: string, params: Record<string, unknown>, message: string): ApiIssue {
  const path = joinPointer(prefix, pointer);
  const missing = params["missingProperty"];
  if (typeof missing === "string") return { path: joinPointer(path, `/${missing}`), message: "is required" };
  const extra = params["additionalProperty"];
  if (typeof extra === "string") return { path: joinPointer(path, `/${extra}`), message: "unknown field (check the spelling)" };
  const allowed = params["allowedValues"];
  if (Array.isArray(allowed)) return { path, message: `must be one of ${allowed.map((v) => JSON.stringify(v)).join(", ")}` };
  return { path, message };
}
