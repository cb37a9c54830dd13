import { test } from "node:test";
import assert from "node:assert/strict";
import { type BencodeValue, decodeBencode, encodeBencode } from "./bencode.ts";

// Vectors from BEP 3's own examples, plus the shapes the ng protocol uses.
const vectors: { name: string; value: BencodeValue; wire: string }[] = [
  { name: "zero", value: 0, wire: "i0e" },
  { name: "positive integer", value: 42, wire: "i42e" },
  { name: "negative integer", value: -3, wire: "i-3e" },
  { name: "largest safe integer", value: Number.MAX_SAFE_INTEGER, wire: "i9007199254740991e" },
  { name: "empty string", value: "", wire: "0:" },
  { name: "string (BEP 3)", value: "spam", wire: "4:spam" },
  { name: "UTF-8 string counts octets", value: "µ-law", wire: "6:µ-law" },
  { name: "string with a colon and digits", value: "1:2e", wire: "4:1:2e" },
  { name: "empty list", value: [], wire: "le" },
  { name: "list (BEP 3)", value: ["spam", "eggs"], wire: "l4:spam4:eggse" },
  { name: "nested list", value: [[1, [2]], "x"], wire: "lli1eli2eee1:xe" },
  { name: "empty dict", value: {}, wire: "de" },
  { name: "dict (BEP 3)", value: { cow: "moo", spam: "eggs" }, wire: "d3:cow3:moo4:spam4:eggse" },
  { name: "dict with a list (BEP 3)", value: { spam: ["a", "b"] }, wire: "d4:spaml1:a1:bee" },
  {
    name: "ng ping",
    value: { command: "ping" },
    wire: "d7:command4:pinge",
  },
  {
    name: "ng offer with flags",
    value: { command: "offer", "call-id": "c1", "from-tag": "t1", sdp: "v=0\r\n", flags: ["trust-address"], replace: ["origin"] },
    wire: "d7:call-id2:c17:command5:offer5:flagsl13:trust-addresse8:from-tag2:t17:replacel6:origine3:sdp5:v=0\r\ne",
  },
];

for (const v of vectors) {
  test(`bencode encodes ${v.name}`, () => {
    assert.equal(encodeBencode(v.value).toString("utf8"), v.wire);
  });
  test(`bencode decodes ${v.name}`, () => {
    const got = decodeBencode(Buffer.from(v.wire, "utf8"));
    assert.ok(got.ok, JSON.stringify(got));
    assert.deepEqual(JSON.parse(JSON.stringify(got.value)), JSON.parse(JSON.stringify(v.value)));
  });
}

test("bencode sorts dict keys by their raw octets, not alphabetically", () => {
  // "Z" (0x5a) sorts before "a" (0x61); "a-b" before "a_b" ('-' 0x2d < '_' 0x5f).
  assert.equal(encodeBencode({ a: 1, Z: 2, a_b: 3, "a-b": 4 }).toString(), "d1:Zi2e1:ai1e3:a-bi4e3:a_bi3ee");
});

test("bencode leaves out undefined dict values", () => {
  assert.equal(encodeBencode({ a: 1, b: undefined }).toString(), "d1:ai1ee");
});

test("bencode encodes a Buffer as its bytes", () => {
  assert.deepEqual(encodeBencode(Buffer.from([0xff, 0x00])), Buffer.from([0x32, 0x3a, 0xff, 0x00]));
});

test("bencode refuses to encode a fraction", () => {
  assert.throws(() => encodeBencode(1.5), RangeError);
});

test("bencode decodes a key named __proto__ as a plain key", () => {
  const got = decodeBencode(Buffer.from("d9:__proto__i1ee"));
  assert.ok(got.ok);
  assert.equal((got.value as Record<string, BencodeValue>)["__proto__"], 1);
});

test("bencode decodes from an offset (after the ng cookie)", () => {
  const got = decodeBencode(Buffer.from("abc d6:result4:ponge"), 4);
  assert.ok(got.ok);
  assert.deepEqual({ ...(got.value as object) }, { result: "pong" });
});

const bad: { name: string; wire: string; code: string; offset: number }[] = [
  { name: "empty input", wire: "", code: "BENCODE_TRUNCATED", offset: 0 },
  { name: "unterminated integer", wire: "i42", code: "BENCODE_TRUNCATED", offset: 3 },
  { name: "integer with leading zero", wire: "i03e", code: "BENCODE_BAD_INTEGER", offset: 1 },
  { name: "negative zero", wire: "i-0e", code: "BENCODE_BAD_INTEGER", offset: 1 },
  { name: "empty integer", wire: "ie", code: "BENCODE_BAD_INTEGER", offset: 1 },
  { name: "integer with letters", wire: "i4x2e", code: "BENCODE_BAD_INTEGER", offset: 1 },
  { name: "integer beyond 2^53", wire: "i9007199254740993e", code: "BENCODE_BAD_INTEGER", offset: 1 },
  { name: "string shorter than its length", wire: "5:spam", code: "BENCODE_TRUNCATED", offset: 6 },
  { name: "string length with leading zero", wire: "04:spam", code: "BENCODE_BAD_STRING", offset: 0 },
  { name: "negative string length", wire: "-1:a", code: "BENCODE_BAD_STRING", offset: 0 },
  { name: "unterminated list", wire: "l4:spam", code: "BENCODE_TRUNCATED", offset: 7 },
  { name: "unterminated dict", wire: "d3:cow3:moo", code: "BENCODE_TRUNCATED", offset: 11 },
  { name: "dict key that is not a string", wire: "di1e3:mooe", code: "BENCODE_BAD_KEY", offset: 1 },
  { name: "dict key without a value", wire: "d3:cowe", code: "BENCODE_BAD_TYPE", offset: 6 },
  { name: "unknown type", wire: "x", code: "BENCODE_BAD_TYPE", offset: 0 },
  { name: "trailing data", wire: "i1ei2e", code: "BENCODE_TRAILING_DATA", offset: 3 },
  { name: "nesting too deep", wire: `${"l".repeat(100)}${"e".repeat(100)}`, code: "BENCODE_TOO_DEEP", offset: 65 },
];

for (const b of bad) {
  test(`bencode rejects ${b.name}`, () => {
    const got = decodeBencode(Buffer.from(b.wire, "utf8"));
    assert.ok(!got.ok, "decoded a bad input");
    assert.deepEqual(got.error, { code: b.code, offset: b.offset });
  });
}

test("bencode round-trips arbitrary ng-shaped values", () => {
  const value = { result: "ok", sdp: "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n", totals: { RTP: { packets: 10, bytes: 1720, errors: 0 } }, tags: { t1: { tag: "t1", medias: [{ index: 1 }] } } };
  const got = decodeBencode(encodeBencode(value));
  assert.ok(got.ok);
  assert.deepEqual(JSON.parse(JSON.stringify(got.value)), value);
});
