import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseMessage } from "./index.ts";
import type { SipRequest, SipResponse } from "./index.ts";

const HEAD =
  "Via: SIP/2.0/UDP h.example;branch=z9hG4bK1\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n";

function parse(text: string | Buffer, maxMessageSize?: number) {
  return parseMessage(typeof text === "string" ? Buffer.from(text) : text, maxMessageSize === undefined ? undefined : { maxMessageSize });
}

function code(text: string): string {
  const r = parse(text);
  return r.ok ? "OK" : r.error.code;
}

describe("parseMessage", () => {
  it("parses a request and keeps other headers raw, in order, with names as written", () => {
    const r = parse("OPTIONS sip:b@example.com SIP/2.0\r\n" + HEAD + "X-B: 2\r\nallow: INVITE\r\nX-B: 3\r\nContent-Length: 0\r\n\r\n");
    assert.ok(r.ok);
    const m = r.message as SipRequest;
    assert.equal(m.method, "OPTIONS");
    assert.deepEqual(m.headers, [
      { name: "X-B", value: "2" },
      { name: "allow", value: "INVITE" },
      { name: "X-B", value: "3" },
    ]);
    assert.equal(m.maxForwards, null);
  });

  it("takes the rest of the datagram as body without Content-Length, and ignores octets beyond it", () => {
    const a = parse("OPTIONS sip:b@example.com SIP/2.0\r\n" + HEAD + "\r\nhello");
    assert.ok(a.ok);
    assert.equal(a.message.body.toString(), "hello");
    const b = parse("OPTIONS sip:b@example.com SIP/2.0\r\n" + HEAD + "l: 3\r\n\r\nhello");
    assert.ok(b.ok);
    assert.equal(b.message.body.toString(), "hel");
  });

  it("skips leading CRLFs and tolerates bare LF line ends", () => {
    assert.equal(code("\r\n\r\nOPTIONS sip:b@example.com SIP/2.0\r\n" + HEAD + "\r\n"), "OK");
    assert.equal(code(("OPTIONS sip:b@example.com SIP/2.0\r\n" + HEAD + "\r\n").replaceAll("\r\n", "\n")), "OK");
  });

  it("parses responses, including an empty reason phrase", () => {
    const r = parse("SIP/2.0 180 \r\n" + HEAD + "\r\n");
    assert.ok(r.ok);
    assert.equal((r.message as SipResponse).status, 180);
    assert.equal((r.message as SipResponse).reason, "");
  });

  it("refuses with stable codes", () => {
    assert.equal(code(""), "EMPTY");
    assert.equal(code("\r\n\r\n"), "EMPTY");
    assert.equal(code("SIP/2.0 99 Low\r\n" + HEAD + "\r\n"), "BAD_STATUS");
    assert.equal(code("SIP/2.0 700 High\r\n" + HEAD + "\r\n"), "BAD_STATUS");
    assert.equal(code("SIP/3.0 200 OK\r\n" + HEAD + "\r\n"), "BAD_VERSION");
    assert.equal(code("OPTIONS sip:b@example.com HTTP/1.1\r\n" + HEAD + "\r\n"), "BAD_START_LINE");
    assert.equal(code("OPTIONS sip:b@example.com SIP/2.0\r\n" + HEAD + "Bad Name: x\r\n\r\n"), "BAD_HEADER_LINE");
    assert.equal(code("OPTIONS sip:b@example.com SIP/2.0\r\n" + HEAD + "Max-Forwards: 256\r\n\r\n"), "BAD_HEADER_VALUE");
    assert.equal(code("OPTIONS sip:b@example.com SIP/2.0\r\n" + HEAD + "CSeq: 1 OPTIONS\r\n\r\n"), "OK");
    assert.equal(code("OPTIONS sip:b@example.com SIP/2.0\r\n" + HEAD + "CSeq: 2 OPTIONS\r\n\r\n"), "DUPLICATE_HEADER");
    assert.equal(code("OPTIONS sip:b@example.com SIP/2.0\r\n" + HEAD.replace("CSeq: 1 OPTIONS", "CSeq: 4294967296 OPTIONS") + "\r\n"), "BAD_HEADER_VALUE");
    assert.equal(code("OPTIONS sip:b@example.com SIP/2.0\r\n" + HEAD.replace("CSeq: 1 OPTIONS", "CSeq: 4294967295 OPTIONS") + "\r\n"), "OK");
    assert.equal(code("OPTIONS sip:b@example.com SIP/2.0\r\n" + HEAD + "Content-Length: 10\r\n\r\nshort"), "BODY_TRUNCATED");
    assert.equal(code("OPTIONS sip:b@example.com SIP/2.0\r\n" + HEAD.replace(/Call-ID[^\n]*\n/, "") + "\r\n"), "MISSING_HEADER");
  });

  it("names the offending header and salvages what a stateless reply needs", () => {
    const r = parse("OPTIONS sip:b@example.com SIP/2.0\r\n" + HEAD + "max-forwards: x\r\n\r\n");
    assert.ok(!r.ok);
    assert.equal(r.error.header, "max-forwards");
    assert.equal(r.error.kind, "request");
    assert.equal(r.error.method, "OPTIONS");
    assert.deepEqual(r.error.salvage, {
      via: ["SIP/2.0/UDP h.example;branch=z9hG4bK1"],
      from: ["<sip:a@example.com>;tag=1"],
      to: ["<sip:b@example.com>"],
      "call-id": ["c1"],
      cseq: ["1 OPTIONS"],
    });
  });

  it("refuses datagrams over maxMessageSize", () => {
    const r = parse("OPTIONS sip:b@example.com SIP/2.0\r\n" + HEAD + "\r\n" + "x".repeat(100), 64);
    assert.ok(!r.ok);
    assert.equal(r.error.code, "TOO_LARGE");
  });

  it("never throws on arbitrary bytes", () => {
    const seed = Buffer.from("INVITE sip:b@example.com SIP/2.0\r\n" + HEAD.replace("OPTIONS", "INVITE") + "Contact: <sip:x@y>\r\nl: 2\r\n\r\nab");
    for (let k = 0; k < 3000; k++) {
      const b = Buffer.from(seed);
      for (let j = 0; j < 4; j++) b[(k * 7919 + j * 104729) % b.length] = (k * 31 + j * 17) & 255;
      parse(b);
      parse(b.subarray(0, k % b.length));
    }
  });
});
