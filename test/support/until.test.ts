import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { poll, until } from "./until.ts";

describe("until and poll", () => {
  it("resolve once a condition holds, sync or async", async () => {
    let n = 0;
    await until(() => ++n >= 3, 2000);
    assert.equal(n, 3);
    assert.equal(await poll(async () => true, 10), true);
  });

  it("poll answers false and until rejects naming what it waited for", async () => {
    assert.equal(await poll(() => false, 30), false);
    await assert.rejects(until(() => false, 30, "the moon"), /timed out after 30 ms waiting for the moon/);
    await assert.rejects(until(() => false, 30, () => "state 7"), /waiting for state 7/);
  });
});
