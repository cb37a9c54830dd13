import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { extractNumber, formatForCarrier, normalizeNumber, numberFromUri } from "./numbering.ts";
import type { CarrierNumbering, NumberingPlan } from "./types.ts";

const UK_NATIONAL: NumberingPlan = { format: "national", countryCode: "44" };
const UK_E164: NumberingPlan = { format: "e164", countryCode: "44" };
const UK_PLUS: NumberingPlan = { format: "e164-plus", countryCode: "44" };
const US_NATIONAL: NumberingPlan = { format: "national", countryCode: "1" };
const IT_NATIONAL: NumberingPlan = { format: "national", countryCode: "39", nationalPrefix: "" };

describe("normalizeNumber", () => {
  const cases: [input: string, plan: NumberingPlan, expected: string | undefined][] = [
    ["+44 20 7123 4567", UK_NATIONAL, "+442071234567"],
    ["+44 (0)20 7123 4567", UK_NATIONAL, "+442071234567"],
    ["0044 20 7123 4567", UK_NATIONAL, "+442071234567"],
    ["020 7123-4567", UK_NATIONAL, "+442071234567"],
    ["2071234567", UK_NATIONAL, "+442071234567"],
    ["0033142685300", UK_NATIONAL, "+33142685300"],
    ["442071234567", UK_E164, "+442071234567"],
    ["00442071234567", UK_E164, "+442071234567"],
    ["442071234567", UK_PLUS, "+442071234567"],
    ["+442071234567", UK_E164, "+442071234567"],
    ["(212) 555-1234", US_NATIONAL, "+12125551234"],
    ["1-212-555-1234", US_NATIONAL, "+12125551234"],
    ["011 44 20 7123 4567", US_NATIONAL, "+442071234567"],
    ["06 6982 1234", IT_NATIONAL, "+390669821234"],
    ["020.7123.4567", UK_NATIONAL, "+442071234567"],
    ["", UK_NATIONAL, undefined],
    ["  ", UK_NATIONAL, undefined],
    ["+", UK_NATIONAL, undefined],
    ["alice", UK_NATIONAL, undefined],
    ["*43", UK_NATIONAL, undefined],
    ["+0441234", UK_NATIONAL, undefined],
    ["012345", UK_E164, undefined],
    ["+1234567890123456", UK_NATIONAL, undefined],
    ["+123456789012345", UK_NATIONAL, "+123456789012345"],
  ];
  for (const [input, plan, expected] of cases) {
    it(`${JSON.stringify(input)} (${plan.format} +${plan.countryCode}) -> ${expected ?? "error"}`, () => {
      const r = normalizeNumber(input, plan);
      assert.equal(r.ok ? r.value : undefined, expected);
    });
  }
  it("names the problem", () => {
    const r = normalizeNumber("alice", UK_NATIONAL);
    assert.ok(!r.ok);
    assert.equal(r.error.code, "NOT_DIGITS");
    assert.match(r.error.message, /alice/);
  });
});

describe("formatForCarrier", () => {
  const cases: [number: string, numbering: CarrierNumbering, expected: string][] = [
    ["+442071234567", { format: "e164-plus", countryCode: "44" }, "+442071234567"],
    ["+442071234567", { format: "e164", countryCode: "44" }, "442071234567"],
    ["+442071234567", { format: "national", countryCode: "44" }, "02071234567"],
    ["+33142685300", { format: "national", countryCode: "44" }, "0033142685300"],
    ["+12125551234", { format: "national", countryCode: "1" }, "12125551234"],
    ["+442071234567", { format: "national", countryCode: "1" }, "011442071234567"],
    ["+442071234567", { format: "e164", countryCode: "44", techPrefix: "1234#" }, "1234#442071234567"],
    ["+390669821234", { format: "national", countryCode: "39", nationalPrefix: "" }, "0669821234"],
  ];
  for (const [n, numbering, expected] of cases) {
    it(`${n} as ${numbering.format}${numbering.techPrefix ?? ""} (+${numbering.countryCode}) -> ${expected}`, () => {
      assert.equal(formatForCarrier(n, numbering), expected);
    });
  }
});

describe("extractNumber", () => {
  const cases: [input: string, number: string, phoneContext?: string][] = [
    ["sip:+442071234567@carrier.example;user=phone", "+442071234567"],
    ["<sips:02071234567@pbx.example:5061>", "02071234567"],
    ["tel:+44-20-7123-4567", "+44-20-7123-4567"],
    ["tel:7123-4567;phone-context=+44-20", "7123-4567", "+44-20"],
    ["0044207123;isub=12", "0044207123"],
    ["%2B442071234567", "+442071234567"],
    ["sip:bob%40home@example.com", "bob@home"],
    ["442071234567", "442071234567"],
  ];
  for (const [input, number, phoneContext] of cases) {
    it(`${input} -> ${number}`, () => {
      const r = extractNumber(input);
      assert.equal(r.number, number);
      assert.equal(r.phoneContext, phoneContext);
    });
  }
});

describe("numberFromUri", () => {
  const cases: [input: string, plan: NumberingPlan, expected: string | undefined][] = [
    ["sip:02071234567@pbx", UK_NATIONAL, "+442071234567"],
    ["sip:442071234567@carrier", UK_E164, "+442071234567"],
    ["tel:7123-4567;phone-context=+44-20", UK_NATIONAL, "+442071234567"],
    ["tel:1234;phone-context=example.com", UK_E164, "+1234"],
    ["sip:alice@pbx", UK_NATIONAL, undefined],
  ];
  for (const [input, plan, expected] of cases) {
    it(`${input} -> ${expected ?? "error"}`, () => {
      const r = numberFromUri(input, plan);
      assert.equal(r.ok ? r.value : undefined, expected);
    });
  }
});
