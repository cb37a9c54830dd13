import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseMessage, serializeMessage } from "./index.ts";
import type { HeaderField, NameAddr, Params, SipMessage, SipRequest, SipResponse, Uri, Via } from "./index.ts";

// Generators produce values already in the parser's canonical form (lower-case parameter names,
// trimmed header values), so parse(serialize(m)) must give back exactly m.
const alnum = fc.stringMatching(/^[a-z0-9]{1,8}$/);
const token = fc.stringMatching(/^[A-Za-z0-9.!%*_+`'~-]{1,10}$/);
const paramName = fc.stringMatching(/^[a-z][a-z0-9-]{0,7}$/);
const hostname = fc.array(alnum, { minLength: 1, maxLength: 3 }).map((l) => l.join(".") + ".example");
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((t) => t.join("."));
const ipv6 = fc.constantFrom("[2001:db8::1]", "[::1]", "[2001:db8:::192.0.2.1]", "[::ffff:192.0.2.7]");
const host = fc.oneof(hostname, ipv4, ipv6);
const port = fc.option(fc.integer({ min: 1, max: 65535 }), { nil: null });

function params(value: fc.Arbitrary<string>): fc.Arbitrary<Params> {
  return fc.dictionary(paramName, fc.option(value, { nil: null }), { maxKeys: 3 }).map((d) => ({ ...d }));
}

const sipUri: fc.Arbitrary<Uri> = fc.record({
  scheme: fc.constantFrom("sip" as const, "sips" as const),
  user: fc.option(fc.stringMatching(/^[a-zA-Z0-9%+._-]{1,12}$/), { nil: null }),
  password: fc.constant(null),
  host,
  port,
  params: params(token),
  headers: fc.array(fc.tuple(alnum, alnum).map(([a, b]) => [a, b] as const), { maxLength: 2 }),
}, { noNullPrototype: true });
const telUri: fc.Arbitrary<Uri> = fc.record({
  scheme: fc.constant("tel" as const),
  number: fc.stringMatching(/^\+[0-9]{4,12}$/),
  params: params(token),
}, { noNullPrototype: true });
const otherUri: fc.Arbitrary<Uri> = fc.record({
  scheme: fc.constantFrom("urn", "http", "isbn"),
  opaque: fc.stringMatching(/^[a-z0-9:.\/]{1,20}$/),
}, { noNullPrototype: true });
const uri = fc.oneof({ weight: 4, arbitrary: sipUri }, { weight: 1, arbitrary: telUri }, { weight: 1, arbitrary: otherUri });

const nameAddr: fc.Arbitrary<NameAddr> = fc.record({
  displayName: fc.option(fc.stringMatching(/^[A-Za-z0-9 .,<>;:@-]{0,16}$/), { nil: null }),
  uri,
  params: params(fc.oneof(token, alnum.map((s) => '"' + s + ' x"'))),
}, { noNullPrototype: true });

const via: fc.Arbitrary<Via> = fc.record({
  transport: fc.constantFrom("UDP", "TCP", "TLS", "WS", "SCTP"),
  host,
  port,
  params: fc.tuple(token, params(fc.oneof(token, ipv6))).map(([b, p]) => ({ branch: "z9hG4bK" + b, ...p })),
}, { noNullPrototype: true });

const otherName = fc.constantFrom("Subject", "X-Custom", "User-Agent", "Allow", "Supported", "P-Asserted-Identity", "Date");
const headerValue = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,30}[\x21-\x7e])?$/);
const headers: fc.Arbitrary<HeaderField[]> = fc.array(fc.record({ name: otherName, value: fc.oneof(headerValue, fc.constant(""), fc.constant("héllo wörld")) }, { noNullPrototype: true }), {
  maxLength: 4,
});
const body = fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b));

const common = {
  via: fc.array(via, { minLength: 1, maxLength: 3 }),
  from: nameAddr,
  to: nameAddr,
  callId: fc.stringMatching(/^[A-Za-z0-9.!%*_+`'~@:-]{1,24}$/),
  contact: fc.array(nameAddr, { maxLength: 2 }),
  route: fc.array(nameAddr, { maxLength: 2 }),
  recordRoute: fc.array(nameAddr, { maxLength: 2 }),
  maxForwards: fc.option(fc.integer({ min: 0, max: 255 }), { nil: null }),
  contentType: fc.option(fc.constantFrom("application/sdp", "multipart/mixed;boundary=abc"), { nil: null }),
  headers,
  body,
};

const request: fc.Arbitrary<SipRequest> = fc
  .record({ ...common, method: fc.constantFrom("INVITE", "ACK", "BYE", "OPTIONS", "REGISTER", "X-NEW"), uri, seq: fc.nat(0xffffffff), wildcard: fc.boolean() })
  .map(({ method, seq, wildcard, ...rest }) => ({
    kind: "request" as const,
    method,
    ...rest,
    cseq: { seq, method },
    contact: wildcard ? [] : rest.contact,
    contactWildcard: wildcard,
  }));

const response: fc.Arbitrary<SipResponse> = fc
  .record({ ...common, status: fc.integer({ min: 100, max: 699 }), reason: fc.stringMatching(/^[\x20-\x7e]{0,20}$/), seq: fc.nat(0xffffffff), method: token })
  .map(({ seq, method, ...rest }) => ({ kind: "response" as const, ...rest, cseq: { seq, method }, contactWildcard: false }));

function check(m: SipMessage): void {
  const wire = serializeMessage(m);
  const r = parseMessage(wire);
  assert.ok(r.ok, r.ok ? "" : r.error.code + " " + r.error.detail + "\n" + wire.toString());
  assert.deepStrictEqual(r.message, m);
  assert.deepStrictEqual(serializeMessage(r.message), wire);
}

describe("serialize/parse round trip (property)", () => {
  it("requests survive parse(serialize(m)) unchanged", () => {
    fc.assert(fc.property(request, check), { numRuns: 400 });
  });

  it("responses survive parse(serialize(m)) unchanged", () => {
    fc.assert(fc.property(response, check), { numRuns: 400 });
  });

  // A parsed message keeps its received text for the fields nobody changes; whatever subset
  // is changed, the written message must still be the message as it now is.
  const fieldSets = fc.subarray(["via", "from", "to", "callId", "contact", "route", "recordRoute", "maxForwards", "contentType", "headers", "body", "start"] as const);

  function changed(a: SipMessage, b: SipMessage, fields: readonly string[]): SipMessage {
    const r = parseMessage(serializeMessage(a));
    assert.ok(r.ok);
    const m = r.message as unknown as Record<string, unknown>;
    const from = b as unknown as Record<string, unknown>;
    for (const f of fields) {
      if (f === "start") {
        for (const k of b.kind === "request" ? ["method", "uri", "cseq"] : ["status", "reason"]) m[k] = from[k];
      } else if (f === "contact") {
        m["contact"] = from["contact"];
        m["contactWildcard"] = from["contactWildcard"];
      } else m[f] = from[f];
    }
    return r.message;
  }

  it("requests with some fields replaced after parsing are written as they now are", () => {
    fc.assert(fc.property(request, request, fieldSets, (a, b, fields) => check(changed(a, b, fields))), { numRuns: 300 });
  });

  it("responses with some fields replaced after parsing are written as they now are", () => {
    fc.assert(fc.property(response, response, fieldSets, (a, b, fields) => check(changed(a, b, fields))), { numRuns: 300 });
  });
});
