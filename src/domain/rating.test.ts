import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type BillingIncrements, BILLING_1_1, BILLING_60_60, billedSeconds, callCost, createRateTable } from "./rating.ts";

describe("createRateTable lookup", () => {
  const built = createRateTable({
    carrierId: "c",
    currency: "USD",
    entries: [
      { prefix: "1", pricePerMinute: 0.005 },
      { prefix: "44", pricePerMinute: 0.01 },
      { prefix: "+447", pricePerMinute: 0.04 },
      { prefix: "447700900", pricePerMinute: 0.2 },
    ],
  });
  assert.ok(built.ok);
  const cases: [number: string, price: number | undefined][] = [
    ["+12125551234", 0.005],
    ["+442071234567", 0.01],
    ["+447911123456", 0.04],
    ["+447700900123", 0.2],
    ["+33142685300", undefined],
  ];
  for (const [n, price] of cases) {
    it(`${n} -> ${price ?? "no rate"}`, () => assert.equal(built.value.lookup(n)?.pricePerMinute, price));
  }
  it("reports bad lines", () => {
    const r = createRateTable({
      carrierId: "c",
      currency: "USD",
      entries: [{ prefix: "44", pricePerMinute: 1 }, { prefix: "44", pricePerMinute: 2 }, { prefix: "4a", pricePerMinute: 1 }, { prefix: "1", pricePerMinute: -1 }],
    });
    assert.ok(!r.ok);
    assert.equal(r.error.length, 3);
  });
});

describe("billedSeconds and callCost", () => {
  const B30_6: BillingIncrements = { minimumSeconds: 30, incrementSeconds: 6 };
  const cases: [duration: number, increments: BillingIncrements, price: number, billed: number, cost: number][] = [
    [0, BILLING_60_60, 0.01, 0, 0],
    [-5, BILLING_60_60, 0.01, 0, 0],
    [1, BILLING_60_60, 0.01, 60, 0.01],
    [60, BILLING_60_60, 0.01, 60, 0.01],
    [61, BILLING_60_60, 0.01, 120, 0.02],
    [120.0000001, BILLING_60_60, 0.01, 120, 0.02],
    [12.3, BILLING_1_1, 0.06, 13, 0.013],
    [59, BILLING_1_1, 0.012, 59, 0.0118],
    [10, B30_6, 0.06, 30, 0.03],
    [31, B30_6, 0.06, 36, 0.036],
    [36, B30_6, 0.06, 36, 0.036],
    [37, B30_6, 0.06, 42, 0.042],
    [3600, BILLING_1_1, 0.0123, 3600, 0.738],
  ];
  for (const [duration, inc, price, billed, cost] of cases) {
    it(`${duration}s at ${price}/min, ${inc.minimumSeconds}/${inc.incrementSeconds} -> ${billed}s, ${cost}`, () => {
      assert.equal(billedSeconds(duration, inc), billed);
      assert.deepEqual(callCost(price, duration, inc), { billedSeconds: billed, cost });
    });
  }
});
