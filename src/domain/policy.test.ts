import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { compilePolicy } from "./policy.ts";
import { refusal } from "./refusal.ts";
import { carrier, customer, gateway } from "./test-fixtures.ts";
import type { Provisioning, RefusalKind } from "./types.ts";

const good: Provisioning = {
  customers: [
    customer({
      id: "acme",
      identification: { cidrs: ["198.51.100.0/24"], credentials: [] },
      dids: [{ kind: "range", from: "+442071234500", to: "+442071234599" }],
    }),
  ],
  carriers: [carrier({ id: "telco", sourceCidrs: ["192.0.2.0/28"] })],
  routes: [{ id: "default", prefix: "", ordering: "cost", carriers: [{ carrierId: "telco", priority: 1, weight: 1 }] }],
  rateDecks: [{ carrierId: "telco", currency: "GBP", entries: [{ prefix: "44", pricePerMinute: 0.01 }] }],
};

describe("compilePolicy", () => {
  it("builds every index from good provisioning", () => {
    const p = compilePolicy(good);
    assert.ok(p.ok);
    assert.equal(p.value.identifier.identify({ sourceAddress: "192.0.2.3" }).kind, "carrier");
    assert.equal(p.value.dids.lookup("+442071234567")?.customer.id, "acme");
    assert.equal(p.value.routes.match("+442071234567")?.id, "default");
    assert.equal(p.value.rates.get("telco")?.lookup("+442071234567")?.pricePerMinute, 0.01);
  });

  const cases: [name: string, provisioning: Provisioning, problem: RegExp][] = [
    ["duplicate customer id", { ...good, customers: [...good.customers, customer({ id: "acme", identification: { cidrs: ["10.0.0.1"], credentials: [] } })] }, /customers\[1\]\.id: duplicate/],
    ["duplicate gateway id", { ...good, carriers: [carrier({ id: "telco", gateways: [gateway("g"), gateway("g")] })] }, /carriers\[0\]\.gateways\[1\]\.id/],
    ["route to unknown carrier", { ...good, routes: [{ id: "r", prefix: "1", ordering: "priority", carriers: [{ carrierId: "nope", priority: 1, weight: 1 }] }] }, /routes\[0\]\.carriers\[0\]\.carrierId: unknown carrier nope/],
    ["deck for unknown carrier", { ...good, rateDecks: [{ carrierId: "nope", currency: "GBP", entries: [] }] }, /rateDecks\[0\]\.carrierId/],
    ["bad CIDR", { ...good, carriers: [carrier({ id: "telco", sourceCidrs: ["192.0.2.0/99"] })] }, /identification: 192\.0\.2\.0\/99/],
    ["bad DID", { ...good, customers: [customer({ id: "acme", identification: { cidrs: ["10.0.0.1"], credentials: [] }, dids: [{ kind: "number", number: "020" }] })] }, /dids: customer acme/],
  ];
  for (const [name, provisioning, problem] of cases) {
    it(`reports ${name}`, () => {
      const p = compilePolicy(provisioning);
      assert.ok(!p.ok);
      assert.ok(p.error.some((e) => problem.test(e)), p.error.join("\n"));
    });
  }
});

describe("refusal", () => {
  const cases: [kind: RefusalKind, status: number, cause: number][] = [
    ["unknown-source", 403, 21],
    ["bad-credentials", 403, 21],
    ["channel-limit", 503, 34],
    ["cps-limit", 503, 42],
    ["destination-not-allowed", 403, 21],
    ["caller-id-not-allowed", 403, 21],
    ["invalid-number", 484, 28],
    ["no-route", 404, 3],
    ["route-unavailable", 503, 38],
    ["not-registered", 480, 20],
    ["unknown-did", 404, 1],
  ];
  for (const [kind, status, cause] of cases) {
    it(`${kind} -> ${status}, cause ${cause}`, () => {
      const r = refusal(kind, "why");
      assert.equal(r.status, status);
      assert.equal(r.q850Cause, cause);
      assert.equal(r.reason, "why");
      assert.ok(r.warning.length > 0);
    });
  }
  it("486 instead of 503 for a full trunk, without Retry-After", () => {
    const r = refusal("channel-limit", "full", { status: 486, retryAfterSeconds: 5 });
    assert.deepEqual([r.status, r.reasonPhrase, r.q850Cause, r.retryAfterSeconds], [486, "Busy Here", 17, undefined]);
  });
  it("Retry-After only on 503", () => {
    assert.equal(refusal("channel-limit", "full", { retryAfterSeconds: 7 }).retryAfterSeconds, 7);
    assert.equal(refusal("no-route", "none", { retryAfterSeconds: 7 }).retryAfterSeconds, undefined);
  });
});
