import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { FastifyInstance } from "fastify";
import type { ActiveCall } from "../call/index.ts";
import { compilePolicy, type Provisioning } from "../domain/index.ts";
import { createMetricsRegistry } from "../observability/index.ts";
import { createMemoryStorage } from "../storage/index.ts";
import type { DashboardSnapshot } from "./dashboard-routes.ts";
import { buildHttpApp, hashToken, type ApiToken, type HttpAppDeps } from "./index.ts";

const PROVISIONING: Provisioning = {
  customers: [],
  carriers: [
    {
      id: "alpha",
      name: "Alpha",
      gateways: [{ id: "alpha-gw1", uri: "sip:127.0.2.1:5060", transport: "udp", priority: 1, weight: 1 }],
      sourceCidrs: ["127.0.2.0/24"],
      numbering: { format: "e164-plus", countryCode: "1" },
      limits: { channels: 10 },
      failover: { codes: [503], onTransportError: true, onTimeout: true, timeoutMs: 2000 },
    },
  ],
  routes: [],
  rateDecks: [],
};

const CALL: ActiveCall = { id: "c1", callId: "c1@pbx", direction: "outbound", customerId: null, carrierId: "alpha", state: "answered", startedAt: Date.now() - 3000, answeredAt: Date.now() - 2000 };

async function app(tokens: ApiToken[] = []): Promise<FastifyInstance> {
  const storage = createMemoryStorage();
  const compiled = compilePolicy(PROVISIONING);
  assert.ok(compiled.ok, compiled.ok ? "" : compiled.error.join("; "));
  await storage.provisioning.replace(PROVISIONING);
  await storage.cdrs.open({
    id: "c1", callId: "c1@pbx", direction: "outbound", customerId: null, carrierId: "alpha", attempts: [],
    callerRaw: "5550001", calleeRaw: "5550002", callerE164: "+15550001", calleeE164: null,
    startedAt: CALL.startedAt, ringingAt: null, answeredAt: CALL.answeredAt, endedAt: null, durationMs: 0, finalStatus: null,
    q850Cause: null, disposition: null, hangupBy: null, endReason: null, ratePerMinute: null, cost: null, currency: null, trace: [],
  });
  const deps: HttpAppDeps = {
    provisioning: storage.provisioning,
    cdrs: storage.cdrs,
    calls: { activeCalls: () => [CALL], channelUse: (id) => (id === "alpha" ? { inbound: 1, outbound: 2 } : { inbound: 0, outbound: 0 }), hangup: () => false },
    policy: () => compiled.value,
    health: {
      gateways: () => [{ id: "alpha-gw1", uri: "sip:127.0.2.1:5060", status: "down", consecutiveMisses: 3, consecutiveAnswers: 0, since: 0, last: { kind: "miss", reason: "timeout" } }],
      registrations: () => [],
    },
    metrics: createMetricsRegistry(),
    applyProvisioning: async () => ({ ok: true }),
    tokens,
    metricsNeedToken: false,
  };
  return buildHttpApp(deps);
}

describe("dashboard routes", () => {
  test("/ leads to the dashboard; pages and assets are served, nothing outside the folder", async () => {
    const a = await app();
    const root = await a.inject({ url: "/" });
    assert.equal(root.statusCode, 302);
    assert.equal(root.headers.location, "/dashboard");
    for (const [url, marker] of [["/dashboard", "<h1>Overview</h1>"], ["/dashboard/calls", "<h1>Live calls</h1>"], ["/dashboard/trunks", "<h1>Trunks</h1>"], ["/dashboard/cdrs", "<h1>Call detail records</h1>"], ["/dashboard/cdrs/abc", 'id="sip-ladder"']] as const) {
      const res = await a.inject({ url });
      assert.equal(res.statusCode, 200, url);
      assert.match(String(res.headers["content-type"]), /^text\/html/);
      assert.ok(res.body.includes(marker), url);
    }
    const js = await a.inject({ url: "/dashboard/assets/common.js" });
    assert.equal(js.statusCode, 200);
    assert.match(String(js.headers["content-type"]), /^text\/javascript/);
    assert.equal((await a.inject({ url: "/dashboard/vendor/uplot.js" })).statusCode, 200);
    assert.equal((await a.inject({ url: "/dashboard/vendor/uplot.css" })).statusCode, 200);
    for (const url of ["/dashboard/assets/..%2Fdashboard-routes.ts", "/dashboard/assets/nothing.js", "/dashboard/assets/overview.html"]) {
      assert.equal((await a.inject({ url })).statusCode, 404, url);
    }
    await a.close();
  });

  test("/api/v1/events needs a token when tokens are configured; pages do not", async () => {
    const a = await app([{ name: "ops", role: "read", sha256: hashToken("s3cret") }]);
    const res = await a.inject({ url: "/api/v1/events" });
    assert.equal(res.statusCode, 401);
    assert.equal(JSON.parse(res.body).error.code, "AUTH_REQUIRED");
    assert.equal((await a.inject({ url: "/dashboard" })).statusCode, 200);
    const doc = JSON.parse((await a.inject({ url: "/openapi.json" })).body) as { paths: Record<string, unknown> };
    assert.ok("/api/v1/events" in doc.paths);
    await a.close();
  });

  test("/api/v1/events streams snapshots of calls, trunks, gateways and figures; close ends the stream", async () => {
    const a = await app([{ name: "ops", role: "read", sha256: hashToken("s3cret") }]);
    await a.listen({ host: "127.0.0.1", port: 0 });
    const address = a.server.address();
    assert.ok(typeof address === "object" && address !== null);
    const res = await fetch(`http://127.0.0.1:${address.port}/api/v1/events`, { headers: { authorization: "Bearer s3cret" } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    assert.ok(res.body !== null);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    const snapshots: DashboardSnapshot[] = [];
    while (snapshots.length < 2) {
      const { value, done } = await reader.read();
      assert.ok(!done, "the stream stays open");
      text += value;
      const frames = text.split("\n\n");
      text = frames.pop() ?? "";
      for (const f of frames) {
        const data = /^event: snapshot\ndata: (.*)$/s.exec(f)?.[1];
        if (data !== undefined) snapshots.push(JSON.parse(data) as DashboardSnapshot);
      }
    }
    const s = snapshots[1];
    assert.ok(s !== undefined);
    assert.equal(s.calls.length, 1);
    assert.equal(s.calls[0]?.caller, "+15550001", "numbers come from the open CDR");
    assert.equal(s.calls[0]?.callee, "5550002");
    assert.deepEqual(s.trunks.map((t) => [t.id, t.total, t.limits.channels]), [["alpha", 3, 10]]);
    assert.deepEqual(s.gateways.map((g) => [g.id, g.status, g.last]), [["alpha-gw1", "down", "missed (timeout)"]]);
    assert.equal(s.window.started, 1);
    assert.equal(s.history.t.length, 180);
    // Closing the app ends the stream instead of waiting for the browser to leave.
    await a.close();
    for (;;) if ((await reader.read()).done) break;
  });
});
