import { test } from "node:test";
import assert from "node:assert/strict";
import { newBranch, newCallId, newTag } from "./ids.ts";

test("branches carry the RFC 3261 magic cookie and are unique", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const b = newBranch();
    assert.match(b, /^z9hG4bK[A-Za-z0-9_-]{16}$/);
    seen.add(b);
  }
  assert.equal(seen.size, 5000);
});

test("tags and call-ids are SIP tokens", () => {
  assert.match(newTag(), /^[A-Za-z0-9_-]+$/);
  assert.match(newCallId(), /^[A-Za-z0-9_-]{24}$/);
});
