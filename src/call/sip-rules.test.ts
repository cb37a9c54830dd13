import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createRequest, parseUri } from "../sip/index.ts";
import { endToEndHeaders, outranks, sessionExpiresOf } from "./sip-rules.ts";

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

  test("compact header names cross like their long forms (r: is Refer-To, o: is Event)", () => {
    const r = request([
      { name: "r", value: "<sip:+15551230002@example.com>" },
      { name: "o", value: "refer" },
      { name: "v", value: "SIP/2.0/UDP 192.0.2.1" },
    ]);
    assert.deepEqual(endToEndHeaders(r).map((h) => h.name), ["r", "o"]);
  });

  test("RFC 4028 Session-Expires with and without refresher", () => {
    assert.deepEqual(sessionExpiresOf(request([{ name: "Session-Expires", value: "90;refresher=uac" }])), { seconds: 90, refresher: "uac" });
    assert.deepEqual(sessionExpiresOf(request([{ name: "Session-Expires", value: "1800" }])), { seconds: 1800, refresher: null });
    assert.equal(sessionExpiresOf(request([])), null);
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
