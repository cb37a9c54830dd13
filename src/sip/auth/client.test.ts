import { test } from "node:test";
import assert from "node:assert/strict";
import { DigestClientError, answerChallenge, pickChallenge } from "./client.ts";
import { parseCredentials } from "./header.ts";

const base = { method: "REGISTER", uri: "sip:carrier.example", username: "acct", password: "pa55" };

test("pickChallenge prefers SHA-256 whatever the order, and skips what it cannot answer", () => {
  const md5 = 'Digest realm="c", nonce="1", algorithm=MD5, qop="auth"';
  const sha = 'Digest realm="c", nonce="2", algorithm=SHA-256, qop="auth"';
  const sha512 = 'Digest realm="c", nonce="3", algorithm=SHA-512-256, qop="auth"';
  assert.equal(pickChallenge([md5, sha]), sha);
  assert.equal(pickChallenge([sha512, sha, md5]), sha);
  assert.equal(pickChallenge([sha512, md5, 'Basic realm="c"']), md5);
  assert.equal(pickChallenge([sha512, "garbage"]), undefined);
  assert.equal(pickChallenge([]), undefined);
  const noAlg = 'Digest realm="c", nonce="4"';
  assert.equal(pickChallenge([noAlg, md5]), noAlg);
});

test("auth-int is used only when auth is not offered, and hashes the body", () => {
  const ch = 'Digest realm="c", nonce="n", qop="auth-int"';
  const a = parseCredentials(answerChallenge({ ...base, challenge: ch, cnonce: "x", body: Buffer.from("a") }));
  const b = parseCredentials(answerChallenge({ ...base, challenge: ch, cnonce: "x", body: Buffer.from("b") }));
  assert.ok(a.ok && b.ok);
  assert.equal(a.value.qop, "auth-int");
  assert.notEqual(a.value.response, b.value.response);
  const both = parseCredentials(answerChallenge({ ...base, challenge: 'Digest realm="c", nonce="n", qop="auth-int,auth"' }));
  assert.ok(both.ok);
  assert.equal(both.value.qop, "auth");
});

test("nc is written as 8 hex digits and a random cnonce is generated", () => {
  const ch = 'Digest realm="c", nonce="n", qop="auth"';
  const c1 = parseCredentials(answerChallenge({ ...base, challenge: ch, nc: 26 }));
  const c2 = parseCredentials(answerChallenge({ ...base, challenge: ch, nc: 26 }));
  assert.ok(c1.ok && c2.ok);
  assert.equal(c1.value.nc, "0000001a");
  assert.ok((c1.value.cnonce ?? "").length >= 16);
  assert.notEqual(c1.value.cnonce, c2.value.cnonce);
  assert.throws(() => answerChallenge({ ...base, challenge: ch, nc: 0 }), RangeError);
});

const failures: Array<[string, string]> = [
  ['Basic realm="c"', "ERR_AUTH_UNKNOWN_SCHEME"],
  ['Digest realm="c"', "ERR_AUTH_MALFORMED_CHALLENGE"],
  ['Digest realm="c", nonce="n", algorithm=SHA-512-256', "ERR_AUTH_UNSUPPORTED_ALGORITHM"],
  ['Digest realm="c", nonce="n", qop="auth-conf"', "ERR_AUTH_UNSUPPORTED_QOP"],
];
for (const [challenge, code] of failures) {
  test(`answerChallenge refuses with ${code}, without leaking the password`, () => {
    assert.throws(
      () => answerChallenge({ ...base, challenge }),
      (e: unknown) => e instanceof DigestClientError && e.code === code && !e.message.includes(base.password),
    );
  });
}
