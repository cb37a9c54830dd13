import { test } from "node:test";
import assert from "node:assert/strict";
import { parseAuthParams, parseChallenge, parseCredentials, serializeChallenge, serializeCredentials } from "./header.ts";

test("parses a challenge with quoted and token params, case-insensitive names and scheme", () => {
  const r = parseChallenge('digest REALM="biloxi.com", Nonce="abc", Algorithm=SHA-256, QOP="auth, auth-int", stale=TRUE, opaque="o"');
  assert.ok(r.ok);
  assert.equal(r.value.realm, "biloxi.com");
  assert.equal(r.value.nonce, "abc");
  assert.equal(r.value.algorithm, "SHA-256");
  assert.deepEqual(r.value.qop, ["auth", "auth-int"]);
  assert.equal(r.value.stale, true);
  assert.equal(r.value.opaque, "o");
});

test("commas and escaped quotes inside quoted strings stay in the value", () => {
  const r = parseCredentials(
    'Digest username="a,b \\"c\\"", realm="r, with comma", nonce="n", uri="sip:x@y;a=1,b", response="00"',
  );
  assert.ok(r.ok);
  assert.equal(r.value.username, 'a,b "c"');
  assert.equal(r.value.realm, "r, with comma");
  assert.equal(r.value.uri, "sip:x@y;a=1,b");
});

test("tolerates folding whitespace, spaces around = and empty list elements", () => {
  const r = parseAuthParams('Digest\r\n  realm = "r" ,, nonce=\t"n"\t,');
  assert.ok(r.ok);
  assert.equal(r.value.params.get("realm"), "r");
  assert.equal(r.value.params.get("nonce"), "n");
});

test("an unknown scheme is reported, not thrown", () => {
  for (const v of ['Basic realm="x"', 'Bearer token="y"']) {
    const r = parseChallenge(v);
    assert.ok(!r.ok);
    assert.equal(r.error.code, "unknown-scheme");
  }
  const raw = parseAuthParams('NTLM realm="x"');
  assert.ok(raw.ok);
  assert.equal(raw.value.scheme, "NTLM");
});

const malformedCases: Array<[string, string]> = [
  ["empty", ""],
  ["no params value", "Digest realm"],
  ["unterminated quote", 'Digest realm="abc, nonce="x'],
  ["missing comma", 'Digest realm="a" nonce="b"'],
  ["duplicate param", 'Digest realm="a", realm="b", nonce="n"'],
  ["stray quote in token", 'Digest realm=a"b", nonce="n"'],
  ["no realm", 'Digest nonce="n"'],
  ["no nonce", 'Digest realm="r"'],
  ["empty token value", 'Digest realm=, nonce="n"'],
];
for (const [name, value] of malformedCases) {
  test(`malformed challenge: ${name}`, () => {
    const r = parseChallenge(value);
    assert.ok(!r.ok);
    assert.equal(r.error.code, "malformed");
  });
}

test("credentials: qop requires cnonce and nc, nc is 8 hex digits", () => {
  const base = 'Digest username="u", realm="r", nonce="n", uri="sip:a@b", response="00"';
  assert.equal(parseCredentials(`${base}, qop=auth, nc=00000001`).ok, false);
  assert.equal(parseCredentials(`${base}, qop=auth, cnonce="c"`).ok, false);
  assert.equal(parseCredentials(`${base}, qop=auth, cnonce="c", nc=1`).ok, false);
  const r = parseCredentials(`${base}, qop="auth", cnonce="c", nc=0000000a`);
  assert.ok(r.ok);
  assert.equal(r.value.qop, "auth");
  assert.equal(r.value.nc, "0000000a");
  for (const missing of ["username", "realm", "nonce", "uri", "response"]) {
    const v = base.replace(new RegExp(`${missing}="[^"]*", ?|, ${missing}="[^"]*"`), "");
    assert.equal(parseCredentials(v).ok, false, missing);
  }
});

test("serialize then parse gives back the same challenge and credentials", () => {
  const ch = { realm: 'r "q", x', nonce: "n/+=", opaque: "o", stale: true, algorithm: "SHA-256", qop: ["auth"] };
  const text = serializeChallenge(ch);
  assert.equal(text, 'Digest realm="r \\"q\\", x", nonce="n/+=", opaque="o", stale=true, algorithm=SHA-256, qop="auth"');
  const back = parseChallenge(text);
  assert.ok(back.ok);
  assert.equal(back.value.realm, ch.realm);
  assert.equal(back.value.stale, true);

  const creds = { username: "al\\ice", realm: "r", nonce: "n", uri: "sip:b@c", response: "ab", qop: "auth", nc: "00000001", cnonce: "c" };
  const ct = serializeCredentials(creds);
  assert.match(ct, /username="al\\\\ice"/);
  assert.match(ct, /qop=auth, nc=00000001/);
  const cb = parseCredentials(ct);
  assert.ok(cb.ok);
  assert.equal(cb.value.username, "al\\ice");
  assert.equal(cb.value.nc, "00000001");
});

test("unknown parameters survive a round trip", () => {
  const r = parseChallenge('Digest realm="r", nonce="n", charset=UTF-8, x-note="a b"');
  assert.ok(r.ok);
  const text = serializeChallenge(r.value);
  assert.match(text, /charset=UTF-8/);
  assert.match(text, /x-note="a b"/);
});

test("an unknown scheme with a token68 payload is still reported as unknown-scheme", () => {
  const r = parseCredentials("Basic dXNlcjpwYXNzd29yZA==");
  assert.ok(!r.ok);
  assert.deepEqual(r.error, { code: "unknown-scheme", scheme: "Basic" });
});
