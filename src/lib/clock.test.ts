import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "./clock.ts";

test("FakeClock fires timers in due order, including ones scheduled while advancing", () => {
  const clock = new FakeClock();
  const fired: string[] = [];
  clock.schedule(100, () => fired.push("a@" + clock.now()));
  clock.schedule(50, () => {
    fired.push("b@" + clock.now());
    clock.schedule(10, () => fired.push("c@" + clock.now()));
  });
  const cancelled = clock.schedule(70, () => fired.push("never"));
  cancelled.cancel();
  clock.advance(99);
  assert.deepEqual(fired, ["b@50", "c@60"]);
  clock.advance(1);
  assert.deepEqual(fired, ["b@50", "c@60", "a@100"]);
  assert.equal(clock.pending(), 0);
});
