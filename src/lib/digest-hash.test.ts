import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { computeHa1, digestHex } from "./digest-hash.ts";

describe("digest hashes", () => {
  it("computeHa1 is H(user:realm:password): the RFC 2617 3.5 example for MD5, SHA-256 likewise", () => {
    assert.equal(computeHa1("Mufasa", "testrealm@host.com", "Circle Of Life", "MD5"), "939e7578ed9e3c518a452acee763bce9");
    const sha256 = createHash("sha256").update("Mufasa:testrealm@host.com:Circle Of Life").digest("hex");
    assert.equal(computeHa1("Mufasa", "testrealm@host.com", "Circle Of Life", "SHA-256"), sha256);
  });

  it("digestHex hashes strings as UTF-8 and buffers as they are", () => {
    assert.equal(digestHex("MD5", "é"), digestHex("MD5", Buffer.from("é", "utf8")));
    assert.equal(digestHex("MD5", ""), "d41d8cd98f00b204e9800998ecf8427e");
  });
});
