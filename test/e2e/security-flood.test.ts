// An INVITE flood from an unknown source while real calls run: SIPp sends thousands of INVITEs a
// second from 127.0.0.9 for a few seconds; at the same time the trusted PBX (127.0.1.1) places
// calls out through the carrier and the carrier (127.0.2.1) places calls in to the PBX. The flooder
// is banned after its burst allowance (so within a second at this rate: the test counts requests,
// it does not time them), every legitimate call completes, and the process CPU over the flood is
// reported (not asserted: the machine is shared).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { freePort } from "../support/ports.ts";
import { stopAll } from "../support/processes.ts";
import { haveSipp, runSipp } from "../support/sipp.ts";
import { startTestServer, type TestServer } from "../support/trunkline.ts";

const skip = haveSipp() ? false : "sipp is not installed (scripts/test.sh installs it)";

const FLOOD_RATE = 3000;
const FLOOD_SECONDS = 3;
// At 10 calls a second each way, the calls span a calls-only window and then the whole flood.
const CALLS_EACH_WAY = 70;
const FLOOD_CALLEE = "+19005550199";

/** CPU time as a percentage of one core over `wallMs`. */
function pct(cpu: NodeJS.CpuUsage, wallMs: number): number {
  return Math.round(((cpu.user + cpu.system) / 1000 / wallMs) * 100);
}

describe("INVITE flood with calls completing", { skip }, () => {
  let server: TestServer;
  let pbxPort = 0;
  let carrierPort = 0;
  before(async () => {
    pbxPort = await freePort("127.0.1.1");
    carrierPort = await freePort("127.0.2.1");
    server = await startTestServer({
      protocols: ["udp"],
      extraYaml: [
        "health: { enabled: false }",
        "provisioning:",
        "  customers:",
        "    - name: pbx",
        "      mode: static",
        `      uri: "sip:127.0.1.1:${pbxPort}"`,
        '      sourceAddresses: ["127.0.1.1"]',
        '      dids: ["+15550100000-+15550100099"]',
        "  carriers:",
        "    - name: alpha",
        `      gateways: [{ uri: "sip:127.0.2.1:${carrierPort}" }]`,
        '      sourceAddresses: ["127.0.2.0/24"]',
        "  routes:",
        '    - { prefix: "+1", carriers: [alpha] }',
      ].join("\n"),
    });
  });
  after(async () => {
    await stopAll();
    await server?.stop();
  });

  test("the flooder is banned after its burst, PBX and carrier calls all complete", async (t) => {
    const remote = `127.0.0.1:${server.udp.port}`;
    const common = { remote, calls: CALLS_EACH_WAY, rate: 10, timeoutSec: 60, callDurationMs: 300, defaultBehaviors: "all,-bye" } as const;
    // The carrier's gateway answers the PBX's calls; the PBX answers the carrier's.
    const gateway = runSipp({ scenario: "call-uas.xml", localAddress: "127.0.2.1", localPort: carrierPort, calls: CALLS_EACH_WAY, timeoutSec: 60 });
    const pbx = runSipp({ scenario: "call-uas.xml", localAddress: "127.0.1.1", localPort: pbxPort, calls: CALLS_EACH_WAY, timeoutSec: 60 });
    const outbound = runSipp({ ...common, scenario: "call-uac.xml", localAddress: "127.0.1.1", service: "+13125550100", keys: { caller: "+15550100001" } });
    const inbound = runSipp({ ...common, scenario: "call-uac.xml", localAddress: "127.0.2.1", service: "+15550100042", keys: { caller: "+13125550111" } });

    // Calls alone first, for a CPU figure to compare the flood's with; then the flood.
    await new Promise((r) => setTimeout(r, 500));
    const quietCpuBefore = process.cpuUsage();
    const quietStart = Date.now();
    await new Promise((r) => setTimeout(r, FLOOD_SECONDS * 1000));
    const quietCpu = process.cpuUsage(quietCpuBefore);
    const quietWallMs = Date.now() - quietStart;
    const cpuBefore = process.cpuUsage();
    const floodStart = Date.now();
    const flood = runSipp({
      scenario: "flood-invite.xml",
      remote,
      localAddress: "127.0.0.9",
      calls: FLOOD_RATE * FLOOD_SECONDS,
      rate: FLOOD_RATE,
      timeoutSec: FLOOD_SECONDS + 10,
      service: FLOOD_CALLEE,
    });
    let firstSeenBanned: number | undefined;
    while (Date.now() - floodStart < (FLOOD_SECONDS + 5) * 1000 && flood.process.child.exitCode === null) {
      if (firstSeenBanned === undefined && server.handle.security.listBans().some((b) => b.address === "127.0.0.9")) firstSeenBanned = Date.now();
      await new Promise((r) => setTimeout(r, 10));
    }
    const floodOut = await flood.done();
    const floodWallMs = Date.now() - floodStart;
    const cpu = process.cpuUsage(cpuBefore);

    const [out, inn, gw, callee] = await Promise.all([outbound.done(), inbound.done(), gateway.done(), pbx.done()]);
    assert.equal(out.stats.successful, CALLS_EACH_WAY, `PBX -> carrier calls:\n${out.output.slice(-1500)}`);
    assert.equal(out.stats.failed, 0);
    assert.equal(inn.stats.successful, CALLS_EACH_WAY, `carrier -> PBX calls:\n${inn.output.slice(-1500)}`);
    assert.equal(inn.stats.failed, 0);
    // The answering sides' stat files are written once a second, so their last line may lag: their
    // exit status says whether every call they took went through the whole scenario.
    assert.equal(gw.code, 0, `carrier gateway:\n${gw.output.slice(-1500)}`);
    assert.equal(callee.code, 0, `PBX:\n${callee.output.slice(-1500)}`);

    const ban = server.handle.security.listBans().find((b) => b.address === "127.0.0.9");
    assert.ok(ban !== undefined, "the flooder is banned");
    assert.match(ban.rule, /rate/);
    assert.ok(!server.handle.security.listBans().some((b) => b.address.startsWith("127.0.1.") || b.address.startsWith("127.0.2.")), "PBX and carrier never banned");
    // The flooder's INVITEs that reached the call layer were refused (unknown source) and each has
    // a CDR; the rest were dropped by the screen. What gets through is the INVITE burst (30) plus
    // the refill (10/s) until the ban: a ban within a second lets at most 40 through, and 40
    // INVITEs of a FLOOD_RATE flood arrive in its first ~15 ms. Counted, not timed.
    const reached = (await server.handle.storage.cdrs.search({ number: FLOOD_CALLEE, limit: 1000 })).total;
    const sent = floodOut.stats.created;
    assert.ok(sent >= FLOOD_RATE, `the flood was sent (${sent} INVITEs)`);
    assert.ok(reached <= 40, `${reached} flood INVITEs reached the call layer before the ban`);
    const screened = server.handle.security.stats().screened;
    const dropped = Object.values(screened).reduce((a, b) => a + b, 0);
    assert.ok(dropped >= sent / 2, `most of the flood was dropped by the screen (${dropped} of ${sent})`);

    t.diagnostic(
      `flood: ${sent} INVITEs at ${FLOOD_RATE}/s from 127.0.0.9; ${reached} reached the call layer; ${dropped} screened; ` +
        `ban placed ${ban.createdAt - floodStart} ms after the flood process started (seen by the test after ${String((firstSeenBanned ?? NaN) - floodStart)} ms); ` +
        `server process CPU: calls alone ${pct(quietCpu, quietWallMs)}% of one core, calls + flood ${pct(cpu, floodWallMs)}% (${Math.round((cpu.user + cpu.system) / 1000)} ms over ${floodWallMs} ms; SIPp not included); ` +
        `${CALLS_EACH_WAY} PBX->carrier and ${CALLS_EACH_WAY} carrier->PBX calls all completed`,
    );
  });
});
