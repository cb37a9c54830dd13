import { test } from "node:test";
import assert from "node:assert/strict";
import { setBounded } from "./bounded-map.ts";

test("setBounded keeps the most recently set entries and evicts the oldest beyond max", () => {
  const m = new Map<string, number>();
  assert.equal(setBounded(m, "a", 1, 2), 0);
  assert.equal(setBounded(m, "b", 2, 2), 0);
  assert.equal(setBounded(m, "a", 3, 2), 0, "re-setting refreshes a");
  assert.equal(setBounded(m, "c", 4, 2), 1, "b is now the oldest");
  assert.deepEqual([...m], [["a", 3], ["c", 4]]);
});
