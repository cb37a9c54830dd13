import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "./clock.ts";
import { DelayQueue } from "./delay-queue.ts";

test("DelayQueue fires each item its delay after it was added, oldest first, on one timer", () => {
  const clock = new FakeClock();
  const fired: string[] = [];
  const q = new DelayQueue<string>(clock, 100, (item) => fired.push(`${item}@${clock.now()}`));
  q.add("a");
  clock.advance(30);
  q.add("b");
  q.add("c");
  assert.equal(clock.pending(), 1, "one clock timer for every item");
  clock.advance(69);
  assert.deepEqual(fired, []);
  clock.advance(1);
  assert.deepEqual(fired, ["a@100"]);
  clock.advance(30);
  assert.deepEqual(fired, ["a@100", "b@130", "c@130"]);
  assert.equal(q.size, 0);
  assert.equal(clock.pending(), 0, "no timer once empty");
});

test("DelayQueue: a deleted item never fires, a re-added one starts its delay again", () => {
  const clock = new FakeClock();
  const fired: string[] = [];
  const q = new DelayQueue<string>(clock, 100, (item) => fired.push(`${item}@${clock.now()}`));
  q.add("a");
  q.add("b");
  assert.equal(q.delete("a"), true);
  assert.equal(q.delete("a"), false);
  clock.advance(50);
  q.add("b");
  assert.equal(q.has("b"), true);
  clock.advance(100);
  assert.deepEqual(fired, ["b@150"]);
});

test("DelayQueue: items added while firing keep their own time, and a throwing callback loses no item", () => {
  const clock = new FakeClock();
  const fired: string[] = [];
  const q = new DelayQueue<string>(clock, 100, (item) => {
    fired.push(`${item}@${clock.now()}`);
    if (item === "a") q.add("a2");
    if (item === "b") throw new Error("callback bug");
  });
  q.add("a");
  q.add("b");
  clock.advance(10);
  q.add("c");
  assert.throws(() => clock.advance(90), /callback bug/);
  assert.deepEqual(fired, ["a@100", "b@100"]);
  clock.advance(10);
  assert.deepEqual(fired, ["a@100", "b@100", "c@110"]);
  clock.advance(90);
  assert.deepEqual(fired, ["a@100", "b@100", "c@110", "a2@200"]);
});

test("DelayQueue.clear forgets every item and its timer", () => {
  const clock = new FakeClock();
  const fired: string[] = [];
  const q = new DelayQueue<string>(clock, 100, (item) => fired.push(item));
  q.add("a");
  q.clear();
  assert.equal(clock.pending(), 0);
  clock.advance(200);
  assert.deepEqual(fired, []);
});
