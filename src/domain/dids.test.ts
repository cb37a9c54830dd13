import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createDidIndex, formatDidSpec, lookupInboundDid, parseDidSpec } from "./dids.ts";
import { customer } from "./test-fixtures.ts";
import type { CustomerTrunk, DidSpec, NumberingPlan } from "./types.ts";

const range = (from: string, to: string): DidSpec => ({ kind: "range", from, to });
const num = (number: string): DidSpec => ({ kind: "number", number });

describe("parseDidSpec", () => {
  const cases: [string, DidSpec | undefined][] = [
    ["+15550100000", num("+15550100000")],
    ["+15550100000-+15550100099", range("+15550100000", "+15550100099")],
    [" +15550100000 - +15550100099 ", range("+15550100000", "+15550100099")],
    ["15550100000", undefined],
    ["+15550100099-+15550100000", undefined],
    ["+15550100000-+1555010009", undefined],
    ["+15550100000-15550100099", undefined],
  ];
  for (const [text, expected] of cases) {
    it(`${JSON.stringify(text)} -> ${expected === undefined ? "error" : formatDidSpec(expected)}`, () => {
      const r = parseDidSpec(text);
      assert.deepEqual(r.ok ? r.value : undefined, expected);
    });
  }
});

describe("createDidIndex lookup", () => {
  const acme = customer({ id: "acme", dids: [range("+15550100000", "+15550100099"), num("+442071234567")] });
  const globex = customer({ id: "globex", dids: [range("+15550100100", "+15550100199"), range("+1555020", "+1555029"), num("+15550100200")] });
  const built = createDidIndex([acme, globex]);
  assert.ok(built.ok);
  const index = built.value;
  const cases: [number: string, owner: string | undefined][] = [
    ["+15550100000", "acme"],
    ["+15550100050", "acme"],
    ["+15550100099", "acme"],
    ["+15550100100", "globex"],
    ["+15550100199", "globex"],
    ["+15550100200", "globex"],
    ["+15550100201", undefined],
    ["+1555025", "globex"],
    ["+15550250", undefined],
    ["+442071234567", "acme"],
    ["+442071234568", undefined],
    ["+1555009999", undefined],
    ["garbage", undefined],
  ];
  for (const [n, owner] of cases) {
    it(`${n} -> ${owner ?? "nobody"}`, () => assert.equal(index.lookup(n)?.customer.id, owner));
  }
  it("owns() checks the owner", () => {
    assert.equal(index.owns("acme", "+15550100042"), true);
    assert.equal(index.owns("globex", "+15550100042"), false);
  });
  it("counts entries", () => assert.equal(index.size, 5));
});

describe("createDidIndex conflicts", () => {
  const cases: [name: string, customers: CustomerTrunk[], problems: number][] = [
    ["overlapping ranges", [customer({ id: "a", dids: [range("+15550100000", "+15550100099")] }), customer({ id: "b", dids: [range("+15550100050", "+15550100150")] })], 1],
    ["number inside a range", [customer({ id: "a", dids: [range("+15550100000", "+15550100099")] }), customer({ id: "b", dids: [num("+15550100007")] })], 1],
    ["same number twice", [customer({ id: "a", dids: [num("+15550100007")] }), customer({ id: "b", dids: [num("+15550100007")] })], 1],
    ["bad spec", [customer({ id: "a", dids: [num("5550100007"), range("+2", "+1")] })], 2],
    ["adjacent ranges", [customer({ id: "a", dids: [range("+15550100000", "+15550100099"), range("+15550100100", "+15550100199")] })], 0],
  ];
  for (const [name, customers, problems] of cases) {
    it(`${name}: ${problems} problem(s)`, () => {
      const r = createDidIndex(customers);
      assert.equal(r.ok ? 0 : r.error.length, problems);
    });
  }
});

describe("lookupInboundDid", () => {
  const acme = customer({ id: "acme", dids: [range("+442071234500", "+442071234599")] });
  const built = createDidIndex([acme]);
  assert.ok(built.ok);
  const uk = (format: NumberingPlan["format"]): NumberingPlan => ({ format, countryCode: "44" });
  const cases: [called: string, plan: NumberingPlan, status: number | "deliver"][] = [
    ["sip:+442071234567@trunkline", uk("e164-plus"), "deliver"],
    ["sip:442071234567@trunkline", uk("e164"), "deliver"],
    ["sip:02071234567@trunkline", uk("national"), "deliver"],
    ["sip:00442071234567@trunkline", uk("national"), "deliver"],
    ["sip:+442071234600@trunkline", uk("e164-plus"), 404],
    ["sip:anonymous@trunkline", uk("e164"), 484],
  ];
  for (const [called, plan, expected] of cases) {
    it(`${called} (${plan.format}) -> ${expected}`, () => {
      const d = lookupInboundDid(built.value, called, plan);
      if (expected === "deliver") {
        assert.equal(d.kind, "deliver");
        if (d.kind === "deliver") {
          assert.equal(d.owner.customer.id, "acme");
          assert.equal(d.number, "+442071234567");
        }
      } else {
        assert.equal(d.kind, "refuse");
        if (d.kind === "refuse") assert.equal(d.refusal.status, expected);
      }
    });
  }
});
