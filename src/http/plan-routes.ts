// GET /api/v1/plan: the capacity planner of `trunkline plan` for the dashboard. From busy-hour
// figures, or from the answered CDRs of the last N days, the channels every trunk needs for a
// target blocking probability (Erlang B), the RTP bandwidth of those channels each way, and a
// warning where a trunk's configured limit is below the need. The computation is the domain's
// (planTrunk, planTrunksFromUsage), the same the CLI runs.
import type { FastifyInstance } from "fastify";
import {
  PLAN_CODECS,
  bandwidthPerCall,
  callUsageOf,
  channelLimitOf,
  offeredTraffic,
  planTrunk,
  planTrunksFromUsage,
  ptimeError,
  type BandwidthLayer,
  type CallUsage,
  type PlanCodec,
  type PlanSettings,
  type TrunkPlan,
  type TrunkPlanRow,
} from "../domain/index.ts";
import { HttpError, type ApiIssue } from "./errors.ts";
import type { JsonSchema } from "./schemas.ts";
import type { HttpAppDeps } from "./types.ts";

/** The query of GET /api/v1/plan after ajv filled the defaults. */
interface PlanQuery {
  readonly days: number;
  readonly calls?: number;
  readonly duration?: number;
  readonly trunk?: string;
  readonly channels?: number;
  readonly blocking: number;
  readonly codec: PlanCodec;
  readonly ptime: number;
  readonly layer: BandwidthLayer;
}

/** Longest look-back, as for `trunkline plan --days`. */
const MAX_DAYS = 366;
const DAY_MS = 86_400_000;
/** Rows read per CDR page. */
const PAGE = 5_000;

/** Query schema: figures (calls + duration) or CDRs of the last `days` days; then blocking, codec, ptime, layer. */
export const planQuerySchema: JsonSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    days: { type: "integer", minimum: 1, maximum: MAX_DAYS, default: 7, description: "plan from the answered CDRs of the last N days (when calls and duration are absent)" },
    calls: { type: "number", minimum: 0, maximum: 1e9, description: "busy-hour call attempts (with duration)" },
    duration: { type: "number", minimum: 0, maximum: 86_400, description: "mean call duration in seconds (with calls)" },
    trunk: { type: "string", minLength: 1, description: "with figures: the trunk whose configured limit is compared" },
    channels: { type: "integer", minimum: 0, maximum: 1_000_000, description: "with figures: a channel limit to compare instead of the trunk's" },
    blocking: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.01, description: "target blocking probability, e.g. 0.01" },
    codec: { type: "string", enum: [...PLAN_CODECS], default: "G711" },
    ptime: { type: "integer", minimum: 1, maximum: 120, default: 20, description: "packetization interval, ms" },
    layer: { type: "string", enum: ["ip", "ethernet"], default: "ethernet", description: "bandwidth of IP packets or of Ethernet frames" },
  },
};

const planRowSchema: JsonSchema = {
  type: "object",
  properties: {
    trunkId: { type: ["string", "null"] },
    kind: { type: ["string", "null"], enum: ["customer", "carrier", "unprovisioned", null] },
    busyHour: { type: ["object", "null"], description: "busiest UTC hour (hourStart epoch ms, calls, meanDurationSeconds)" },
    trafficErlangs: { type: "number" },
    channels: { type: "integer", description: "channels needed for the target blocking" },
    blockingAtChannels: { type: "number" },
    bitsPerSecond: { type: "number", description: "bandwidth of those channels, each direction" },
    configuredChannels: { type: ["integer", "null"] },
    blockingAtConfigured: { type: ["number", "null"] },
    warning: { type: ["string", "null"], description: "set when the configured limit is below the need" },
  },
};

const planResponseSchema: JsonSchema = {
  type: "object",
  properties: {
    mode: { type: "string", enum: ["figures", "cdrs"] },
    settings: { type: "object", description: "blocking, codec, ptimeMs, layer" },
    perCall: { type: "object", description: "one call's packet size, packets/s and bit rate each way" },
    period: { type: ["object", "null"], description: "cdrs mode: from, to (epoch ms) and days" },
    figures: { type: ["object", "null"], description: "figures mode: calls and durationSeconds" },
    trunks: { type: "array", items: planRowSchema },
    warnings: { type: "array", items: { type: "string" }, description: "one line per trunk whose limit is too small" },
  },
};

/** One trunk's plan as JSON. */
function rowJson(trunkId: string | null, kind: TrunkPlanRow["kind"] | null, busyHour: TrunkPlanRow["busyHour"], p: TrunkPlan): Record<string, unknown> {
  return {
    trunkId,
    kind,
    busyHour: busyHour === undefined ? null : { hourStart: busyHour.hourStart, calls: busyHour.calls, meanDurationSeconds: busyHour.meanDurationSeconds },
    trafficErlangs: p.trafficErlangs,
    channels: p.channels,
    blockingAtChannels: p.blockingAtChannels,
    bitsPerSecond: p.bitsPerSecond,
    configuredChannels: p.configuredChannels,
    blockingAtConfigured: p.blockingAtConfigured,
    warning: p.warning,
  };
}

function invalid(issues: ApiIssue[]): HttpError {
  return new HttpError(400, "VALIDATION_FAILED", issues.map((i) => `${i.path}: ${i.message}`).join("; "), issues);
}

/** Registers GET /api/v1/plan. */
export function registerPlanRoutes(app: FastifyInstance, deps: Pick<HttpAppDeps, "cdrs" | "policy">, now: () => number = Date.now): void {
  app.get(
    "/api/v1/plan",
    {
      schema: { querystring: planQuerySchema },
      config: { doc: { summary: "Capacity plan: channels (Erlang B) and bandwidth per trunk, from busy-hour figures or the CDRs of the last N days", tags: ["plan"], response: planResponseSchema } },
    },
    async (request) => {
      const q = request.query as PlanQuery;
      const issues: ApiIssue[] = [];
      const problem = ptimeError(q.codec, q.ptime);
      if (problem !== undefined) issues.push({ path: "query.ptime", message: problem });
      const figures = q.calls !== undefined || q.duration !== undefined;
      if (figures && (q.calls === undefined || q.duration === undefined)) {
        issues.push({ path: q.calls === undefined ? "query.calls" : "query.duration", message: "calls and duration go together (busy-hour calls and their mean duration in seconds)" });
      }
      if (!figures && (q.trunk !== undefined || q.channels !== undefined)) {
        issues.push({ path: q.trunk !== undefined ? "query.trunk" : "query.channels", message: "trunk and channels go with calls and duration; a plan from CDRs covers every trunk" });
      }
      const policy = deps.policy();
      const trunk = q.trunk === undefined ? undefined : (policy.customers.get(q.trunk) ?? policy.carriers.get(q.trunk));
      if (q.trunk !== undefined && trunk === undefined) issues.push({ path: "query.trunk", message: `no customer or carrier ${q.trunk}` });
      if (issues.length > 0) throw invalid(issues);

      const settings: PlanSettings = { blocking: q.blocking, codec: q.codec, ptimeMs: q.ptime, layer: q.layer };
      const perCall = bandwidthPerCall(settings.codec, settings.ptimeMs, { layer: settings.layer });
      const base = { settings, perCall };
      if (q.calls !== undefined && q.duration !== undefined) {
        const kind = q.trunk === undefined ? null : policy.customers.has(q.trunk) ? "customer" : "carrier";
        const configured = q.channels ?? (trunk === undefined ? undefined : channelLimitOf(trunk.limits));
        const plan = planTrunk({ ...settings, trafficErlangs: offeredTraffic(q.calls, q.duration), configuredChannels: configured });
        return {
          mode: "figures",
          ...base,
          period: null,
          figures: { calls: q.calls, durationSeconds: q.duration },
          trunks: [rowJson(q.trunk ?? null, kind, undefined, plan)],
          warnings: plan.warning === null ? [] : [q.trunk === undefined ? plan.warning : `${q.trunk} (${kind ?? ""}): ${plan.warning}`],
        };
      }

      const to = now();
      const from = to - q.days * DAY_MS;
      const usage: CallUsage[] = [];
      for (let offset = 0; ; offset += PAGE) {
        const { rows } = await deps.cdrs.search({ from, to, limit: PAGE, offset });
        for (const r of rows) if (r.durationMs > 0) usage.push(callUsageOf(r));
        if (rows.length < PAGE) break;
      }
      const trunks = [
        ...[...policy.customers.values()].map((c) => ({ trunkId: c.id, kind: "customer" as const, limits: c.limits })),
        ...[...policy.carriers.values()].map((c) => ({ trunkId: c.id, kind: "carrier" as const, limits: c.limits })),
      ];
      const rows = planTrunksFromUsage({ trunks, usage, period: { from, to }, settings });
      return {
        mode: "cdrs",
        ...base,
        period: { from, to, days: q.days },
        figures: null,
        trunks: rows.map((r) => rowJson(r.trunkId, r.kind, r.busyHour, r.plan)),
        warnings: rows.filter((r) => r.plan.warning !== null).map((r) => `${r.trunkId} (${r.kind}): ${r.plan.warning ?? ""}`),
      };
    },
  );
}
