import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { addHeader, canonicalHeaderName, getHeader, getHeaders, parseMessage, removeHeader, serializeMessage, setHeader } from "./index.ts";
import type { SipMessage } from "./index.ts";

function msg(): SipMessage {
  const r = parseMessage(
    Buffer.from(
      "INVITE sip:b@example.com SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nf: <sip:a@example.com>;tag=1\r\nt: <sip:b@example.com>\r\ni: x@h\r\nCSeq: 1 INVITE\r\n" +
        'k: timer, 100rel\r\nSupported: path\r\nAllow: INVITE, ACK\r\nP-Asserted-Identity: "Doe, J" <sip:j@x>, <tel:+1>\r\ns: hi\r\nl: 0\r\n\r\n',
    ),
  );
  assert.ok(r.ok);
  return r.message;
}

describe("header helpers", () => {
  it("canonicalHeaderName expands compact forms", () => {
    assert.equal(canonicalHeaderName("k"), "supported");
    assert.equal(canonicalHeaderName("I"), "call-id");
    assert.equal(canonicalHeaderName("X-Foo"), "x-foo");
  });

  it("getHeader/getHeaders are case-insensitive, compact-aware and split lists respecting quotes", () => {
    const m = msg();
    assert.equal(getHeader(m, "SUPPORTED"), "timer, 100rel");
    assert.equal(getHeader(m, "subject"), "hi");
    assert.deepEqual(getHeaders(m, "supported"), ["timer", "100rel", "path"]);
    assert.deepEqual(getHeaders(m, "p-asserted-identity"), ['"Doe, J" <sip:j@x>', "<tel:+1>"]);
    assert.equal(getHeader(m, "X-None"), undefined);
  });

  it("setHeader replaces every line, addHeader appends, removeHeader removes", () => {
    const m = msg();
    setHeader(m, "Supported", "replaces");
    assert.deepEqual(getHeaders(m, "k"), ["replaces"]);
    addHeader(m, "X-Trace", "1");
    addHeader(m, "x-trace", "2");
    assert.deepEqual(getHeaders(m, "X-Trace"), ["1", "2"]);
    removeHeader(m, "x-TRACE");
    assert.equal(getHeader(m, "X-Trace"), undefined);
  });

  it("routes hot headers to the typed fields", () => {
    const m = msg();
    addHeader(m, "Via", "SIP/2.0/TCP p.example;branch=z9hG4bK2");
    assert.equal(m.via.length, 2);
    setHeader(m, "Max-Forwards", "10");
    assert.equal(m.maxForwards, 10);
    setHeader(m, "Contact", "*");
    assert.equal(m.contactWildcard, true);
    addHeader(m, "Route", "<sip:p1;lr>, <sip:p2;lr>");
    assert.equal(m.route.length, 2);
    removeHeader(m, "Route");
    assert.equal(m.route.length, 0);
    assert.throws(() => setHeader(m, "From", "<<bad"), { name: "HeaderValueError" });
    assert.ok(serializeMessage(m).toString().includes("Contact: *\r\n"));
  });
});

it("authentication headers are whole values: their commas are digest parameters (RFC 3261 7.3.1)", () => {
  const r = parseMessage(
    Buffer.from(
      "INVITE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 2 INVITE\r\n" +
        'Proxy-Authorization: Digest username="acme", realm="t", nonce="n", uri="sip:b@x", response="r"\r\n' +
        "Supported: timer, 100rel\r\nContent-Length: 0\r\n\r\n",
    ),
  );
  assert.ok(r.ok);
  assert.deepEqual(getHeaders(r.message, "Proxy-Authorization"), ['Digest username="acme", realm="t", nonce="n", uri="sip:b@x", response="r"']);
  assert.deepEqual(getHeaders(r.message, "Supported"), ["timer", "100rel"]);
});
