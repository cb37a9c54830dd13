// /openapi.json and /docs are generated from the routes as registered: their JSON schemas (the
// ones ajv validates with) and a short doc entry in each route's config.
import type { FastifyInstance } from "fastify";
import type { JsonSchema } from "./schemas.ts";

/** Documentation a route carries in its config. */
export interface RouteDocInfo {
  readonly summary: string;
  readonly tags: readonly string[];
  /** Schema of the success answer, when it is JSON worth describing. */
  readonly response?: JsonSchema;
  /** Status of the success answer; default 200. */
  readonly status?: number;
  /** Content type of the success answer; default application/json. */
  readonly produces?: string;
}

declare module "fastify" {
  interface FastifyContextConfig {
    doc?: RouteDocInfo;
    /** Which provisioning list a route's body belongs to, to name bad fields by their place in it. */
    collection?: "customers" | "carriers" | "routes" | "rateDecks";
  }
}

/** One registered route, as the document shows it. */
export interface DocumentedRoute {
  readonly method: string;
  readonly url: string;
  readonly doc: RouteDocInfo;
  readonly params?: JsonSchema;
  readonly querystring?: JsonSchema;
  readonly body?: JsonSchema;
}

function isSchema(value: unknown): value is JsonSchema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Records every route registered from now on that has a doc entry; HEAD twins are left out. */
export function collectRoutes(app: FastifyInstance): DocumentedRoute[] {
  const routes: DocumentedRoute[] = [];
  app.addHook("onRoute", (route) => {
    const doc = route.config?.doc;
    if (doc === undefined) return;
    const schema = route.schema ?? {};
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (method === "HEAD") continue;
      routes.push({
        method,
        url: route.url,
        doc,
        ...(isSchema(schema.params) ? { params: schema.params } : {}),
        ...(isSchema(schema.querystring) ? { querystring: schema.querystring } : {}),
        ...(isSchema(schema.body) ? { body: schema.body } : {}),
      });
    }
  });
  return routes;
}

function parameters(where: "path" | "query", schema: JsonSchema | undefined): JsonSchema[] {
  if (schema === undefined || !isSchema(schema["properties"])) return [];
  const required = Array.isArray(schema["required"]) ? (schema["required"] as unknown[]) : [];
  return Object.entries(schema["properties"]).map(([name, s]) => ({
    name,
    in: where,
    required: where === "path" || required.includes(name),
    schema: s,
    ...(isSchema(s) && typeof s["description"] === "string" ? { description: s["description"] } : {}),
  }));
}

const ERROR_SCHEMA: JsonSchema = {
  type: "object",
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: { type: "string" },
        message: { type: "string" },
        issues: { type: "array", items: { type: "object", properties: { path: { type: "string" }, message: { type: "string" } } } },
      },
    },
  },
};

/** The OpenAPI 3.1 document of the given routes. */
export function openApiDocument(routes: readonly DocumentedRoute[], options: { tokens: boolean }): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const r of routes) {
    const path = r.url.replace(/:([A-Za-z_]+)/g, "{$1}");
    const ok = String(r.doc.status ?? 200);
    const produces = r.doc.produces ?? "application/json";
    const responses: Record<string, JsonSchema> = {
      [ok]: ok === "204" ? { description: "done" } : { description: "success", content: { [produces]: r.doc.response === undefined ? {} : { schema: r.doc.response } } },
    };
    const error = (description: string): JsonSchema => ({ description, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } });
    if (r.params !== undefined || r.body !== undefined || r.querystring !== undefined) responses["400"] = error("invalid input; issues name each bad field");
    if (r.url.startsWith("/api/")) {
      responses["401"] = error("no token, or an unknown one");
      responses["403"] = error("the token's role may not do this");
    }
    if (r.url.includes(":")) responses["404"] = error("no such resource");
    if (r.method === "POST") responses["409"] = error("the id is already taken");
    const operation: Record<string, unknown> = {
      summary: r.doc.summary,
      tags: r.doc.tags,
      parameters: [...parameters("path", r.params), ...parameters("query", r.querystring)],
      responses,
    };
    if (r.body !== undefined) operation["requestBody"] = { required: true, content: { "application/json": { schema: r.body } } };
    if (r.url.startsWith("/api/")) operation["security"] = [{ bearerToken: [] }];
    (paths[path] ??= {})[r.method.toLowerCase()] = operation;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Trunkline API",
      version: "1",
      description: options.tokens
        ? "Send Authorization: Bearer <token>. Tokens with role read may use GET; admin may do everything."
        : "No tokens are configured: on this loopback listener every request acts as the local operator (admin).",
    },
    paths,
    components: { schemas: { Error: ERROR_SCHEMA }, securitySchemes: { bearerToken: { type: "http", scheme: "bearer" } } },
  };
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** A small page listing every route, linking to /openapi.json for the schemas. */
export function docsPage(routes: readonly DocumentedRoute[]): string {
  const rows = routes
    .map((r) => `<tr><td><code>${escapeHtml(r.method)}</code></td><td><code>${escapeHtml(r.url)}</code></td><td>${escapeHtml(r.doc.summary)}</td></tr>`)
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Trunkline API</title>
<style>body{font-family:sans-serif;margin:2em}td{padding:.2em 1em .2em 0;vertical-align:top}</style></head>
<body><h1>Trunkline API</h1>
<p>Request and response schemas: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). Send <code>Authorization: Bearer &lt;token&gt;</code> when tokens are configured.</p>
<table><thead><tr><th>Method</th><th>Path</th><th>What it does</th></tr></thead><tbody>
${rows}
</tbody></table></body></html>
`;
}
