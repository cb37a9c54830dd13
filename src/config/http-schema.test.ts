import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseConfigObject } from "./index.ts";

const HASH = "a".repeat(64);

function issues(http: unknown): string[] {
  const r = parseConfigObject({ http });
  return r.ok ? [] : r.error.map((i) => `${i.path}: ${i.message}`);
}

describe("http config", () => {
  test("loopback without tokens or TLS is allowed (the local operator)", () => {
    assert.deepEqual(issues({ listen: "127.0.0.1:8080" }), []);
    assert.deepEqual(issues({ listen: "[::1]:8080" }), []);
  });

  test("a listener other hosts can reach needs TLS and a token; the error names http.listen", () => {
    for (const http of [
      { listen: "0.0.0.0:8443" },
      { listen: "0.0.0.0:8443", tokens: [{ name: "ops", role: "admin", sha256: HASH }] },
      { listen: "192.0.2.1:8443", tls: { certFile: "c.pem", keyFile: "k.pem" } },
    ]) {
      const found = issues(http);
      assert.equal(found.length, 1, JSON.stringify(http));
      assert.match(found[0] ?? "", /^http\.listen: .*http\.tls.*http\.tokens/);
    }
    assert.deepEqual(issues({ listen: "0.0.0.0:8443", tls: { certFile: "c.pem", keyFile: "k.pem" }, tokens: [{ name: "ops", role: "admin", sha256: HASH }] }), []);
    assert.deepEqual(issues({ listen: "0.0.0.0:8443", enabled: false }), [], "a disabled API may name any address");
  });

  test("tokens are checked field by field", () => {
    assert.deepEqual(issues({ tokens: [{ name: "ops", role: "root", sha256: "abc" }] }), [
      'http.tokens[0].role: expected one of "read", "admin"',
      "http.tokens[0].sha256: expected 64 hex digits (sha256 of the token)",
    ]);
    assert.deepEqual(issues({ tokens: [{ name: "a", role: "read", sha256: HASH }, { name: "a", role: "admin", sha256: HASH }] }), ["http.tokens[1].name: duplicate token name a"]);
    const r = parseConfigObject({ http: { tokens: [{ name: "a", role: "read", sha256: HASH.toUpperCase() }] } });
    assert.ok(r.ok);
    assert.equal(r.value.http.tokens[0]?.sha256, HASH, "stored lower-case");
  });
});
