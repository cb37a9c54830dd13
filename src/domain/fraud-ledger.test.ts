// The ledger answers the rules' questions from indexes; the list-backed FraudState answers them by
// scanning. Both must give the same verdicts: a seeded random run of starts, ends and time steps
// is judged both ways and compared rule by rule.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FraudLedger } from "./fraud-ledger.ts";
import { judgeOutboundCall, type FraudPolicy } from "./fraud.ts";
import { EMPTY_FRAUD_STATE, evaluateOutboundCall, fraudCallEnded, type FraudState } from "../../test/support/fraud-state.ts";
import { DEFAULT_FRAUD_RANGES, createFraudRanges } from "./fraud-ranges.ts";
import { Rng } from "../../test/support/rng.ts";

const ranges = (() => {
  const r = createFraudRanges(DEFAULT_FRAUD_RANGES);
  assert.ok(r.ok);
  return r.value;
})();

/** Uniform in [0, 1) from a seeded Rng, so a failure can be replayed. */
function prng(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next() / 0x1_0000_0000;
}

const policies: FraudPolicy[] = [
  {
    customerId: "c1",
    name: "acme",
    countryCode: "1",
    allowInternational: true,
    limits: { total: { concurrent: 6, perMinute: 12 }, international: { concurrent: 2, perMinute: 4 } },
    monthlySpendCap: 5,
    sequential: { windowMs: 120_000, distinctNumbers: 6, varyingDigits: 1 },
    burst: { windowMs: 60_000, factor: 3, minCalls: 5, alpha: 0.3, warmupWindows: 3 },
    actions: { "sequential-dialing": "block", "destination-class": "allow" },
  },
  { customerId: "c2", name: "globex", countryCode: "44" },
];

for (const policy of policies) {
  describe(`FraudLedger agrees with FraudState: ${policy.name}`, () => {
    for (const seed of [1, 2, 3]) {
      it(`seed ${seed}`, () => {
        const random = prng(seed);
        const ledger = new FraudLedger();
        let state: FraudState = EMPTY_FRAUD_STATE;
        const live: string[] = [];
        let now = Date.UTC(2026, 10, 24);
        const numbers = ["+1212555010", "+1212555020", "+4420712345", "+8821234567", "+1900555012"];
        for (let i = 0; i < 1500; i++) {
          now += Math.floor(random() * 4000);
          if (live.length > 0 && random() < 0.45) {
            const id = live.splice(Math.floor(random() * live.length), 1)[0] ?? "";
            ledger.ended(id);
            state = fraudCallEnded(state, id);
            continue;
          }
          const destination = `${numbers[Math.floor(random() * numbers.length)]}${Math.floor(random() * 10)}`;
          const call = { callId: `call-${i}`, destination, ratePerMinute: Math.round(random() * 10) / 100, spentThisMonth: random() * 4 };
          const byState = evaluateOutboundCall(policy, ranges, state, call, now);
          const byLedger = judgeOutboundCall(policy, ranges, ledger, call, now);
          assert.deepEqual(
            byLedger.verdict.results.map((r) => [r.rule, r.outcome, r.reason]),
            byState.verdict.results.map((r) => [r.rule, r.outcome, r.reason]),
            `step ${i}: ${destination}`,
          );
          assert.equal(byLedger.verdict.kind, byState.verdict.kind);
          state = byState.state;
          ledger.baseline = byLedger.baseline;
          if (byLedger.suspension !== undefined) ledger.suspended = byLedger.suspension;
          if (byLedger.verdict.kind === "allow") {
            ledger.started({ callId: call.callId, destination, destinationClass: byLedger.verdict.destinationClass, ratePerMinute: call.ratePerMinute }, now, policy);
            live.push(call.callId);
          }
          assert.deepEqual(ledger.baseline, state.baseline);
          assert.equal(ledger.activeCount(undefined), state.active.length);
        }
      });
    }
  });
}

describe("FraudLedger", () => {
  it("counts running cost from rates and start times, and returns to zero when every call ended", () => {
    const l = new FraudLedger();
    l.started({ callId: "a", destination: "+12125550100", destinationClass: "domestic", ratePerMinute: 0.6 }, 0);
    l.started({ callId: "b", destination: "+12125550101", destinationClass: "domestic", ratePerMinute: 1.2 }, 30_000);
    assert.ok(Math.abs(l.runningCost(60_000) - (0.6 + 0.6)) < 1e-9);
    l.ended("a");
    l.ended("a");
    l.ended("b");
    assert.equal(l.runningCost(120_000), 0);
    assert.equal(l.activeCount(undefined), 0);
  });
});
