import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { NO_PARAMS, paramsWith, paramsWithout, parseVia, serializeVia, withItem, withParam, withoutParam } from "./index.ts";

describe("editing immutable message values", () => {
  const via = parseVia("SIP/2.0/UDP h.example;branch=z9hG4bK1;rport;ttl=4")![0]!;

  it("sets a parameter in its place, or last, on a copy", () => {
    assert.equal(serializeVia(withParam(via, "rport", "5062")), "SIP/2.0/UDP h.example;branch=z9hG4bK1;rport=5062;ttl=4");
    assert.equal(serializeVia(withParam(via, "received", "192.0.2.1")), "SIP/2.0/UDP h.example;branch=z9hG4bK1;rport;ttl=4;received=192.0.2.1");
    assert.equal(serializeVia(via), "SIP/2.0/UDP h.example;branch=z9hG4bK1;rport;ttl=4", "the original is unchanged");
  });

  it("removes a parameter on a copy, down to the shared empty set", () => {
    assert.equal(serializeVia(withoutParam(via, "rport")), "SIP/2.0/UDP h.example;branch=z9hG4bK1;ttl=4");
    assert.equal(paramsWithout({ tag: "1" }, "tag"), NO_PARAMS);
  });

  it("returns the value itself when nothing changes, so the field stays clean", () => {
    assert.equal(withParam(via, "branch", "z9hG4bK1"), via);
    assert.equal(withParam(via, "rport", null), via);
    assert.equal(withoutParam(via, "maddr"), via);
    const list = [via];
    assert.equal(withItem(list, 0, via), list);
  });

  it("never sets the prototype through a parameter name", () => {
    const p = paramsWith({ a: "1" }, "__proto__", "x");
    assert.equal(Object.getPrototypeOf(p), Object.prototype);
    assert.deepEqual(Object.keys(p), ["a"]);
  });

  it("replaces one list entry on a copy, and refuses an index outside the list", () => {
    const other = withParam(via, "received", "192.0.2.1");
    const list = [via, via];
    assert.deepEqual(withItem(list, 1, other), [via, other]);
    assert.deepEqual(list, [via, via]);
    assert.throws(() => withItem(list, 2, other), RangeError);
  });
});
