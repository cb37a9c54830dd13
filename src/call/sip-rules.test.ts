import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createRequest, parseUri } from "../sip/index.ts";
import { endToEndHeaders, outranks, rawHeaderValues, sessionExpiresOf } from "./sip-rules.ts";

function request(headers: { name: string; value: string }[]) {
  const uri = parseUri("sip:+15551230001@127.0.0.1")!;
  return createRequest({ method: "INVITE", uri, from: { displayName: null, uri, params: { tag: "a" } }, to: { displayName: null, uri, params: {} }, callId: "x", cseq: 1, headers });
}

describe("B2BUA header rules", () => {
  test("only end-to-end headers cross; vendor and hop-by-hop ones stay", () => {
    const r = request([
      { name: "Reason", value: "Q.850;cause=16" },
      { name: "X-Internal-Host", value: "pbx.lan" },
      { name: "Session-Expires", value: "1800" },
      { name: "User-Agent", value: "Asterisk" },
      { name: "Proxy-Authorization", value: "Digest username=\"acme\"" },
    ]);
    assert.deepEqual(endToEndHeaders(r).map((h) => h.name), ["Reason", "Session-Expires"]);
  });

  test("RFC 4028 Session-Expires with and without refresher", () => {
    assert.deepEqual(sessionExpiresOf(request([{ name: "Session-Expires", value: "90;refresher=uac" }])), { seconds: 90, refresher: "uac" });
    assert.deepEqual(sessionExpiresOf(request([{ name: "Session-Expires", value: "1800" }])), { seconds: 1800, refresher: null });
    assert.equal(sessionExpiresOf(request([])), null);
  });

  test("credentials are read whole, commas inside them kept", () => {
    const value = 'Digest username="acme",realm="r",nonce="n",uri="sip:x",response="y"';
    assert.deepEqual(rawHeaderValues(request([{ name: "Proxy-Authorization", value }]), "proxy-authorization"), [value]);
  });
});

describe("which failed fork speaks for the batch", () => {
  test("a response beats a timeout, a 6xx beats any 4xx, else the lowest status", () => {
    assert.equal(outranks({ kind: "response", status: 503 }, { kind: "timeout" }), true);
    assert.equal(outranks({ kind: "timeout" }, { kind: "transport-error" }), true);
    assert.equal(outranks({ kind: "response", status: 603 }, { kind: "response", status: 486 }), true);
    assert.equal(outranks({ kind: "response", status: 486 }, { kind: "response", status: 503 }), true);
    assert.equal(outranks({ kind: "response", status: 503 }, { kind: "response", status: 486 }), false);
  });
});
