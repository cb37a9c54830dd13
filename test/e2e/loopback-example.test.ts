// The shipped examples/loopback/trunkline.yaml, run as the real server (config loader, SQLite,
// registrar, call layer) with SIPp peers on the example's own addresses and ports: an outbound
// call from the loadtest PBX through carrier alpha, an inbound call from carrier beta to a
// loadtest DID, CDR rows read back from the SQLite file after a restart.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadConfigFile } from "../../src/config/index.ts";
import { startTrunkline, type TrunklineHandle } from "../../src/main.ts";
import { freePort } from "../support/ports.ts";
import { haveSipp, runSipp } from "../support/sipp.ts";
import { stopAll } from "../support/processes.ts";
import { poll } from "../support/until.ts";

const skip = haveSipp() ? false : "sipp is not installed (scripts/test.sh installs it)";
const example = resolve(import.meta.dirname, "..", "..", "examples", "loopback", "trunkline.yaml");
const dir = mkdtempSync(join(tmpdir(), "trunkline-loopback-"));

after(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the example with only what a test must change: our port, a temp database, quiet logs. */
async function startExample(port: number): Promise<TrunklineHandle> {
  const loaded = await loadConfigFile(example);
  assert.ok(loaded.ok, loaded.ok ? "" : JSON.stringify(loaded.error));
  const config = loaded.value;
  return startTrunkline({
    ...config,
    sip: { ...config.sip, listen: config.sip.listen.map((l) => ({ ...l, port })) },
    storage: { ...config.storage, path: join(dir, "trunkline.db") },
    log: { level: "silent" },
    health: { ...config.health, enabled: false },
    http: { ...config.http, enabled: false },
  });
}

test("the loopback example carries an outbound and an inbound call and keeps their CDRs", { skip }, async () => {
  const port = await freePort("127.0.0.1");
  let server = await startExample(port);
  try {
    // Outbound: loadtest PBX (known by 127.0.4.0/24) -> Trunkline -> alpha gateway 1 at 127.0.2.1:5060.
    const alpha = runSipp({ scenario: "call-uas.xml", localAddress: "127.0.2.1", localPort: 5060, calls: 1, timeoutSec: 15 });
    const pbx = runSipp({
      scenario: "call-uac.xml",
      remote: `127.0.0.1:${port}`,
      localAddress: "127.0.4.1",
      calls: 1,
      timeoutSec: 15,
      service: "+15551230000",
      keys: { caller: "+15550300001" },
      callDurationMs: 300,
    });
    const [out, gw] = await Promise.all([pbx.done(), alpha.done()]);
    assert.equal(out.stats.successful, 1, out.output.slice(-1500));
    assert.equal(gw.stats.successful, 1, gw.output.slice(-1500));

    // Inbound: carrier beta (127.0.3.1) -> DID +15550300042 -> loadtest's PBX at 127.0.4.1:5060.
    const loadtestPbx = runSipp({ scenario: "call-uas.xml", localAddress: "127.0.4.1", localPort: 5060, calls: 1, timeoutSec: 15 });
    const beta = runSipp({
      scenario: "call-uac.xml",
      remote: `127.0.0.1:${port}`,
      localAddress: "127.0.3.1",
      calls: 1,
      timeoutSec: 15,
      service: "+15550300042",
      keys: { caller: "+442071234567" },
      callDurationMs: 300,
    });
    const [inb, callee] = await Promise.all([beta.done(), loadtestPbx.done()]);
    assert.equal(inb.stats.successful, 1, inb.output.slice(-1500));
    assert.equal(callee.stats.successful, 1, callee.output.slice(-1500));

    const live = server;
    await poll(() => live.calls.activeCalls().length === 0);
    const use = (id: string): number => {
      const c = live.calls.channelUse(id);
      return c.inbound + c.outbound;
    };
    assert.deepEqual(["loadtest", "alpha", "beta"].map(use), [0, 0, 0], "every channel released");
  } finally {
    await server.stop();
  }

  // A restart on the same file still has both records, closed, with their traces.
  server = await startExample(port);
  try {
    const { rows, total } = await server.storage.cdrs.search({});
    assert.equal(total, 2);
    const outbound = rows.find((r) => r.direction === "outbound");
    const inbound = rows.find((r) => r.direction === "inbound");
    assert.ok(outbound && inbound);
    assert.equal(outbound.customerId, "loadtest");
    assert.equal(outbound.carrierId, "alpha");
    assert.equal(outbound.calleeE164, "+15551230000");
    assert.equal(outbound.disposition, "answered");
    assert.equal(outbound.finalStatus, 200);
    assert.ok(outbound.durationMs > 0);
    assert.ok(outbound.trace.some((t) => t.step === "route"), "the trace names the route step");
    assert.equal(inbound.carrierId, "beta");
    assert.equal(inbound.customerId, "loadtest");
    assert.equal(inbound.calleeE164, "+15550300042");
    assert.equal(inbound.disposition, "answered");
  } finally {
    await server.stop();
  }
});
