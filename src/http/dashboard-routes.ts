// The operator dashboard: static pages from src/http/dashboard/ (plain HTML, CSS and JS, no build
// step), the uPlot charting library from node_modules, and /api/v1/events, a server-sent events
// stream pushing a snapshot of live state and call statistics every second.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import type { ActiveCall } from "../call/index.ts";
import type { TrunkLimits } from "../domain/index.ts";
import { createCallStats, type CallStats, type ChartHistory, type WindowFigures } from "./dashboard-stats.ts";
import { HttpError } from "./errors.ts";
import type { HttpAppDeps } from "./types.ts";

/** One trunk as the dashboard shows it. */
export interface TrunkView {
  readonly id: string;
  readonly name: string;
  readonly kind: "customer" | "carrier";
  readonly inbound: number;
  readonly outbound: number;
  readonly total: number;
  readonly limits: TrunkLimits;
  /** Customers: static or registration mode; carriers: their gateways' URIs. */
  readonly detail: string;
}

/** One gateway (or a static customer's URI) with its OPTIONS health. */
export interface GatewayView {
  readonly id: string;
  readonly trunkId: string;
  readonly uri: string;
  /** `unknown` when health checks are off. */
  readonly status: "up" | "down" | "unknown";
  readonly last: string | null;
}

/** What /api/v1/events sends each second, as the `snapshot` event. */
export interface DashboardSnapshot {
  readonly at: number;
  readonly calls: readonly (ActiveCall & { readonly caller: string | null; readonly callee: string | null })[];
  readonly trunks: readonly TrunkView[];
  readonly gateways: readonly GatewayView[];
  readonly registrations: readonly { readonly carrierId: string; readonly status: string }[];
  readonly window: WindowFigures;
  readonly history: ChartHistory;
}

export interface DashboardOptions {
  /** Milliseconds between snapshots; default 1000. */
  readonly intervalMs?: number;
  readonly stats?: CallStats;
}

const PAGES: Readonly<Record<string, string>> = {
  "/dashboard": "overview.html",
  "/dashboard/calls": "calls.html",
  "/dashboard/trunks": "trunks.html",
  "/dashboard/cdrs": "cdrs.html",
  "/dashboard/cdrs/:id": "call.html",
  "/dashboard/planner": "planner.html",
};

const TYPES: Readonly<Record<string, string>> = {
  html: "text/html; charset=utf-8",
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  svg: "image/svg+xml",
};

/** Where the page files are: beside this file, or in src/ when running from dist/ (tsc copies no assets). */
function assetDir(): string {
  const here = fileURLToPath(new URL("./dashboard/", import.meta.url));
  if (existsSync(join(here, "overview.html"))) return here;
  return fileURLToPath(new URL("../../src/http/dashboard/", import.meta.url));
}

/** uPlot's dist folder, found through node's resolver so a hoisted or nested install both work. */
function uplotDir(): string {
  return dirname(createRequire(import.meta.url).resolve("uplot"));
}

/** Builds the snapshot of live state; stats figures come from `stats`. */
export function dashboardSnapshot(deps: HttpAppDeps, stats: CallStats, calls: readonly ActiveCall[]): DashboardSnapshot {
  const policy = deps.policy();
  const trunks: TrunkView[] = [];
  for (const c of policy.customers.values()) {
    const use = deps.calls.channelUse(c.id);
    const detail = c.mode.kind === "static" ? `static ${c.mode.uri}` : "registration";
    trunks.push({ id: c.id, name: c.name, kind: "customer", inbound: use.inbound, outbound: use.outbound, total: use.inbound + use.outbound, limits: c.limits, detail });
  }
  for (const c of policy.carriers.values()) {
    const use = deps.calls.channelUse(c.id);
    const detail = c.gateways.map((g) => g.uri).join(", ");
    trunks.push({ id: c.id, name: c.name, kind: "carrier", inbound: use.inbound, outbound: use.outbound, total: use.inbound + use.outbound, limits: c.limits, detail });
  }
  const health = deps.health.gateways();
  const byId = new Map((health ?? []).map((h) => [h.id, h]));
  const gateways: GatewayView[] = [];
  const describe = (id: string): Pick<GatewayView, "status" | "last"> => {
    const h = byId.get(id);
    if (h === undefined) return { status: "unknown", last: null };
    const last = h.last === null ? null : h.last.kind === "answer" ? `answered ${h.last.status}` : `missed (${h.last.reason}${h.last.status === undefined ? "" : ` ${h.last.status}`})`;
    return { status: h.status, last };
  };
  for (const c of policy.carriers.values()) {
    for (const g of c.gateways) gateways.push({ id: g.id, trunkId: c.id, uri: g.uri, ...describe(g.id) });
  }
  for (const c of policy.customers.values()) {
    if (c.mode.kind === "static") gateways.push({ id: `customer:${c.id}`, trunkId: c.id, uri: c.mode.uri, ...describe(`customer:${c.id}`) });
  }
  const registrations = deps.health.registrations().map((r) => ({ carrierId: r.carrierId, status: r.status }));
  const withParties = calls.map((c) => {
    const p = stats.parties(c.id);
    return { ...c, caller: p?.caller ?? null, callee: p?.callee ?? null };
  });
  return { at: Date.now(), calls: withParties, trunks, gateways, registrations, window: stats.figures(), history: stats.history() };
}

/** Registers `/`, `/dashboard/...`, the page assets and `/api/v1/events` on app. */
export function registerDashboardRoutes(app: FastifyInstance, deps: HttpAppDeps, options: DashboardOptions = {}): void {
  const dir = assetDir();
  const vendorDir = uplotDir();
  const intervalMs = options.intervalMs ?? 1000;
  const stats = options.stats ?? createCallStats({ cdrs: deps.cdrs });
  const clients = new Set<ServerResponse>();
  let timer: NodeJS.Timeout | null = null;
  let busy = false;
  let lastError = 0;

  const sendFile = async (file: string, type: string): Promise<Buffer> => {
    try {
      return await readFile(file);
    } catch {
      throw new HttpError(404, "NOT_FOUND", `no dashboard file ${type}`);
    }
  };

  app.get("/", async (_request, reply) => reply.redirect("/dashboard"));
  for (const [url, file] of Object.entries(PAGES)) {
    app.get(url, async (_request, reply) => reply.type(TYPES["html"] ?? "text/html").header("cache-control", "no-cache").send(await sendFile(join(dir, file), file)));
  }
  app.get("/dashboard/assets/:file", async (request, reply) => {
    const { file } = request.params as { file: string };
    const m = /^[a-z0-9-]+\.(css|js|svg)$/.exec(file);
    if (m === null) throw new HttpError(404, "NOT_FOUND", `no dashboard asset ${file}`);
    return reply.type(TYPES[m[1] ?? ""] ?? "application/octet-stream").header("cache-control", "no-cache").send(await sendFile(join(dir, file), file));
  });
  app.get("/dashboard/vendor/uplot.js", async (_request, reply) =>
    reply.type(TYPES["js"] ?? "").header("cache-control", "max-age=86400").send(await sendFile(join(vendorDir, "uPlot.iife.min.js"), "uplot.js")),
  );
  app.get("/dashboard/vendor/uplot.css", async (_request, reply) =>
    reply.type(TYPES["css"] ?? "").header("cache-control", "max-age=86400").send(await sendFile(join(vendorDir, "uPlot.min.css"), "uplot.css")),
  );

  const broadcast = async (only?: ServerResponse): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      const calls = deps.calls.activeCalls();
      try {
        await stats.poll(new Set(calls.map((c) => c.id)));
      } catch (e) {
        // A failed CDR read leaves the figures as they were; say so at most once a minute.
        if (Date.now() - lastError > 60_000) {
          lastError = Date.now();
          deps.logger?.warn({ err: e }, "dashboard: reading CDRs for statistics failed");
        }
      }
      const frame = `event: snapshot\ndata: ${JSON.stringify(dashboardSnapshot(deps, stats, calls))}\n\n`;
      for (const res of only === undefined ? clients : [only]) if (!res.writableEnded) res.write(frame);
    } finally {
      busy = false;
    }
  };

  const stop = (): void => {
    if (timer !== null) clearInterval(timer);
    timer = null;
  };

  app.get(
    "/api/v1/events",
    { config: { doc: { summary: "Server-sent events: a `snapshot` of live calls, trunks, gateway health and call statistics every second", tags: ["calls"], produces: "text/event-stream" } } },
    (_request, reply) => {
      void reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        connection: "keep-alive",
        "x-accel-buffering": "no",
      });
      res.write(`retry: 2000\n\n`);
      clients.add(res);
      res.on("close", () => {
        clients.delete(res);
        if (clients.size === 0) stop();
      });
      void broadcast(res);
      if (timer === null) timer = setInterval(() => void broadcast(), intervalMs);
    },
  );

  app.addHook("preClose", async () => {
    stop();
    for (const res of clients) res.end();
    clients.clear();
  });

  // A browser that follows a broken dashboard link gets a page, not a JSON error.
  app.addHook("onSend", async (request, reply, payload) => {
    if (reply.statusCode !== 404 || !request.url.startsWith("/dashboard")) return payload;
    void reply.type(TYPES["html"] ?? "text/html");
    return `<!doctype html><meta charset="utf-8"><title>Not found</title><p style="font:16px system-ui;margin:3em">Not found. <a href="/dashboard">Back to the dashboard</a></p>`;
  });
}
