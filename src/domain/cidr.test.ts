import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { cidrContains, createCidrMatcher, formatAddress, parseAddress, parseCidr } from "./cidr.ts";

describe("parseAddress", () => {
  const cases: [string, string | undefined][] = [
    ["192.0.2.1", "192.0.2.1"],
    ["0.0.0.0", "0.0.0.0"],
    ["255.255.255.255", "255.255.255.255"],
    ["256.1.1.1", undefined],
    ["1.2.3", undefined],
    ["01.2.3.4", undefined],
    ["1.2.3.4.5", undefined],
    ["1..2.3", undefined],
    ["1.2.3.", undefined],
    [" 10.0.0.1 ", "10.0.0.1"],
    ["::1", "0:0:0:0:0:0:0:1"],
    ["::", "0:0:0:0:0:0:0:0"],
    ["2001:db8::1", "2001:db8:0:0:0:0:0:1"],
    ["2001:DB8:0:0:8:800:200C:417A", "2001:db8:0:0:8:800:200c:417a"],
    ["[2001:db8::1]", "2001:db8:0:0:0:0:0:1"],
    ["fe80::1%eth0", "fe80:0:0:0:0:0:0:1"],
    ["::ffff:192.0.2.7", "192.0.2.7"],
    ["::FFFF:c000:0207", "192.0.2.7"],
    ["64:ff9b::192.0.2.1", "64:ff9b:0:0:0:0:c000:201"],
    ["1:2:3:4:5:6:192.0.2.1", "1:2:3:4:5:6:c000:201"],
    ["1::2::3", undefined],
    ["1:2:3:4:5:6:7:8:9", undefined],
    ["1:2:3:4:5:6:7", undefined],
    ["12345::", undefined],
    [":::", undefined],
    ["::ffff:1.2.3.256", undefined],
    ["", undefined],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} -> ${expected ?? "invalid"}`, () => {
      const a = parseAddress(input);
      assert.equal(a === undefined ? undefined : formatAddress(a), expected);
    });
  }
});

describe("parseCidr and cidrContains", () => {
  const cases: [cidr: string, address: string, inside: boolean][] = [
    ["10.0.0.0/8", "10.255.1.2", true],
    ["10.0.0.0/8", "11.0.0.1", false],
    ["10.1.2.3/8", "10.9.9.9", true],
    ["192.0.2.10", "192.0.2.10", true],
    ["192.0.2.10", "192.0.2.11", false],
    ["0.0.0.0/0", "203.0.113.5", true],
    ["192.0.2.0/31", "192.0.2.1", true],
    ["192.0.2.0/31", "192.0.2.2", false],
    ["2001:db8::/32", "2001:db8:ffff::1", true],
    ["2001:db8::/32", "2001:db9::1", false],
    ["2001:db8::1", "2001:db8::1", true],
    ["::/0", "2001:db8::1", true],
    ["::/0", "192.0.2.1", false],
    ["10.0.0.0/8", "::ffff:10.1.1.1", true],
    ["::ffff:10.0.0.0/104", "10.2.3.4", true],
    ["::ffff:10.0.0.0/104", "11.2.3.4", false],
    ["10.0.0.0/8", "2001:db8::1", false],
  ];
  for (const [cidr, address, inside] of cases) {
    it(`${address} ${inside ? "in" : "not in"} ${cidr}`, () => {
      const c = parseCidr(cidr);
      const a = parseAddress(address);
      assert.ok(c.ok && a !== undefined);
      assert.equal(cidrContains(c.value, a), inside);
    });
  }

  const bad = ["10.0.0.0/33", "2001:db8::/129", "10.0.0.0/", "10.0.0.0/-1", "host.example/24", "::ffff:10.0.0.0/80"];
  for (const text of bad) {
    it(`refuses ${text}`, () => assert.equal(parseCidr(text).ok, false));
  }
});

describe("createCidrMatcher", () => {
  const built = createCidrMatcher<string>([
    ["10.0.0.0/8", "wide"],
    ["10.1.0.0/16", "narrow"],
    ["10.1.2.3", "host"],
    ["10.1.0.0/16", "narrow-2"],
    ["2001:db8::/32", "v6-wide"],
    ["2001:db8:1::/48", "v6-narrow"],
  ]);
  assert.ok(built.ok);
  const m = built.value;
  const cases: [address: string, cidr: string | undefined, values: string[]][] = [
    ["10.9.9.9", "10.0.0.0/8", ["wide"]],
    ["10.1.9.9", "10.1.0.0/16", ["narrow", "narrow-2"]],
    ["10.1.2.3", "10.1.2.3", ["host"]],
    ["::ffff:10.1.2.3", "10.1.2.3", ["host"]],
    ["192.0.2.1", undefined, []],
    ["2001:db8:1::5", "2001:db8:1::/48", ["v6-narrow"]],
    ["2001:db8:2::5", "2001:db8::/32", ["v6-wide"]],
    ["not-an-ip", undefined, []],
  ];
  for (const [address, cidr, values] of cases) {
    it(`${address} -> ${cidr ?? "no match"}`, () => {
      const hit = m.match(address);
      assert.equal(hit?.cidr, cidr);
      assert.deepEqual(hit?.values ?? [], values);
    });
  }
  it("counts entries", () => assert.equal(m.size, 6));
  it("reports every bad entry", () => {
    const r = createCidrMatcher([["10.0.0.0/8", 1], ["bad", 2], ["1.2.3.4/40", 3]]);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error.length, 2);
  });
});
