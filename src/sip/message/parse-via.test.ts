import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseVia, serializeVia } from "./index.ts";

describe("parseVia", () => {
  it("reads transport, sent-by and parameters", () => {
    assert.deepEqual(parseVia("SIP/2.0/UDP pc33.atlanta.com:5066;branch=z9hG4bKnashds8;rport;received=192.0.2.1"), [
      { transport: "UDP", host: "pc33.atlanta.com", port: 5066, params: { branch: "z9hG4bKnashds8", rport: null, received: "192.0.2.1" } },
    ]);
  });

  it("tolerates LWS around '/', ':' and ';' and reads comma lists", () => {
    assert.deepEqual(parseVia("SIP  / 2.0  / tcp     spindle.example.com : 5060  ;  branch  =   z9hG4bK9ikj8  , SIP/2.0/UDP 192.168.255.111; branch= z9hG4bK30239"), [
      { transport: "TCP", host: "spindle.example.com", port: 5060, params: { branch: "z9hG4bK9ikj8" } },
      { transport: "UDP", host: "192.168.255.111", port: null, params: { branch: "z9hG4bK30239" } },
    ]);
  });

  it("accepts IPv6 sent-by and received with or without brackets (RFC 5118 4.5)", () => {
    const [a] = parseVia("SIP/2.0/UDP [2001:db8::9:1]:6050;received=2001:db8::9:255;branch=z9hG4bKas3")!;
    assert.equal(a!.host, "[2001:db8::9:1]");
    assert.equal(a!.port, 6050);
    assert.equal(a!.params["received"], "2001:db8::9:255");
    assert.equal(parseVia("SIP/2.0/UDP [::1];received=[2001:db8::9:255]")![0]!.params["received"], "[2001:db8::9:255]");
  });

  for (const bad of ["SIP/2.0/UDP 192.0.2.15;;,;,,", "SIP/7.0/UDP host", "SIP/2.0/UDP", "SIP/2.0 host", "SIP/2.0/UDP host:70000", "SIP/2.0/UDPhost", "SIP/2.0/UDP a,,SIP/2.0/UDP b"]) {
    it(`refuses ${JSON.stringify(bad)}`, () => assert.equal(parseVia(bad), null));
  }

  it("serializes in canonical form", () => {
    assert.equal(serializeVia(parseVia("SIP / 2.0 / udp h.example:5060 ; branch=z9hG4bK1;rport")![0]!), "SIP/2.0/UDP h.example:5060;branch=z9hG4bK1;rport");
  });
});
