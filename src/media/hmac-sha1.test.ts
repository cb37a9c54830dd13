import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { HmacSha1 } from "./hmac-sha1.ts";

test("RFC 2202 test cases 1 and 6 (short key; key longer than a block)", () => {
  const cases: [Buffer, Buffer, string][] = [
    [Buffer.alloc(20, 0x0b), Buffer.from("Hi There"), "b617318655057264e28bc0b6fb378c8ef146be00"],
    [
      Buffer.alloc(80, 0xaa),
      Buffer.from("Test Using Larger Than Block-Size Key - Hash Key First"),
      "aa4ae5e15272d00e95705637ce8a3b55ed402112",
    ],
  ];
  for (const [key, data, want] of cases) {
    const out = Buffer.alloc(20);
    new HmacSha1(key).mac(data, undefined, out, 0, 20);
    assert.equal(out.toString("hex"), want);
  }
});

test("agrees with node:crypto for every length across the block and padding boundaries", () => {
  const key = Buffer.from("c61e7a93744f39ee10734afe3ff7a087cebe321f", "hex");
  const h = new HmacSha1(key);
  const trailer = Buffer.from([0x00, 0x00, 0x00, 0x07]);
  for (let len = 0; len < 260; len++) {
    const data = Buffer.from(Array.from({ length: len }, (_, i) => (i * 7 + len) & 0xff));
    const got = Buffer.alloc(20);
    h.mac(data, 7, got, 0, 20);
    assert.deepEqual(got, createHmac("sha1", key).update(data).update(trailer).digest(), `len ${len} with trailer`);
    h.mac(data, undefined, got, 0, 20);
    assert.deepEqual(got, createHmac("sha1", key).update(data).digest(), `len ${len}`);
  }
});

test("verify accepts the truncated tag and refuses any other", () => {
  const h = new HmacSha1(Buffer.alloc(20, 1));
  const data = Buffer.from("payload");
  const tag = Buffer.alloc(10);
  h.mac(data, 3, tag, 0, 10);
  assert.equal(h.verify(data, 3, tag), true);
  assert.equal(h.verify(data, 4, tag), false, "other trailer");
  tag[9] = tag[9]! ^ 1;
  assert.equal(h.verify(data, 3, tag), false);
  assert.equal(h.verify(data, 3, Buffer.alloc(0)), false, "empty tag");
});
