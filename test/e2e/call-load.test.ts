// A burst through the B2BUA: 200 calls at 100 per second, each held 300 ms, SIPp on both sides.
// Every call must succeed, every CDR be written, and channels and dialogs come back to zero.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { callHarnessPerTest, skipWithoutSipp as skip } from "./call-harness.ts";

const harness = callHarnessPerTest();

describe("load", { skip }, () => {
  test("200 calls at 100 cps: all answered, 200 CDRs, channels back to 0", async () => {
    const h = await harness.start((p) => ({
      ...p,
      customers: p.customers.map((c) => (c.id === "loadtest" ? { ...c, limits: { channels: 100, cps: 200 } } : c)),
    }));
    const gw = h.sipp("127.0.2.1", h.ports.gw1, "call-uas.xml", { calls: 200, timeoutSec: 30 });
    const pbx = h.sipp("127.0.4.1", 0, "call-uac.xml", { calls: 200, rate: 100, timeoutSec: 30 });
    const [a, b] = await Promise.all([pbx.done(), gw.done()]);
    assert.equal(a.stats.successful, 200, a.output.slice(-1500));
    assert.equal(b.stats.successful, 200, b.output.slice(-1500));
    const cdrs = await h.cdrs.waitClosed(200);
    assert.equal(cdrs.filter((c) => c.disposition === "answered").length, 200);
    await h.channelsFreed("loadtest", "alpha");
    assert.equal(h.layer.activeCalls().length, 0);
  });
});
