import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseNameAddr, serializeNameAddr, splitList } from "./index.ts";
import type { SipUri } from "./index.ts";

describe("parseNameAddr", () => {
  it("reads a quoted display name with escapes, URI params inside <> and header params outside", () => {
    const v = parseNameAddr('"Bob \\"B\\"" <sip:bob@biloxi.com;transport=tcp> ;tag = a6c85cf;expires=60')!;
    assert.equal(v.displayName, 'Bob \\"B\\"');
    assert.deepEqual((v.uri as SipUri).params, { transport: "tcp" });
    assert.deepEqual(v.params, { tag: "a6c85cf", expires: "60" });
  });

  it("reads an unquoted display name, touching '<' or not", () => {
    assert.equal(parseNameAddr("Bob <sip:bob@biloxi.com>")!.displayName, "Bob");
    assert.equal(parseNameAddr("caller<sip:caller@example.com>;tag=323")!.displayName, "caller");
  });

  it("treats parameters after an addr-spec as header parameters (RFC 3261 20.10)", () => {
    const v = parseNameAddr("sip:+19725552222@gw1.example.net;unknownparam;tag=1")!;
    assert.equal(v.displayName, null);
    assert.deepEqual((v.uri as SipUri).params, {});
    assert.deepEqual(v.params, { unknownparam: null, tag: "1" });
  });

  it("keeps quoted parameter values with their quotes", () => {
    assert.deepEqual(parseNameAddr('<sip:a@b>;+sip.instance="<urn:uuid:1>"')!.params, { "+sip.instance": '"<urn:uuid:1>"' });
  });

  it("parses other schemes opaquely", () => {
    assert.deepEqual(parseNameAddr("<http://www.example.com>;tag=3")!.uri, { scheme: "http", opaque: "//www.example.com" });
  });

  for (const bad of ['"Mr. J. User <sip:j.user@example.com>', "<sip:joe@example.org>;;;;", "<sip:a@b", "", "Bob", "<sip:a@b>;tag=", "<sip:a@b> junk"]) {
    it(`refuses ${JSON.stringify(bad)}`, () => assert.equal(parseNameAddr(bad), null));
  }

  it("serializes in bracketed form with a quoted display name", () => {
    assert.equal(serializeNameAddr(parseNameAddr("Alice <sip:alice@atlanta.com>;tag=1928301774")!), '"Alice" <sip:alice@atlanta.com>;tag=1928301774');
    assert.equal(serializeNameAddr(parseNameAddr("sip:a@b;lr")!), "<sip:a@b>;lr");
  });
});

describe("splitList", () => {
  it("splits at commas outside quotes and <>", () => {
    assert.deepEqual(splitList('"Doe, John" <sip:j@x;a=1,2>, <sip:k@y> ,sip:z@w'), ['"Doe, John" <sip:j@x;a=1,2>', "<sip:k@y>", "sip:z@w"]);
    assert.deepEqual(splitList("a,,b"), ["a", "", "b"]);
  });
});
