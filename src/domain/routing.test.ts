import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createRateTable, type RateTable } from "./rating.ts";
import {
  type RoutingContext,
  createRoutingTable,
  defaultFailoverPolicy,
  planDelivery,
  planRoute,
  shouldFailover,
  weightedOrder,
} from "./routing.ts";
import { carrier, customer, gateway, sequence } from "./test-fixtures.ts";
import type { AttemptOutcome, CarrierTrunk, CustomerTrunk, FailoverPolicy, Route } from "./types.ts";

describe("createRoutingTable longest-prefix match", () => {
  const route = (id: string, prefix: string): Route => ({ id, prefix, ordering: "priority", carriers: [] });
  const built = createRoutingTable([route("default", ""), route("uk", "44"), route("london", "+4420"), route("uk-mobile", "447")]);
  assert.ok(built.ok);
  const cases: [number: string, routeId: string][] = [
    ["+442071234567", "london"],
    ["+447700900123", "uk-mobile"],
    ["+441134960000", "uk"],
    ["+12125551234", "default"],
    ["+44", "uk"],
  ];
  for (const [n, id] of cases) {
    it(`${n} -> ${id}`, () => assert.equal(built.value.match(n)?.id, id));
  }
  it("no default route: no match", () => {
    const t = createRoutingTable([route("uk", "44")]);
    assert.ok(t.ok);
    assert.equal(t.value.match("+12125551234"), undefined);
  });
  it("reports duplicate and bad prefixes", () => {
    const t = createRoutingTable([route("a", "44"), route("b", "+44"), route("c", "4x")]);
    assert.ok(!t.ok);
    assert.equal(t.error.length, 2);
  });
});

describe("weightedOrder", () => {
  const items = [
    { id: "a", w: 1 },
    { id: "b", w: 3 },
    { id: "standby", w: 0 },
  ];
  // Total 4: a covers [0,1), b covers [1,4). After the first pick only one weighted item remains.
  const cases: [random: number, order: string][] = [
    [0, "a,b,standby"],
    [0.24, "a,b,standby"],
    [0.25, "b,a,standby"],
    [0.99, "b,a,standby"],
  ];
  for (const [r, order] of cases) {
    it(`random ${r} -> ${order}`, () => {
      assert.equal(weightedOrder(items, (i) => i.w, sequence(r)).map((i) => i.id).join(","), order);
    });
  }
  it("follows the weights over many draws", () => {
    let seed = 42;
    // A small LCG keeps the test deterministic without Math.random.
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    let bFirst = 0;
    for (let i = 0; i < 4000; i++) if (weightedOrder(items, (x) => x.w, random)[0]?.id === "b") bFirst++;
    assert.ok(bFirst > 2800 && bFirst < 3200, `b first ${bFirst} of 4000`);
  });
});

describe("planRoute", () => {
  const cheap = carrier({ id: "cheap", gateways: [gateway("cheap-a", { priority: 1 }), gateway("cheap-b", { priority: 2 })] });
  const premium = carrier({
    id: "premium",
    numbering: { format: "national", countryCode: "44", techPrefix: "77#" },
    gateways: [gateway("premium-a", { weight: 1 }), gateway("premium-b", { weight: 3 })],
  });
  const norate = carrier({ id: "norate" });
  const full = carrier({ id: "full", limits: { channels: 1 } });
  const carriers = new Map<string, CarrierTrunk>([cheap, premium, norate, full].map((c) => [c.id, c]));
  const table = (carrierId: string, entries: [string, number][]): [string, RateTable] => {
    const t = createRateTable({ carrierId, currency: "EUR", entries: entries.map(([prefix, pricePerMinute]) => ({ prefix, pricePerMinute })) });
    assert.ok(t.ok);
    return [carrierId, t.value];
  };
  const rates = new Map<string, RateTable>([
    table("cheap", [["44", 0.01], ["447", 0.05]]),
    table("premium", [["44", 0.02], ["447", 0.03]]),
    table("full", [["44", 0.001]]),
  ]);
  const routes = createRoutingTable([
    { id: "uk", prefix: "44", ordering: "cost", carriers: ["cheap", "premium", "norate", "full"].map((carrierId) => ({ carrierId, priority: 1, weight: 1 })) },
    { id: "us", prefix: "1", ordering: "priority", carriers: [{ carrierId: "premium", priority: 1, weight: 1 }, { carrierId: "cheap", priority: 2, weight: 1 }] },
    { id: "fr", prefix: "33", ordering: "priority", carriers: [{ carrierId: "ghost", priority: 1, weight: 1 }] },
  ]);
  assert.ok(routes.ok);
  const ctx = (over: Partial<RoutingContext> = {}): RoutingContext => ({
    carriers,
    rates,
    downGateways: new Set(),
    carrierChannels: new Map([["full", { inbound: 0, outbound: 1 }]]),
    random: sequence(0.9),
    ...over,
  });
  const attemptsOf = (plan: ReturnType<typeof planRoute>): string =>
    plan.kind === "route" ? plan.attempts.map((a) => `${a.gateway.id}:${a.calledUser}`).join(" ") : `refuse ${plan.refusal.status}`;

  const cases: [name: string, destination: string, context: RoutingContext, expected: string][] = [
    [
      "LCR on a landline: cheap first, full carrier and unpriced carrier skipped",
      "+442071234567",
      ctx(),
      "cheap-a:+442071234567 cheap-b:+442071234567 premium-b:77#02071234567 premium-a:77#02071234567",
    ],
    [
      "LCR on a mobile: the longer prefix makes premium cheaper",
      "+447700900123",
      ctx(),
      "premium-b:77#07700900123 premium-a:77#07700900123 cheap-a:+447700900123 cheap-b:+447700900123",
    ],
    ["priority route; weighted gateways with a low draw", "+12125551234", ctx({ random: sequence(0) }), "premium-a:77#0012125551234 premium-b:77#0012125551234 cheap-a:+12125551234 cheap-b:+12125551234"],
    ["down gateways are skipped", "+12125551234", ctx({ downGateways: new Set(["premium-a", "cheap-a"]) }), "premium-b:77#0012125551234 cheap-b:+12125551234"],
    ["everything down: 503", "+12125551234", ctx({ downGateways: new Set(["premium-a", "premium-b", "cheap-a", "cheap-b"]) }), "refuse 503"],
    ["unknown carrier on the route: 503", "+33142685300", ctx(), "refuse 503"],
    ["no route: 404", "+81312345678", ctx(), "refuse 404"],
  ];
  for (const [name, destination, context, expected] of cases) {
    it(name, () => assert.equal(attemptsOf(planRoute(routes.value, destination, context)), expected));
  }

  it("prices attempts and explains skips", () => {
    const plan = planRoute(routes.value, "+442071234567", ctx());
    assert.equal(plan.kind, "route");
    if (plan.kind !== "route") return;
    assert.equal(plan.attempts[0]?.pricePerMinute, 0.01);
    assert.equal(plan.attempts[0]?.currency, "EUR");
    assert.deepEqual(plan.skipped.map((s) => s.carrierId).sort(), ["full", "norate"]);
    assert.match(plan.reason, /route uk .*cost: cheap, premium/);
  });
});

describe("shouldFailover", () => {
  const policy = defaultFailoverPolicy(3000);
  const noTransport: FailoverPolicy = { ...policy, onTransportError: false, onTimeout: false };
  const custom: FailoverPolicy = { ...policy, codes: [486, 603] };
  const cases: [name: string, p: FailoverPolicy, outcome: AttemptOutcome, failover: boolean][] = [
    ["408", policy, { kind: "response", status: 408 }, true],
    ["480", policy, { kind: "response", status: 480 }, true],
    ["500", policy, { kind: "response", status: 500 }, true],
    ["502", policy, { kind: "response", status: 502 }, true],
    ["503", policy, { kind: "response", status: 503 }, true],
    ["504", policy, { kind: "response", status: 504 }, true],
    ["486 busy is definite", policy, { kind: "response", status: 486 }, false],
    ["404 is definite", policy, { kind: "response", status: 404 }, false],
    ["603 is definite", policy, { kind: "response", status: 603 }, false],
    ["487 cancelled", policy, { kind: "response", status: 487 }, false],
    ["200", policy, { kind: "response", status: 200 }, false],
    ["302", policy, { kind: "response", status: 302 }, false],
    ["transport error", policy, { kind: "transport-error", detail: "ECONNREFUSED" }, true],
    ["timeout", policy, { kind: "timeout" }, true],
    ["transport error, disabled", noTransport, { kind: "transport-error" }, false],
    ["timeout, disabled", noTransport, { kind: "timeout" }, false],
    ["486 configured", custom, { kind: "response", status: 486 }, true],
    ["6xx never, even configured", custom, { kind: "response", status: 603 }, false],
  ];
  for (const [name, p, outcome, failover] of cases) {
    it(`${name} -> ${failover ? "next target" : "stop"}`, () => assert.equal(shouldFailover({ failover: p }, outcome).failover, failover));
  }
});

describe("planDelivery", () => {
  const policy = defaultFailoverPolicy();
  const staticPbx = customer({ id: "static", mode: { kind: "static", uri: "sip:pbx.example" }, failover: { uris: ["sip:backup.example"], forwardTo: "+447700900123", policy } });
  const regPbx = customer({ id: "reg", mode: { kind: "registration" }, failover: { uris: [], policy } });
  const regWithForward = customer({ id: "reg-fwd", mode: { kind: "registration" }, failover: { uris: [], forwardTo: "+447700900123", policy } });
  const cases: [who: CustomerTrunk, contacts: string[], expected: string][] = [
    [staticPbx, [], "static:sip:pbx.example failover:sip:backup.example then +447700900123"],
    [regPbx, ["sip:a@10.0.0.1", "sip:a@10.0.0.2"], "registration:sip:a@10.0.0.1 registration:sip:a@10.0.0.2"],
    [regPbx, [], "refuse 480"],
    [regWithForward, [], " then +447700900123"],
  ];
  for (const [who, contacts, expected] of cases) {
    it(`${who.id} with ${contacts.length} contact(s) -> ${expected}`, () => {
      const d = planDelivery(who, contacts);
      const got =
        d.kind === "deliver"
          ? d.targets.map((t) => `${t.source}:${t.uri}`).join(" ") + (d.forwardTo !== undefined ? ` then ${d.forwardTo}` : "")
          : `refuse ${d.refusal.status}`;
      assert.equal(got, expected);
    });
  }
});
