import { test } from "node:test";
import assert from "node:assert/strict";
import { computeHa1, computeResponse, constantTimeEqual, toDigestAlgorithm } from "./digest.ts";
import { answerChallenge } from "./client.ts";
import { parseCredentials } from "./header.ts";

// RFC 7616 section 3.9.1 (password corrected by verified erratum 4495: lower-case "of").
const RFC7616 = {
  username: "Mufasa",
  password: "Circle of Life",
  realm: "http-auth@example.org",
  nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
  opaque: "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
  cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
  method: "GET",
  uri: "/dir/index.html",
};
const RFC7616_RESPONSES = {
  MD5: "8ca523f5e9506fed4657c9700eebdbec",
  "SHA-256": "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
} as const;

for (const algorithm of ["MD5", "SHA-256"] as const) {
  test(`RFC 7616 3.9.1 example, ${algorithm}: computeResponse`, () => {
    const ha1 = computeHa1(RFC7616.username, RFC7616.realm, RFC7616.password, algorithm);
    const response = computeResponse({
      algorithm,
      ha1,
      nonce: RFC7616.nonce,
      method: RFC7616.method,
      uri: RFC7616.uri,
      qop: "auth",
      nc: "00000001",
      cnonce: RFC7616.cnonce,
    });
    assert.equal(response, RFC7616_RESPONSES[algorithm]);
  });

  test(`RFC 7616 3.9.1 example, ${algorithm}: answerChallenge`, () => {
    const challenge = `Digest realm="${RFC7616.realm}", qop="auth, auth-int", algorithm=${algorithm}, nonce="${RFC7616.nonce}", opaque="${RFC7616.opaque}"`;
    const value = answerChallenge({ challenge, method: "GET", uri: RFC7616.uri, username: "Mufasa", password: RFC7616.password, cnonce: RFC7616.cnonce, nc: 1 });
    const c = parseCredentials(value);
    assert.ok(c.ok);
    assert.equal(c.value.response, RFC7616_RESPONSES[algorithm]);
    assert.equal(c.value.qop, "auth");
    assert.equal(c.value.nc, "00000001");
    assert.equal(c.value.opaque, RFC7616.opaque);
    assert.equal(c.value.algorithm, algorithm);
  });
}

test("RFC 2069 example (no qop): response over HA1:nonce:HA2", () => {
  // RFC 2069 section 2.4: Mufasa / "CircleOfLife" in testrealm@host.com.
  const value = answerChallenge({
    challenge: 'Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    method: "GET",
    uri: "/dir/index.html",
    username: "Mufasa",
    password: "CircleOfLife",
  });
  const c = parseCredentials(value);
  assert.ok(c.ok);
  assert.equal(c.value.response, "1949323746fe6a43ef61f9606e7febea");
  assert.equal(c.value.qop, undefined);
  assert.equal(c.value.nc, undefined);
  assert.equal(c.value.cnonce, undefined);
  assert.equal(c.value.algorithm, undefined);
});

test("SIP example (draft-smith-sipping-auth-examples 3.2): bob@biloxi.com INVITE, qop=auth", () => {
  const ha1 = computeHa1("bob", "biloxi.com", "zanzibar", "MD5");
  assert.equal(ha1, "12af60467a33e8518da5c68bbff12b11");
  const response = computeResponse({
    algorithm: "MD5",
    ha1,
    nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
    method: "INVITE",
    uri: "sip:bob@biloxi.com",
    qop: "auth",
    nc: "00000001",
    cnonce: "0a4f113b",
  });
  assert.equal(response, "89eb0059246c02b2f6ee02c7961d5ea3");
});

test("auth-int hashes the body into HA2", () => {
  const base = { algorithm: "SHA-256", ha1: "00", nonce: "n", method: "INVITE", uri: "sip:a@b", nc: "00000001", cnonce: "c" } as const;
  const a = computeResponse({ ...base, qop: "auth-int", body: Buffer.from("v=0\r\n") });
  const b = computeResponse({ ...base, qop: "auth-int", body: Buffer.from("v=1\r\n") });
  assert.notEqual(a, b);
});

test("algorithm names are case-insensitive, absent means MD5, others unsupported", () => {
  assert.equal(toDigestAlgorithm(undefined), "MD5");
  assert.equal(toDigestAlgorithm("sha-256"), "SHA-256");
  assert.equal(toDigestAlgorithm("md5"), "MD5");
  assert.equal(toDigestAlgorithm("MD5-sess"), undefined);
  assert.equal(toDigestAlgorithm("SHA-512-256"), undefined);
});

test("constantTimeEqual", () => {
  assert.equal(constantTimeEqual("abc", "abc"), true);
  assert.equal(constantTimeEqual("abc", "abd"), false);
  assert.equal(constantTimeEqual("abc", "abcd"), false);
});
