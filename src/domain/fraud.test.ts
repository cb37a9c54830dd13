import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type FraudPolicy, classifyDestination, rollBaseline } from "./fraud.ts";
import { type FraudState, EMPTY_FRAUD_STATE, evaluateOutboundCall, fraudCallEnded, liftSuspension, runningCost } from "../../test/support/fraud-state.ts";
import { DEFAULT_FRAUD_RANGES, createFraudRanges } from "./fraud-ranges.ts";

const MIN = 60_000;
const ranges = (() => {
  const r = createFraudRanges(DEFAULT_FRAUD_RANGES);
  assert.ok(r.ok);
  return r.value;
})();

// Rules that need history are off unless a test turns them on, so each test sees one rule at work.
const base: FraudPolicy = { customerId: "c1", name: "acme", countryCode: "44", sequential: false, burst: false };

function run(policy: FraudPolicy, state: FraudState, destination: string, now: number, extra: { spentToday?: number; spentThisMonth?: number; ratePerMinute?: number } = {}) {
  return evaluateOutboundCall(policy, ranges, state, { callId: `call-${now}-${destination}`, destination, ...extra }, now);
}

describe("classifyDestination", () => {
  const cases: [destination: string, countryCode: string, expected: string][] = [
    ["+442071234567", "44", "domestic"],
    ["+33123456789", "44", "international"],
    ["+449012345678", "44", "premium"],
    ["+19005551234", "44", "premium"], // premium abroad is premium, not just international
    ["+5372345678", "44", "high-risk"],
    ["+12125551234", "1", "domestic"],
    ["+18765551234", "1", "high-risk"], // Jamaica shares +1 but is listed
  ];
  for (const [d, cc, expected] of cases) {
    it(`${d} from +${cc}: ${expected}`, () => assert.equal(classifyDestination(d, cc, ranges).destinationClass, expected));
  }
});

describe("destination rules", () => {
  const cases: [name: string, policy: FraudPolicy, destination: string, expected: string][] = [
    ["domestic passes by default", base, "+442071234567", "allow"],
    ["international is off by default", base, "+33123456789", "block destination-class"],
    ["international when enabled", { ...base, allowInternational: true }, "+33123456789", "allow"],
    ["premium is off by default", base, "+449012345678", "block destination-class"],
    ["premium when enabled", { ...base, allowPremium: true }, "+449012345678", "allow"],
    ["high-risk stays off with international on", { ...base, allowInternational: true }, "+5372345678", "block destination-class"],
    ["high-risk when enabled", { ...base, allowInternational: true, allowHighRisk: true }, "+5372345678", "allow"],
    ["an allowed prefix exempts from the class rules", { ...base, allowPrefixes: ["+53"] }, "+5372345678", "allow"],
    ["a denied prefix blocks a domestic call", { ...base, denyPrefixes: ["+4420"] }, "+442071234567", "block destination-prefix"],
    ["a more specific allow beats a deny", { ...base, denyPrefixes: ["+44"], allowPrefixes: ["+4420"] }, "+442071234567", "allow"],
    ["a more specific deny beats an allow", { ...base, denyPrefixes: ["+4420"], allowPrefixes: ["+44"] }, "+442071234567", "block destination-prefix"],
    ["deny wins a tie", { ...base, denyPrefixes: ["+53"], allowPrefixes: ["53"] }, "+5372345678", "block destination-prefix"],
  ];
  for (const [name, policy, destination, expected] of cases) {
    it(`${name}: ${expected}`, () => {
      const { verdict } = run(policy, EMPTY_FRAUD_STATE, destination, 0);
      const firstHit = verdict.results.find((r) => r.outcome === "hit");
      assert.equal(verdict.kind === "allow" ? "allow" : `${verdict.kind} ${firstHit?.rule}`, expected);
      // Every rule is reported, so the verdict explains itself.
      assert.equal(verdict.results.length, 9);
      if (verdict.kind !== "allow") {
        assert.equal(verdict.refusal?.status, 403);
        assert.match(verdict.reason, /^acme: \+\d+ blocked by destination-/);
        assert.equal(verdict.alerts[0]?.account, "c1");
        assert.equal(verdict.alerts[0]?.data?.["destination"], destination);
        assert.equal(verdict.alerts[0]?.data?.["rangesVersion"], ranges.version);
      } else {
        assert.equal(verdict.alerts.length, 0);
      }
    });
  }

  it("names the listed range in the reason", () => {
    const { verdict } = run(base, EMPTY_FRAUD_STATE, "+37167123456", 0);
    assert.match(verdict.reason, /high-risk: \+371 Latvia \(list trunkline-2026\.1\); high-risk calls not enabled for acme/);
    assert.equal(verdict.range?.prefix, "+371");
  });
});

describe("limits by destination class", () => {
  it("concurrent international calls, freed when a call ends", () => {
    const policy: FraudPolicy = { ...base, allowInternational: true, limits: { international: { concurrent: 2 } } };
    let state = EMPTY_FRAUD_STATE;
    const kinds: string[] = [];
    const ids: string[] = [];
    for (const d of ["+33123456781", "+33123456782", "+33123456783", "+442071234567"]) {
      const e = run(policy, state, d, 0);
      kinds.push(e.verdict.kind);
      state = e.state;
      if (e.verdict.kind === "allow") ids.push(`call-0-${d}`);
    }
    assert.deepEqual(kinds, ["allow", "allow", "block", "allow"], "the domestic call is not counted against international");
    state = fraudCallEnded(state, ids[0] ?? "");
    assert.equal(run(policy, state, "+33123456784", 1).verdict.kind, "allow");
    const blocked = run(policy, run(policy, state, "+33123456784", 1).state, "+33123456785", 2).verdict;
    assert.equal(blocked.refusal?.status, 403);
    assert.match(blocked.refusal?.warning ?? "", /concurrent-calls/);
    assert.match(blocked.reason, /concurrent-calls: 2 of 2 concurrent international calls in progress/);
  });

  it("total calls per minute, with time steps", () => {
    const policy: FraudPolicy = { ...base, limits: { total: { perMinute: 3 } } };
    let state = EMPTY_FRAUD_STATE;
    const steps: [at: number, expected: string][] = [
      [0, "allow"],
      [10_000, "allow"],
      [20_000, "allow"],
      [30_000, "block"],
      [59_999, "block"],
      [60_000, "allow"], // the call at 0 has left the minute
      [60_001, "block"],
    ];
    for (const [at, expected] of steps) {
      const e = run(policy, state, "+442071234567", at);
      assert.equal(e.verdict.kind, expected, `at ${at}`);
      state = e.state;
    }
  });
});

describe("spend caps", () => {
  const policy: FraudPolicy = { ...base, dailySpendCap: 50, monthlySpendCap: 500 };
  const cases: [name: string, spentToday: number, spentThisMonth: number, expected: string][] = [
    ["under both caps", 10, 100, "allow"],
    ["daily cap reached", 50, 100, "block daily-spend"],
    ["monthly cap reached", 10, 500, "block monthly-spend"],
  ];
  for (const [name, spentToday, spentThisMonth, expected] of cases) {
    it(`${name}: ${expected}`, () => {
      const { verdict } = run(policy, EMPTY_FRAUD_STATE, "+442071234567", 0, { spentToday, spentThisMonth });
      const hit = verdict.results.find((r) => r.outcome === "hit");
      assert.equal(verdict.kind === "allow" ? "allow" : `${verdict.kind} ${hit?.rule}`, expected);
    });
  }

  it("counts the running cost of calls in progress", () => {
    let state = EMPTY_FRAUD_STATE;
    state = run(policy, state, "+442071234567", 0, { ratePerMinute: 1 }).state;
    state = run(policy, state, "+442071234568", 0, { ratePerMinute: 1 }).state;
    assert.equal(runningCost(state, 10 * MIN), 20);
    assert.equal(run(policy, state, "+442071234569", 10 * MIN, { spentToday: 29 }).verdict.kind, "allow");
    const v = run(policy, state, "+442071234569", 10 * MIN, { spentToday: 30 }).verdict;
    assert.equal(v.kind, "block");
    assert.match(v.reason, /daily-spend: spent 50 today \(calls in progress included\), cap 50/);
  });
});

describe("sequential dialing", () => {
  const policy: FraudPolicy = { ...base, sequential: { windowMs: 10 * MIN, distinctNumbers: 5, varyingDigits: 2 } };

  it("blocks and suspends a range scan, then blocks everything until lifted", () => {
    let state = EMPTY_FRAUD_STATE;
    const kinds: string[] = [];
    for (let i = 0; i < 5; i++) {
      const e = run(policy, state, `+4420712345${10 + i}`, i * 1000);
      kinds.push(e.verdict.kind);
      state = e.state;
    }
    assert.deepEqual(kinds, ["allow", "allow", "allow", "allow", "block-and-suspend"]);
    assert.equal(state.suspended?.rule, "sequential-dialing");
    const after = run(policy, state, "+441612345678", 10_000).verdict;
    assert.equal(after.kind, "block");
    assert.match(after.reason, /suspended: outbound calling suspended since 1970-01-01T00:00:04\.000Z \(sequential-dialing: 5 different numbers in \+4420712345xx/);
    assert.equal(after.refusal?.warning, "Fraud rule suspended: Outbound calling suspended");
    assert.equal(run(policy, liftSuspension(state), "+441612345678", 10_000).verdict.kind, "allow");
  });

  it("lets repeated calls to the same numbers, or numbers far apart, through", () => {
    let state = EMPTY_FRAUD_STATE;
    for (let i = 0; i < 20; i++) {
      const d = i % 2 === 0 ? "+442071234510" : `+44161${i}000000`.slice(0, 13);
      const e = run(policy, state, d, i * 1000);
      assert.equal(e.verdict.kind, "allow", `call ${i} to ${d}`);
      state = e.state;
    }
  });

  it("forgets numbers older than the window", () => {
    let state = EMPTY_FRAUD_STATE;
    for (let i = 0; i < 4; i++) state = run(policy, state, `+4420712345${10 + i}`, i).state;
    assert.equal(run(policy, state, "+442071234599", 10 * MIN + 4).verdict.kind, "allow");
  });
});

describe("burst against the baseline", () => {
  const rule = { windowMs: 5 * MIN, factor: 3, minCalls: 6, alpha: 0.5, warmupWindows: 3 };
  const policy: FraudPolicy = { ...base, burst: rule };

  it("rollBaseline folds closed windows and decays across empty ones", () => {
    const b0 = { windowStart: 0, count: 4, mean: 0, windows: 0 };
    assert.deepEqual(rollBaseline(b0, rule, 4 * MIN), b0);
    assert.deepEqual(rollBaseline(b0, rule, 5 * MIN), { windowStart: 5 * MIN, count: 0, mean: 4, windows: 1 });
    assert.deepEqual(rollBaseline({ ...b0, windows: 1, mean: 2 }, rule, 15 * MIN), { windowStart: 15 * MIN, count: 0, mean: 0.75, windows: 4 });
  });

  it("learns first, then blocks a burst well above the usual rate, not the usual rate itself", () => {
    let state = EMPTY_FRAUD_STATE;
    // Three windows of 2 calls each: the baseline settles at 2 per 5 minutes.
    for (let w = 0; w < 3; w++) {
      for (const offset of [0, MIN]) {
        const e = run(policy, state, "+442071234567", w * 5 * MIN + offset);
        assert.equal(e.verdict.kind, "allow");
        const burst = e.verdict.results.find((r) => r.rule === "burst");
        assert.equal(burst?.outcome, "skipped", "still learning");
        state = e.state;
      }
    }
    // Threshold max(6, 3 x 2) = 6 calls in any 5 minutes; the call at 11 min still counts.
    const kinds: string[] = [];
    for (let i = 0; i < 7; i++) {
      const e = run(policy, state, "+442071234567", 15 * MIN + i * 1000);
      kinds.push(e.verdict.kind);
      state = e.state;
    }
    assert.deepEqual(kinds, ["allow", "allow", "allow", "allow", "allow", "block", "block"]);
    const v = run(policy, state, "+442071234567", 15 * MIN + 8000).verdict;
    assert.match(v.reason, /burst: 7 calls in 5 min against a usual 2 \(threshold 6\)/);
  });
});

describe("actions", () => {
  it("monitor mode lets the call through with an alert", () => {
    const policy: FraudPolicy = { ...base, actions: { "destination-class": "allow" } };
    const e = run(policy, EMPTY_FRAUD_STATE, "+33123456789", 0);
    assert.equal(e.verdict.kind, "allow");
    assert.match(e.verdict.reason, /allowed in monitor mode \(destination-class:/);
    assert.equal(e.verdict.alerts.length, 1);
    assert.equal(e.verdict.alerts[0]?.rule, "fraud-destination-class");
    assert.equal(e.verdict.refusal, undefined);
    assert.equal(e.state.active.length, 1, "an allowed call is counted as started");
  });

  it("the most severe action decides and every fired rule alerts", () => {
    const policy: FraudPolicy = { ...base, actions: { "destination-class": "block-and-suspend" }, dailySpendCap: 1 };
    const e = run(policy, EMPTY_FRAUD_STATE, "+33123456789", 0, { spentToday: 5 });
    assert.equal(e.verdict.kind, "block-and-suspend");
    assert.deepEqual(e.verdict.alerts.map((a) => a.rule), ["fraud-destination-class", "fraud-daily-spend"]);
    assert.equal(e.state.suspended?.rule, "destination-class");
    assert.equal(e.state.active.length, 0, "a blocked call is not counted");
  });

  it("a suspension can be turned into monitor mode too", () => {
    const policy: FraudPolicy = { ...base, actions: { suspended: "allow" } };
    const e = run(policy, { ...EMPTY_FRAUD_STATE, suspended: { at: 0, rule: "burst", reason: "x" } }, "+442071234567", 1);
    assert.equal(e.verdict.kind, "allow");
  });
});
