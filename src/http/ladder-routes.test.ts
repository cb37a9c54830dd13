import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { compilePolicy } from "../domain/index.ts";
import { FakeClock } from "../lib/index.ts";
import { createLogger, createMetricsRegistry } from "../observability/index.ts";
import { createMemoryStorage } from "../storage/index.ts";
import { createSipLadderRecorder, type ActiveCall } from "../call/index.ts";
import { parseMessage } from "../sip/index.ts";
import { buildHttpApp, hashToken, type HttpAppDeps } from "./index.ts";

const INVITE = "INVITE sip:+15550400001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.24.1:5062;branch=z9hG4bK-1\r\nFrom: <sip:a@127.0.24.1>;tag=f\r\nTo: <sip:b@127.0.0.1>\r\nCall-ID: sip-a\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";

async function harness() {
  const storage = createMemoryStorage();
  const compiled = compilePolicy({ customers: [], carriers: [], routes: [], rateDecks: [] });
  assert.ok(compiled.ok);
  const recorder = createSipLadderRecorder({ repository: storage.sipLadders, clock: new FakeClock(), logger: createLogger({ level: "silent" }) });
  const parsed = parseMessage(Buffer.from(INVITE));
  assert.ok(parsed.ok);
  recorder.observe("in", parsed.message, Buffer.from(INVITE), "UDP", { address: "127.0.0.1", port: 5060 }, { address: "127.0.24.1", port: 5062 });
  recorder.link("sip-a", "live-1", "a");
  await storage.sipLadders.save("ended-1", Date.now(), [
    { at: Date.now(), direction: "in", leg: "a", protocol: "UDP", local: { address: "127.0.0.1", port: 5060 }, remote: { address: "127.0.24.1", port: 5062 }, raw: Buffer.from(INVITE) },
  ]);
  const live: ActiveCall[] = [{ id: "live-1", callId: "sip-a", direction: "outbound", customerId: null, carrierId: null, state: "trying", startedAt: 0, answeredAt: null }];
  const deps: HttpAppDeps = {
    provisioning: storage.provisioning,
    cdrs: storage.cdrs,
    calls: { activeCalls: () => live, channelUse: () => ({ inbound: 0, outbound: 0 }), hangup: () => false },
    policy: () => compiled.value,
    health: { gateways: () => null, registrations: () => [] },
    metrics: createMetricsRegistry(),
    applyProvisioning: async () => ({ ok: true }),
    tokens: [{ name: "ops", role: "read", sha256: hashToken("read-token") }],
    metricsNeedToken: false,
    sipLadders: recorder,
  };
  return { app: buildHttpApp(deps), recorder };
}

describe("GET /api/v1/calls/:id/sip", () => {
  it("serves a live call's ladder (by our id or its Call-ID) and an ended one's, as JSON, text and PCAP, to a read token", async () => {
    const { app, recorder } = await harness();
    const auth = { authorization: "Bearer read-token" };
    try {
      assert.equal((await app.inject({ url: "/api/v1/calls/live-1/sip" })).statusCode, 401, "a token is needed like for every read route");
      const live = await app.inject({ url: "/api/v1/calls/live-1/sip", headers: auth });
      assert.equal(live.statusCode, 200);
      const body = live.json() as { live: boolean; items: Array<{ src: string; dst: string; summary: { method: string }; raw: string }> };
      assert.equal(body.live, true);
      assert.equal(body.items[0]?.summary.method, "INVITE");
      assert.equal(body.items[0]?.src, "127.0.24.1:5062");
      assert.match(body.items[0]?.raw ?? "", /^INVITE /);
      assert.equal((await app.inject({ url: "/api/v1/calls/sip-a/sip", headers: auth })).json().callId, "live-1");

      const text = await app.inject({ url: "/api/v1/calls/ended-1/sip?format=text", headers: auth });
      assert.equal(text.statusCode, 200);
      assert.match(String(text.headers["content-type"]), /^text\/plain/);
      assert.match(text.body, /SIP ladder of call ended-1: 1 message/);

      const pcap = await app.inject({ url: "/api/v1/calls/ended-1/sip?format=pcap", headers: auth });
      assert.equal(pcap.statusCode, 200);
      assert.equal(pcap.headers["content-type"], "application/vnd.tcpdump.pcap");
      assert.match(String(pcap.headers["content-disposition"]), /attachment; filename="call-ended-1\.pcap"/);
      assert.equal(pcap.rawPayload.readUInt32LE(0), 0xa1b2c3d4);

      assert.equal((await app.inject({ url: "/api/v1/calls/nope/sip", headers: auth })).statusCode, 404);
      assert.equal((await app.inject({ url: "/api/v1/calls/ended-1/sip?format=xml", headers: auth })).statusCode, 400);

      const doc = (await app.inject({ url: "/openapi.json", headers: auth })).json() as { paths: Record<string, Record<string, unknown>> };
      assert.ok(doc.paths["/api/v1/calls/{id}/sip"]?.["get"] !== undefined, "documented in OpenAPI");
    } finally {
      await recorder.stop();
      await app.close();
    }
  });
});
