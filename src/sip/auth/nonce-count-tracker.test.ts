import { test } from "node:test";
import assert from "node:assert/strict";
import { NonceCountTracker } from "./nonce-count-tracker.ts";
import { checkNonce, createNonce } from "./nonce.ts";

test("nc must strictly increase per nonce; nonces are independent", () => {
  const t = new NonceCountTracker();
  assert.equal(t.accept("a", 1, 0), true);
  assert.equal(t.accept("a", 1, 0), false);
  assert.equal(t.accept("a", 2, 0), true);
  assert.equal(t.accept("a", 1, 0), false);
  assert.equal(t.accept("b", 1, 0), true);
});

test("bounded: least recently used is evicted, and an evicted nonce cannot be replayed", () => {
  const t = new NonceCountTracker({ maxNonces: 2 });
  assert.equal(t.accept("a", 1, 100), true);
  assert.equal(t.accept("b", 1, 200), true);
  assert.equal(t.accept("a", 2, 100), true); // a is now most recently used
  assert.equal(t.accept("c", 1, 300), true); // evicts b
  assert.equal(t.size, 2);
  assert.equal(t.accept("b", 1, 200), false); // forgotten, but issued no later than an evicted nonce
  assert.equal(t.accept("a", 3, 100), true); // still remembered
  assert.equal(t.accept("d", 1, 400), true); // issued after every evicted nonce
});

test("maxNonces must be positive", () => {
  assert.throws(() => new NonceCountTracker({ maxNonces: 0 }), RangeError);
});

test("nonces carry their issue time and are bound to secret and realm", () => {
  const n = createNonce("k", "r", 1_700_000_000_123);
  assert.match(n, /^[A-Za-z0-9_-]+$/);
  assert.deepEqual(checkNonce("k", "r", n), { valid: true, issuedAt: 1_700_000_000_123 });
  assert.deepEqual(checkNonce("other", "r", n), { valid: false });
  assert.deepEqual(checkNonce("k", "r2", n), { valid: false });
  assert.deepEqual(checkNonce(Buffer.from("k"), "r", n), { valid: true, issuedAt: 1_700_000_000_123 });
  assert.notEqual(createNonce("k", "r", 1), createNonce("k", "r", 1));
});
