import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_FRAUD_RANGES, createFraudRanges, mergeFraudRanges } from "./fraud-ranges.ts";

describe("fraud ranges", () => {
  const ranges = createFraudRanges(DEFAULT_FRAUD_RANGES);
  assert.ok(ranges.ok, ranges.ok ? "" : ranges.error.join("; "));
  const r = ranges.value;

  const cases: [number: string, expected: string][] = [
    ["+5372345678", "high-risk +53"],
    ["+37167123456", "high-risk +371"],
    ["+18095551234", "high-risk +1809"],
    ["+97912345678", "high-risk +979"],
    ["+12125551234", "none"],
    ["+19005551234", "premium +1900"],
    ["+449012345678", "premium +4490"],
    ["+442071234567", "none"],
    ["+4990012345678", "premium +49900"],
  ];
  for (const [number, expected] of cases) {
    it(`${number}: ${expected}`, () => {
      const high = r.highRiskOf(number);
      const premium = r.premiumOf(number);
      const got = high !== undefined ? `high-risk ${high.prefix}` : premium !== undefined ? `premium ${premium.prefix}` : "none";
      assert.equal(got, expected);
    });
  }

  it("ships a version string and valid prefixes", () => {
    assert.match(r.version, /^trunkline-\d{4}\.\d+$/);
    for (const e of [...DEFAULT_FRAUD_RANGES.highRisk, ...DEFAULT_FRAUD_RANGES.premium]) assert.match(e.prefix, /^\+\d+$/);
  });

  it("merges config overrides: add, remove, replace", () => {
    const merged = mergeFraudRanges(DEFAULT_FRAUD_RANGES, { highRisk: [{ prefix: "44 70", label: "UK personal" }], remove: ["+371"] });
    const m = createFraudRanges(merged);
    assert.ok(m.ok);
    assert.equal(m.value.version, "trunkline-2026.1+local");
    assert.equal(m.value.highRiskOf("+447012345678")?.label, "UK personal");
    assert.equal(m.value.highRiskOf("+37167123456"), undefined);
    const replaced = createFraudRanges(mergeFraudRanges(DEFAULT_FRAUD_RANGES, { replace: true, version: "feed-42", highRisk: [{ prefix: "+99", label: "x" }] }));
    assert.ok(replaced.ok);
    assert.equal(replaced.value.version, "feed-42");
    assert.equal(replaced.value.highRiskOf("+5372345678"), undefined);
    assert.equal(replaced.value.premiumOf("+19005551234")?.prefix, "+1900", "a list not given keeps its defaults");
  });

  it("reports bad prefixes by list", () => {
    const bad = createFraudRanges({ version: "x", highRisk: [{ prefix: "+12a", label: "x" }], premium: [] });
    assert.ok(!bad.ok && bad.error[0] === 'highRisk: "+12a" is not an E.164 prefix');
  });
});
