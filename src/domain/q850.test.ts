import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { formatReason, parseReason, q850CauseText, q850FromReason, q850Reason, q850ToSip, sipToQ850 } from "./q850.ts";

describe("q850ToSip (RFC 3398 7.2.4.1)", () => {
  const cases: [cause: number, status: number | undefined][] = [
    [1, 404], [2, 404], [3, 404], [16, undefined], [17, 486], [18, 408], [19, 480], [20, 480],
    [21, 403], [22, 410], [23, 410], [26, 404], [27, 502], [28, 484], [29, 501], [31, 480],
    [34, 503], [38, 503], [41, 503], [42, 503], [47, 503], [55, 403], [57, 403], [58, 503],
    [65, 488], [70, 488], [79, 501], [87, 403], [88, 503], [102, 504], [111, 500], [127, 500],
    [99, 500],
  ];
  for (const [cause, status] of cases) {
    it(`cause ${cause} -> ${status ?? "BYE"}`, () => assert.equal(q850ToSip(cause), status));
  }
});

describe("sipToQ850 (RFC 3398 8.2.6.1)", () => {
  const cases: [status: number, cause: number][] = [
    [200, 16], [400, 41], [401, 21], [402, 21], [403, 21], [404, 1], [405, 63], [406, 79], [407, 21],
    [408, 102], [410, 22], [413, 127], [414, 127], [415, 79], [416, 127], [420, 127], [421, 127],
    [423, 127], [480, 18], [481, 41], [482, 25], [483, 25], [484, 28], [485, 1], [486, 17],
    [500, 41], [501, 79], [502, 38], [503, 41], [504, 102], [505, 127], [513, 127],
    [600, 17], [603, 21], [604, 1],
    // Rows the RFC leaves open, by meaning or class.
    [487, 16], [488, 88], [606, 88], [429, 21], [580, 41], [699, 21], [100, 127],
  ];
  for (const [status, cause] of cases) {
    it(`${status} -> cause ${cause}`, () => assert.equal(sipToQ850(status), cause));
  }
});

describe("parseReason (RFC 3326)", () => {
  const cases: [header: string, expected: unknown][] = [
    ['Q.850;cause=16;text="Terminated"', [{ protocol: "Q.850", cause: 16, text: "Terminated", params: {} }]],
    ["Q.850 ; cause = 17", [{ protocol: "Q.850", cause: 17, params: {} }]],
    ["q.850;cause=17", [{ protocol: "Q.850", cause: 17, params: {} }]],
    ['SIP;cause=200;text="Call completed elsewhere"', [{ protocol: "SIP", cause: 200, text: "Call completed elsewhere", params: {} }]],
    [
      'SIP;cause=580;text="Precondition Failure", Q.850;cause=47;text="a, \\"quoted\\" text"',
      [
        { protocol: "SIP", cause: 580, text: "Precondition Failure", params: {} },
        { protocol: "Q.850", cause: 47, text: 'a, "quoted" text', params: {} },
      ],
    ],
    ["Q.850;cause=16;location=LN", [{ protocol: "Q.850", cause: 16, params: { location: "LN" } }]],
    ["Q.850;cause=16;text=Bare", [{ protocol: "Q.850", cause: 16, text: "Bare", params: {} }]],
    ["Q.850;cause=abc", undefined],
    ['Q.850;text="unterminated', undefined],
    ["", undefined],
  ];
  for (const [header, expected] of cases) {
    it(JSON.stringify(header), () => {
      const r = parseReason(header);
      assert.deepEqual(r.ok ? r.value : undefined, expected);
    });
  }
});

describe("formatReason and helpers", () => {
  it("formats and escapes", () => {
    assert.equal(formatReason({ protocol: "Q.850", cause: 16, text: 'say "bye"' }), 'Q.850;cause=16;text="say \\"bye\\""');
    assert.equal(formatReason({ protocol: "SIP", cause: 487 }), "SIP;cause=487");
  });
  it("round-trips through the parser", () => {
    const text = q850Reason(34);
    assert.equal(text, 'Q.850;cause=34;text="No circuit/channel available"');
    assert.equal(q850FromReason(text), 34);
  });
  it("finds the Q.850 value among several", () => assert.equal(q850FromReason('SIP;cause=503, Q.850;cause=41'), 41));
  it("names unknown causes", () => assert.equal(q850CauseText(200), "Cause 200"));
});
