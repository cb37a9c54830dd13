// Real attack tools against a running Trunkline on loopback: SIPVicious (svmap, svwar, svcrack,
// Debian package sipvicious) and a SIPp flood. Every run is bounded in count and time; the
// tools are stopped by PID. Skipped when a tool is missing (scripts/test.sh installs them).
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../support/ports.ts";
import { startProcess, stopAll } from "../support/processes.ts";
import { haveSipp, runSipp } from "../support/sipp.ts";
import { startTestServer, type TestServer } from "../support/trunkline.ts";

function have(tool: string): boolean {
  try {
    execFileSync("which", [tool], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const noSipvicious = have("svmap") && have("svwar") && have("svcrack") ? false : "sipvicious (svmap, svwar, svcrack) is not installed";
const noSipp = haveSipp() ? false : "sipp is not installed";

const ACCOUNT = "105";
const PASSWORD = "letmein-105";

function provisioning(scannerPatterns: string | null): string {
  return [
    // null: the default scanner list; "[]" turns User-Agent screening off to test the other defences alone.
    ...(scannerPatterns === null ? [] : ["security:", "  scanners:", `    patterns: ${scannerPatterns}`]),
    "provisioning:",
    "  customers:",
    `    - name: pbx${ACCOUNT}`,
    "      mode: registration",
    `      auth: { username: "${ACCOUNT}", password: "${PASSWORD}" }`,
    '      dids: ["+15550100000-+15550100009"]',
    "      channels: 2",
    "  carriers:",
    "    - name: beta",
    "      gateways:",
    '        - { uri: "sip:127.0.3.1:5060" }',
    '      sourceAddresses: ["127.0.3.0/24"]',
    "  routes:",
    '    - { prefix: "+1", carriers: [beta] }',
  ].join("\n");
}

/** Runs a tool to its end, killed by PID after maxMs. */
async function run(command: string, args: readonly string[], maxMs: number): Promise<string> {
  // Its own local port (sipvicious defaults to 5060), so a retransmission to the previous tool cannot reach it.
  const localPort = await freePort("127.0.0.1");
  const proc = startProcess(command, ["-P", String(localPort), ...args]);
  const timer = setTimeout(() => void proc.stop("SIGKILL"), maxMs);
  await proc.exited;
  clearTimeout(timer);
  return proc.output();
}

const dir = mkdtempSync(join(tmpdir(), "trunkline-attack-"));
after(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

describe("sipvicious with the default scanner screen", { skip: noSipvicious }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ protocols: ["udp"], extraYaml: provisioning(null) });
  });
  after(async () => server?.stop());
  beforeEach(() => {
    for (const b of server.handle.security.listBans()) server.handle.security.liftBan(b.address);
  });

  test("svmap gets no answer and its source is banned", async () => {
    const out = await run("svmap", ["-b", "127.0.0.1", "-p", String(server.udp.port), "-t", "0.2", "127.0.0.1"], 15_000);
    assert.doesNotMatch(out, /\| 127\.0\.0\.1:\d+ +\|/, out);
    assert.ok(server.handle.security.listBans().some((b) => b.address === "127.0.0.1"), "scanner source banned");
    assert.ok((server.handle.sip.counters.dropped.get("SCREENED_SCANNER-USER-AGENT") ?? 0) >= 1);
  });

  test("svwar REGISTER and INVITE over a range holding a real account enumerate none", async () => {
    for (const method of ["REGISTER", "INVITE"]) {
      const out = await run("svwar", ["-b", "127.0.0.1", "-m", method, "-e", "100-110", "-t", "0.2", "--maximumtime", "8", "--force", `udp://127.0.0.1:${server.udp.port}`], 20_000);
      assert.doesNotMatch(out, new RegExp(`\\| ${ACCOUNT} +\\|`), `${method}: ${out}`);
    }
  });
});

describe("sipvicious with User-Agent screening turned off", { skip: noSipvicious }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ protocols: ["udp"], extraYaml: provisioning("[]") });
  });
  after(async () => server?.stop());
  beforeEach(() => {
    for (const b of server.handle.security.listBans()) server.handle.security.liftBan(b.address);
  });

  test("svwar: every extension, real or not, gets the same challenge, so none is found", async () => {
    for (const method of ["REGISTER", "INVITE"]) {
      const out = await run("svwar", ["-b", "127.0.0.1", "-m", method, "-e", "100-110", "-t", "0.2", "--maximumtime", "8", "--force", `udp://127.0.0.1:${server.udp.port}`], 20_000);
      assert.doesNotMatch(out, new RegExp(`\\| ${ACCOUNT} +\\|`), `${method}: ${out}`);
      // It did reach us: the probes were answered (with one challenge for all), yet nothing stood out.
      assert.match(out, /found nothing/, `${method}: ${out}`);
    }
  });

  test("svcrack: the source is banned before it reaches the real password", async () => {
    const words = [...Array.from({ length: 15 }, (_, i) => `wrong-${i}`), PASSWORD, "after-1", "after-2"];
    const wordlist = join(dir, "words.txt");
    writeFileSync(wordlist, `${words.join("\n")}\n`);
    const out = await run("svcrack", ["-b", "127.0.0.1", "-u", ACCOUNT, "-d", wordlist, "-t", "0.2", "--maximumtime", "10", `udp://127.0.0.1:${server.udp.port}`], 25_000);
    assert.doesNotMatch(out, new RegExp(PASSWORD), out);
    const ban = server.handle.security.listBans().find((b) => b.address === "127.0.0.1");
    assert.ok(ban !== undefined, `source banned after failed digests: ${out}`);
  });
});

describe("SIPp flood", { skip: noSipp }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ protocols: ["udp"], extraYaml: provisioning(null) });
  });
  after(async () => server?.stop());

  test("an unknown source flooding OPTIONS is banned within a second; a carrier address keeps being answered", async (t) => {
    const remote = `127.0.0.1:${server.udp.port}`;
    const carrier = runSipp({ scenario: "options-uac.xml", remote, localAddress: "127.0.3.1", calls: 300, rate: 100, timeoutSec: 20, service: "ping" });
    const startedAt = Date.now();
    const flood = runSipp({ scenario: "flood-options.xml", remote, localAddress: "127.0.0.9", calls: 6000, rate: 3000, timeoutSec: 10, service: "flood" });
    let bannedAfter: number | undefined;
    while (Date.now() - startedAt < 5000) {
      if (server.handle.security.listBans().some((b) => b.address === "127.0.0.9")) {
        bannedAfter = Date.now() - startedAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const floodDone = await flood.done();
    const carrierDone = await carrier.done();
    assert.ok(server.handle.security.listBans().some((b) => b.address === "127.0.0.9"), "flood source banned");
    // Counted, not timed (the machine is shared): what gets past the screen before the ban is the
    // "other" burst (100) plus the refill (30/s) until the ban; a ban within a second lets at most
    // 130 through, and 130 requests of a 3000/s flood arrive in its first ~45 ms.
    const screened = Object.values(server.handle.security.stats().screened).reduce((a, b) => a + b, 0);
    const passed = floodDone.stats.created - screened;
    assert.ok(floodDone.stats.created >= 3000, `flood sent ${floodDone.stats.created}`);
    assert.ok(passed <= 130, `${passed} flood requests passed the screen before the ban`);
    t.diagnostic(`flood source banned after ${String(bannedAfter)} ms (seen by polling); ${passed} of ${floodDone.stats.created} requests passed before the ban`);
    assert.equal(carrierDone.stats.failed, 0, carrierDone.output);
    assert.equal(carrierDone.stats.successful, 300);
    assert.ok(!server.handle.security.listBans().some((b) => b.address.startsWith("127.0.3.")), "carrier never banned");
  });
});
