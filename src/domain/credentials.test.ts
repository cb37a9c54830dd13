import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { computeHa1 } from "../lib/index.ts";
import { hashCredentials, hashProvisioningSecrets, storedHa1 } from "./credentials.ts";
import { carrier, customer } from "./test-fixtures.ts";

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

describe("customer credentials as HA1 (issue 5)", () => {
  it("hashCredentials drops the password for both hashes in the server's realm, or the credentials' own", () => {
    const hashed = hashCredentials({ username: "acme", password: "pw" }, "trunkline");
    assert.deepEqual(hashed, { username: "acme", realm: "trunkline", ha1: computeHa1("acme", "trunkline", "pw", "MD5"), ha1Sha256: sha256("acme:trunkline:pw") });
    assert.equal("password" in hashed, false);
    assert.equal(hashCredentials({ username: "acme", password: "pw", realm: "own.example" }, "trunkline").ha1, computeHa1("acme", "own.example", "pw", "MD5"));
    // Hashing twice changes nothing, so a re-apply compares equal to what is stored.
    assert.deepEqual(hashCredentials(hashed, "trunkline"), hashed);
    assert.deepEqual(hashCredentials({ username: "x", ha1: "ABCDEF0123456789ABCDEF0123456789", realm: "r" }, "trunkline"), { username: "x", ha1: "abcdef0123456789abcdef0123456789", realm: "r" });
  });

  it("hashProvisioningSecrets hashes customers only: a carrier's password answers challenges in realms not known in advance", () => {
    const plain = customer({ id: "a", identification: { cidrs: [], credentials: [{ username: "a", password: "pw" }] } });
    const noSecret = customer({ id: "b", identification: { cidrs: ["192.0.2.0/24"], credentials: [] } });
    const up = carrier({ id: "c", credentials: { username: "us", password: "carrier-pw" } });
    const out = hashProvisioningSecrets({ customers: [plain, noSecret], carriers: [up], routes: [], rateDecks: [] }, "trunkline");
    assert.equal(JSON.stringify(out.customers).includes('"password"'), false);
    assert.equal(out.customers[1], noSecret, "unchanged customers are the same objects");
    assert.deepEqual(out.carriers[0]?.credentials, { username: "us", password: "carrier-pw" });
  });

  it("storedHa1 answers each algorithm from its own hash, in its own realm, for its own user only", () => {
    const c = hashCredentials({ username: "acme", password: "pw" }, "trunkline");
    assert.equal(storedHa1(c, "acme", "trunkline", "MD5"), computeHa1("acme", "trunkline", "pw", "MD5"));
    assert.equal(storedHa1(c, "acme", "trunkline", "SHA-256"), computeHa1("acme", "trunkline", "pw", "SHA-256"));
    assert.equal(storedHa1(c, "other", "trunkline", "MD5"), undefined);
    assert.equal(storedHa1(c, "acme", "another.realm", "MD5"), undefined, "a hash is bound to its realm");
    const md5Only = { username: "acme", ha1: computeHa1("acme", "trunkline", "pw", "MD5"), realm: "trunkline" };
    assert.equal(storedHa1(md5Only, "acme", "trunkline", "SHA-256"), undefined, "no SHA-256 hash: SHA-256 responses cannot be verified");
  });
});
