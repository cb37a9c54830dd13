import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { FastifyInstance } from "fastify";
import { compilePolicy, type Provisioning } from "../domain/index.ts";
import { carrier, customer } from "../domain/test-fixtures.ts";
import { createMetricsRegistry } from "../observability/index.ts";
import { createMemoryStorage } from "../storage/index.ts";
import { buildHttpApp } from "./index.ts";
import { plannedCall } from "../../test/support/cdr-fixtures.ts";

const HOUR = 3_600_000;

interface PlanRow {
  trunkId: string | null;
  kind: string | null;
  busyHour: { hourStart: number; calls: number; meanDurationSeconds: number } | null;
  trafficErlangs: number;
  channels: number;
  configuredChannels: number | null;
  bitsPerSecond: number;
  warning: string | null;
}
interface PlanBody {
  mode: string;
  settings: { blocking: number; codec: string; ptimeMs: number; layer: string };
  perCall: { bitsPerSecond: number; packetBytes: number };
  period: { days: number } | null;
  trunks: PlanRow[];
  warnings: string[];
}


describe("GET /api/v1/plan", () => {
  let app: FastifyInstance;
  const busy = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;

  before(async () => {
    const storage = createMemoryStorage();
    const provisioning: Provisioning = {
      customers: [
        customer({ id: "acme", limits: { channels: 10 }, identification: { cidrs: ["192.0.2.1/32"], credentials: [] } }),
        customer({ id: "globex", limits: {}, identification: { cidrs: ["192.0.2.2/32"], credentials: [] } }),
      ],
      carriers: [carrier({ id: "alpha", limits: { channels: 100 } })],
      routes: [],
      rateDecks: [],
    };
    await storage.provisioning.replace(provisioning);
    const compiled = compilePolicy(provisioning);
    assert.ok(compiled.ok, compiled.ok ? "" : compiled.error.join("; "));
    // acme via alpha: 120 answered calls of 300 s in one hour = 10 E (18 channels at 1 %), 20 busy ones;
    // a trunk no longer provisioned: 36 calls of 100 s = 1 E; and one call too old for 7 days.
    for (let i = 0; i < 120; i++) await storage.cdrs.close(plannedCall(`a${i}`, busy + i * 30_000, 300, "acme", "alpha"));
    for (let i = 0; i < 20; i++) await storage.cdrs.close(plannedCall(`b${i}`, busy + i * 1000, 0, "acme", "alpha"));
    for (let i = 0; i < 36; i++) await storage.cdrs.close(plannedCall(`g${i}`, busy + i * 60_000, 100, "ghost", null));
    for (let i = 0; i < 400; i++) await storage.cdrs.close(plannedCall(`o${i}`, busy - 8 * 24 * HOUR + i * 5000, 300, "globex", null));
    app = buildHttpApp({
      provisioning: storage.provisioning,
      cdrs: storage.cdrs,
      calls: { activeCalls: () => [], channelUse: () => ({ inbound: 0, outbound: 0 }), hangup: () => false },
      policy: () => compiled.value,
      health: { gateways: () => null, registrations: () => [] },
      metrics: createMetricsRegistry(),
      applyProvisioning: async () => ({ ok: true }),
      tokens: [],
      metricsNeedToken: false,
    });
  });
  after(() => app.close());

  const get = async (query: string): Promise<{ status: number; body: PlanBody & { error?: { code: string; issues?: { path: string }[] } } }> => {
    const res = await app.inject({ method: "GET", url: `/api/v1/plan${query}` });
    return { status: res.statusCode, body: res.json() };
  };

  test("from the CDRs of the last 7 days: every trunk's busy hour, channels and bandwidth, a warning where the limit is too small", async () => {
    const { status, body } = await get("");
    assert.equal(status, 200);
    assert.equal(body.mode, "cdrs");
    assert.deepEqual(body.settings, { blocking: 0.01, codec: "G711", ptimeMs: 20, layer: "ethernet" });
    assert.equal(body.period?.days, 7);
    // G.711 at 20 ms in Ethernet frames: (160 + 40 + 18) bytes x 8 x 50/s.
    assert.equal(body.perCall.bitsPerSecond, 87_200);
    const byId = new Map(body.trunks.map((t) => [t.trunkId, t]));
    assert.deepEqual([...byId.keys()], ["acme", "globex", "alpha", "ghost"]);
    const acme = byId.get("acme");
    assert.equal(acme?.busyHour?.hourStart, busy);
    assert.equal(acme?.busyHour?.calls, 120);
    assert.equal(acme?.trafficErlangs, 10);
    assert.equal(acme?.channels, 18);
    assert.equal(acme?.configuredChannels, 10);
    assert.equal(acme?.bitsPerSecond, 18 * 87_200);
    assert.match(acme?.warning ?? "", /^channel limit 10 is below the 18 needed for 10.00 E at 1% blocking/);
    assert.equal(byId.get("alpha")?.warning, null);
    assert.equal(byId.get("globex")?.channels, 0, "its calls are older than 7 days");
    assert.equal(byId.get("ghost")?.kind, "unprovisioned");
    assert.equal(byId.get("ghost")?.channels, 5);
    assert.deepEqual(body.warnings.map((w) => w.split(":")[0]), ["acme (customer)"]);
  });

  test("days, blocking, codec, ptime and layer change the plan as `trunkline plan` does", async () => {
    const { status, body } = await get("?days=10&blocking=0.02&codec=G729&ptime=20&layer=ip");
    assert.equal(status, 200);
    // 400 calls x 300 s in one hour = 33.3 E for globex nine days ago; G.729 at 20 ms over IP is 24 kbit/s.
    const globex = body.trunks.find((t) => t.trunkId === "globex");
    assert.equal(globex?.busyHour?.calls, 400);
    assert.equal(body.perCall.bitsPerSecond, 24_000);
    assert.equal(body.trunks.find((t) => t.trunkId === "alpha")?.channels, 17);
  });

  test("from figures, against a trunk's limit or a given one", async () => {
    const acme = await get("?calls=120&duration=300&trunk=acme");
    assert.equal(acme.status, 200);
    assert.equal(acme.body.mode, "figures");
    assert.equal(acme.body.trunks.length, 1);
    assert.equal(acme.body.trunks[0]?.channels, 18);
    assert.equal(acme.body.trunks[0]?.configuredChannels, 10);
    assert.match(acme.body.warnings[0] ?? "", /^acme \(customer\): channel limit 10 is below the 18 needed/);
    const enough = await get("?calls=120&duration=300&trunk=acme&channels=20");
    assert.deepEqual(enough.body.warnings, []);
    const bare = await get("?calls=600&duration=180");
    assert.equal(bare.body.trunks[0]?.trunkId, null);
    assert.equal(bare.body.trunks[0]?.trafficErlangs, 30);
    assert.equal(bare.body.trunks[0]?.configuredChannels, null);
  });

  test("names the bad field in a 400", async () => {
    const cases: [string, string][] = [
      ["?codec=G729&ptime=25", "query.ptime"],
      ["?calls=100", "query.duration"],
      ["?calls=100&duration=60&trunk=nobody", "query.trunk"],
      ["?trunk=acme", "query.trunk"],
      ["?blocking=1", "query.blocking"],
      ["?codec=G723", "query.codec"],
    ];
    for (const [query, path] of cases) {
      const { status, body } = await get(query);
      assert.equal(status, 400, query);
      assert.equal(body.error?.code, "VALIDATION_FAILED", query);
      assert.ok(body.error?.issues?.some((i) => i.path === path), `${query}: ${JSON.stringify(body.error)}`);
    }
  });

  test("is in the OpenAPI document", async () => {
    const doc = (await app.inject({ method: "GET", url: "/openapi.json" })).json() as { paths: Record<string, { get?: { parameters?: { name: string }[] } }> };
    const names = doc.paths["/api/v1/plan"]?.get?.parameters?.map((p) => p.name) ?? [];
    for (const n of ["days", "calls", "duration", "trunk", "blocking", "codec", "ptime", "layer"]) assert.ok(names.includes(n), `missing ${n} in ${names.join(",")}`);
  });
});
