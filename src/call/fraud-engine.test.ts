// The fraud step of the outbound pipeline, with the real engine, a fake clock and in-memory
// repositories: each verdict is one trace entry, a block is a 403 with a Warning naming the rule,
// alerts go to the security log and the webhook without holding up the call, a call leaves the
// engine's count when its CDR is closed, and a suspension is stored until it is lifted.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { compilePolicy, createFraudRanges, DEFAULT_FRAUD_RANGES, mergeFraudRanges, type CustomerFraudSettings, type Policy } from "../domain/index.ts";
import { customer, carrier } from "../domain/test-fixtures.ts";
import { FakeClock } from "../lib/index.ts";
import { createLogger } from "../observability/index.ts";
import { NonceCountTracker, parseMessage, type SipRequest } from "../sip/index.ts";
import { MemoryBindingRepository, MemoryCdrRepository, MemoryFraudSuspensionRepository } from "../storage/index.ts";
import { CdrDraft } from "./cdr.ts";
import { ChannelTable } from "./channels.ts";
import { createFraudEngine, type AlertPoster, type FraudEngine } from "./fraud-engine.ts";
import { outboundPipeline, type PipelineEnv, type PipelineOutcome } from "./pipeline.ts";

const T0 = Date.UTC(2026, 10, 24, 9, 0, 0);

function setup(fraud: CustomerFraudSettings | undefined, post?: AlertPoster) {
  const clock = new FakeClock(T0);
  const lines: string[] = [];
  const logger = createLogger({
    level: "info",
    destination: new Writable({
      write(chunk: Buffer, _e, cb) {
        lines.push(...chunk.toString("utf8").split("\n").filter((l) => l.length > 0));
        cb();
      },
    }),
  });
  const suspensions = new MemoryFraudSuspensionRepository();
  const engine = createFraudEngine({ clock, logger, suspensions, ...(post !== undefined ? { post } : {}), options: { webhookUrl: "http://127.0.0.1:9/alerts", webhookTimeoutMs: 500 } });
  const acme = customer({
    id: "acme",
    identification: { cidrs: ["192.0.2.10/32"], credentials: [] },
    numbering: { format: "e164-plus", countryCode: "1" },
    ...(fraud !== undefined ? { fraud } : {}),
  });
  const compiled = compilePolicy({
    customers: [acme],
    carriers: [carrier({ id: "alpha" })],
    routes: [{ id: "all", prefix: "", ordering: "priority", carriers: [{ carrierId: "alpha", priority: 1, weight: 1 }] }],
    rateDecks: [{ carrierId: "alpha", currency: "USD", entries: [{ prefix: "1", pricePerMinute: 0.5 }, { prefix: "44", pricePerMinute: 1 }] }],
  });
  assert.ok(compiled.ok, compiled.ok ? "" : compiled.error.join("; "));
  const policy: Policy = compiled.value;
  const env: PipelineEnv = {
    clock,
    channels: new ChannelTable(),
    bindings: new MemoryBindingRepository(),
    realm: "trunkline.test",
    nonceSecret: "s",
    nonceCounts: new NonceCountTracker(),
    defaultTimeoutMs: 1000,
    random: () => 0,
    isDown: () => false,
    ourHost: () => "127.0.0.1",
    forking: "parallel",
    aorsOf: () => [],
    fraud: engine,
  };
  const cdrs = new MemoryCdrRepository();
  let n = 0;
  /** Places one INVITE to `to`; the outcome and the closed CDR draft. */
  const call = async (to: string): Promise<{ outcome: PipelineOutcome; cdr: CdrDraft }> => {
    n++;
    const text = [
      `INVITE sip:${to}@127.0.0.1 SIP/2.0`,
      `Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-${n}`,
      "Max-Forwards: 70",
      `From: <sip:+15550100001@192.0.2.10>;tag=f${n}`,
      `To: <sip:${to}@127.0.0.1>`,
      `Call-ID: call-${n}@192.0.2.10`,
      "CSeq: 1 INVITE",
      "Contact: <sip:pbx@192.0.2.10:5060>",
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n");
    const parsed = parseMessage(Buffer.from(text));
    assert.ok(parsed.ok);
    const request = parsed.message as SipRequest;
    const cdr = new CdrDraft(() => clock.wallNow(), { callId: request.callId, direction: "outbound", callerRaw: "+15550100001", calleeRaw: to });
    const decision = policy.identifier.identify({ sourceAddress: "192.0.2.10" });
    assert.equal(decision.kind, "customer");
    if (decision.kind !== "customer") throw new Error("not a customer");
    const outcome = await outboundPipeline(
      env,
      { request, context: { protocol: "UDP", remote: { address: "192.0.2.10", port: 5060 }, local: { address: "127.0.0.1", port: 5060 }, connectionId: null, receivedAt: 0 }, policy, cdr },
      decision,
    );
    if (outcome.kind === "admit") for (const h of outcome.admitted.holds) h.release();
    return { outcome, cdr };
  };
  /** Ends a call as the call layer does: the engine hears of it, then its CDR is closed (answered, with a cost, when given). */
  const end = async (cdr: CdrDraft, cost?: number): Promise<void> => {
    cdr.set({ endedAt: clock.wallNow(), disposition: cost !== undefined ? "answered" : "cancelled", ...(cost !== undefined ? { cost, ratePerMinute: 0.5, currency: "USD" } : {}) });
    engine.callEnded(cdr.record());
    await cdrs.close(cdr.record());
  };
  const fraudTrace = (cdr: CdrDraft) => cdr.record().trace.filter((t) => t.step === "fraud");
  const events = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l["security"] === true);
  return { clock, engine, call, end, fraudTrace, events, suspensions, lines };
}

function refusalOf(outcome: PipelineOutcome) {
  assert.equal(outcome.kind, "refuse");
  if (outcome.kind !== "refuse") throw new Error("not refused");
  return outcome.refusal;
}

describe("fraud step of the outbound pipeline", () => {
  it("passes a domestic call with one trace entry naming the class and the rate", async () => {
    const h = setup(undefined);
    const { outcome, cdr } = await h.call("+12125550100");
    assert.equal(outcome.kind, "admit");
    const [entry, ...more] = h.fraudTrace(cdr);
    assert.equal(more.length, 0, "one fraud entry");
    assert.equal(entry?.result, "pass");
    assert.equal(entry?.data?.["class"], "domestic");
    assert.equal(entry?.data?.["action"], "allow");
    assert.equal(entry?.data?.["ratePerMinute"], 0.5);
    assert.match(entry?.detail ?? "", /passed every fraud rule \(domestic\)/);
    assert.equal(h.events().length, 0, "a plain allow raises no security event");
    assert.equal(h.engine.activeCalls("acme"), 1);
  });

  it("blocks international by default with 403, a Warning naming the rule, a security event and a webhook alert", async () => {
    const posts: { url: string; body: string }[] = [];
    const h = setup(undefined, async (url, body) => {
      posts.push({ url, body });
      return 204;
    });
    const { outcome, cdr } = await h.call("+442071234567");
    const r = refusalOf(outcome);
    assert.equal(r.status, 403);
    assert.match(r.warning, /Fraud rule destination-class/);
    const [entry] = h.fraudTrace(cdr);
    assert.equal(entry?.result, "refuse");
    assert.equal(entry?.data?.["rule"], "destination-class");
    assert.equal(entry?.data?.["class"], "international");
    assert.match(entry?.detail ?? "", /international calls not enabled for acme/);
    assert.equal(h.engine.activeCalls("acme"), 0, "a blocked call is not counted");
    const [event] = h.events();
    assert.equal(event?.["reason"], "fraud-destination-class");
    assert.equal(event?.["account"], "acme");
    assert.equal(event?.["action"], "block");
    await h.engine.drain();
    assert.equal(posts.length, 1);
    assert.equal(posts[0]?.url, "http://127.0.0.1:9/alerts");
    const body = JSON.parse(posts[0]?.body ?? "{}") as Record<string, unknown>;
    assert.equal(body["action"], "block");
    assert.equal(body["rule"], "destination-class");
    assert.equal(body["destination"], "+442071234567");
  });

  it("blocks a shipped high-risk range even with international enabled, and lets the UK through", async () => {
    const h = setup({ allowInternational: true });
    assert.equal((await h.call("+442071234567")).outcome.kind, "admit");
    const { outcome, cdr } = await h.call("+88212345678");
    assert.equal(refusalOf(outcome).status, 403);
    assert.equal(h.fraudTrace(cdr)[0]?.data?.["class"], "high-risk");
    assert.equal(h.fraudTrace(cdr)[0]?.data?.["range"], "+882");
  });

  it("a webhook that fails or hangs never holds the verdict; the failure is logged", async () => {
    let release: () => void = () => {};
    const hanging = new Promise<number>((_, reject) => {
      release = () => reject(new Error("connect ECONNREFUSED"));
    });
    const h = setup(undefined, () => hanging);
    const { outcome } = await h.call("+442071234567");
    assert.equal(outcome.kind, "refuse", "answered while the alert is still in flight");
    release();
    await h.engine.drain();
    assert.ok(h.lines.some((l) => l.includes("fraud alert webhook failed")));
  });

  it("frees a call from the concurrent count when its CDR is closed, whatever the ending", async () => {
    const h = setup({ limits: { total: { concurrent: 1 } } });
    const first = await h.call("+12125550100");
    assert.equal(first.outcome.kind, "admit");
    const second = await h.call("+12125550101");
    assert.equal(refusalOf(second.outcome).status, 403);
    assert.equal(h.fraudTrace(second.cdr)[0]?.data?.["rule"], "concurrent-calls");
    await h.end(first.cdr);
    assert.equal(h.engine.activeCalls("acme"), 0);
    assert.equal((await h.call("+12125550102")).outcome.kind, "admit");
  });

  it("counts the cost of ended calls against the daily spend cap", async () => {
    const h = setup({ dailySpendCap: 2 });
    const a = await h.call("+12125550100");
    h.clock.advance(60_000);
    await h.end(a.cdr, 2.5);
    assert.equal(h.engine.spend("acme").today, 2.5);
    const b = await h.call("+12125550101");
    assert.equal(refusalOf(b.outcome).status, 403);
    assert.match(h.fraudTrace(b.cdr)[0]?.detail ?? "", /daily-spend: spent 2.5 today/);
  });

  it("sequential dialing suspends the trunk, stores the suspension, refuses later calls until lifted", async () => {
    const h = setup(undefined);
    const kinds: string[] = [];
    for (let i = 0; i < 10; i++) {
      const { outcome, cdr } = await h.call(`+1212555010${i}`);
      kinds.push(outcome.kind);
      if (outcome.kind === "admit") await h.end(cdr);
      h.clock.advance(1000);
    }
    assert.deepEqual(kinds, [...Array(9).fill("admit"), "refuse"]);
    assert.deepEqual(
      h.engine.suspensions().map((s) => [s.customerId, s.rule]),
      [["acme", "sequential-dialing"]],
    );
    assert.deepEqual((await h.suspensions.list()).map((s) => s.customerId), ["acme"]);
    const later = await h.call("+13105550000");
    assert.match(refusalOf(later.outcome).warning, /suspended/);
    assert.equal(h.fraudTrace(later.cdr)[0]?.data?.["rule"], "suspended");
    assert.equal(h.engine.lift("acme", "test"), true);
    assert.equal(h.engine.lift("acme"), false);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(await h.suspensions.list(), []);
    assert.equal((await h.call("+13105550001")).outcome.kind, "admit");
  });

  it("restores stored suspensions at start", async () => {
    const clock = new FakeClock(T0);
    const logger = createLogger({ level: "silent" });
    const engine: FraudEngine = createFraudEngine({ clock, logger, initialSuspensions: [{ customerId: "acme", at: T0 - 1000, rule: "sequential-dialing", reason: "scan" }] });
    assert.equal(engine.suspensions()[0]?.customerId, "acme");
    const v = engine.evaluate(customer({ id: "acme" }), { id: "x", callId: "x", destination: "+442071234567", source: "192.0.2.10:5060" });
    assert.equal(v.kind, "block");
    assert.match(v.reason, /suspended/);
  });

  it("counts this month's spend from stored CDRs at start, today's apart", async () => {
    const h = setup({ dailySpendCap: 3 });
    const store = new MemoryCdrRepository();
    const yesterday = await h.call("+12125550100");
    yesterday.cdr.set({ startedAt: T0 - 86_400_000, endedAt: T0 - 86_000_000, cost: 2, disposition: "answered" });
    const today = await h.call("+12125550101");
    today.cdr.set({ endedAt: T0, cost: 1.5, disposition: "answered" });
    for (const d of [yesterday.cdr, today.cdr]) await store.close(d.record());
    const fresh = createFraudEngine({ clock: h.clock, logger: createLogger({ level: "silent" }) });
    await fresh.loadSpend(store);
    assert.deepEqual(fresh.spend("acme"), { today: 1.5, thisMonth: 3.5 });
  });

  it("uses a replaced range list at once", async () => {
    const h = setup({ allowInternational: true });
    assert.equal((await h.call("+33142685300")).outcome.kind, "admit");
    const ranges = createFraudRanges(mergeFraudRanges(DEFAULT_FRAUD_RANGES, { version: "local-1", highRisk: [{ prefix: "+3314", label: "test range" }] }));
    assert.ok(ranges.ok);
    h.engine.setRanges(ranges.value);
    const { outcome, cdr } = await h.call("+33142685301");
    assert.equal(outcome.kind, "refuse");
    assert.equal(h.fraudTrace(cdr)[0]?.data?.["rangesVersion"], "local-1");
  });
});
