// The HTTP layer: REST API, /metrics, /openapi.json and /docs. buildHttpApp returns the app;
// main.ts listens.
export { buildHttpApp } from "./build-app.ts";
export type { HttpAppDeps, HttpAppOptions, CallsView, HealthView, ApplyResult } from "./types.ts";
export { hashToken, LOCAL_OPERATOR, type ApiToken, type ApiRole, type ApiPrincipal } from "./auth.ts";
export { HttpError, type ApiIssue, type ApiErrorCode, type ApiErrorBody } from "./errors.ts";
export { registerServerMetrics, type MetricSources, type ServerMetrics, type WireCountsView } from "./metrics.ts";
export type { CustomerJson } from "./provisioning-routes.ts";
