import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseUri, serializeUri } from "./index.ts";

describe("parseUri", () => {
  const cases: Array<[string, unknown]> = [
    ["sip:alice@atlanta.com", { scheme: "sip", user: "alice", password: null, host: "atlanta.com", port: null, params: {}, headers: [] }],
    ["SIPS:bob:secret@[2001:db8::1]:5061;Transport=TLS;lr", { scheme: "sips", user: "bob", password: "secret", host: "[2001:db8::1]", port: 5061, params: { transport: "TLS", lr: null }, headers: [] }],
    ["sip:gw.example.com?Subject=hi&Priority=urgent", { scheme: "sip", user: null, password: null, host: "gw.example.com", port: null, params: {}, headers: [["Subject", "hi"], ["Priority", "urgent"]] }],
    ["sip:user;par=u%40example.net@example.com", { scheme: "sip", user: "user;par=u%40example.net", password: null, host: "example.com", port: null, params: {}, headers: [] }],
    ["sip:[2001:db8::10:5070]", { scheme: "sip", user: null, password: null, host: "[2001:db8::10:5070]", port: null, params: {}, headers: [] }],
    ["sip:u@[2001:db8:::192.0.2.1]", { scheme: "sip", user: "u", password: null, host: "[2001:db8:::192.0.2.1]", port: null, params: {}, headers: [] }],
    ["tel:+1-201-555-0123;phone-context=example.com", { scheme: "tel", number: "+1-201-555-0123", params: { "phone-context": "example.com" } }],
    ["urn:service:sos", { scheme: "urn", opaque: "service:sos" }],
    ["soap.beep://192.0.2.103:3002", { scheme: "soap.beep", opaque: "//192.0.2.103:3002" }],
  ];
  for (const [text, want] of cases) {
    it(`parses ${text}`, () => assert.deepEqual(parseUri(text), want));
  }

  for (const bad of ["", "sip:", "sip:2001:db8::10", "sip:user@host:99999", "sip:user@host;=x", "<sip:a@b>", "sip:a b@c", "sip:@host", "1sip:x", "sip:u@[]", "sip:u@[zz::1]", "tel:"]) {
    it(`refuses ${JSON.stringify(bad)}`, () => assert.equal(parseUri(bad), null));
  }

  it("serializes back to the same text", () => {
    for (const text of ["sip:alice@atlanta.com", "sips:bob:secret@[2001:db8::1]:5061;transport=TLS;lr", "sip:gw.example.com?Subject=hi&Priority=urgent", "tel:+1-201-555-0123;phone-context=example.com", "urn:service:sos"]) {
      assert.equal(serializeUri(parseUri(text)!), text);
    }
  });
});
