// Nothing committed is lost on a crash: Trunkline runs as its own process (bin/trunkline.js), one
// call ends normally, a second is up when the process is killed with SIGKILL. After a restart the
// finished call's CDR is there, answered, and the interrupted one is closed as `interrupted`.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { openSqliteStorage } from "../../src/storage/index.ts";
import { freePort } from "../support/ports.ts";
import { startProcess, stopAll, type RunningProcess } from "../support/processes.ts";
import { haveSipp, runSipp } from "../support/sipp.ts";
import { optionsProbe, udpPeer } from "../support/raw-sip.ts";

const skip = haveSipp() ? false : "sipp is not installed (scripts/test.sh installs it)";
const root = resolve(import.meta.dirname, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "trunkline-crash-"));

after(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the server process and waits until it answers OPTIONS. */
async function startServer(config: string, port: number): Promise<RunningProcess> {
  const proc = startProcess(process.execPath, [join(root, "bin/trunkline.js"), "start", "--config", config]);
  const target = { address: "127.0.0.1", port };
  for (let i = 0; i < 100; i++) {
    if (proc.child.exitCode !== null) throw new Error(`trunkline exited:\n${proc.output()}`);
    const peer = await udpPeer("127.0.0.1", 0, target);
    try {
      await peer.send(optionsProbe("UDP", { address: "127.0.0.1", port: peer.port }, target, i));
      await peer.waitFor(1, 200);
      if (peer.received.some((r) => r.status === 200)) return proc;
    } finally {
      await peer.close();
    }
  }
  throw new Error(`trunkline did not answer:\n${proc.output()}`);
}

test("a SIGKILL loses no finished call's CDR and closes the call that was up as interrupted", { skip }, async () => {
  const port = await freePort("127.0.0.1");
  const carrierPort = await freePort("127.0.2.1");
  const db = join(dir, "trunkline.db");
  const config = join(dir, "trunkline.yaml");
  writeFileSync(
    config,
    [
      `sip: { listen: [{ protocol: udp, address: 127.0.0.1, port: ${port} }] }`,
      `storage: { path: ${JSON.stringify(db)} }`,
      "log: { level: warn }",
      "http: { enabled: false }",
      "health: { enabled: false }",
      "provisioning:",
      "  customers:",
      '    - { name: loadtest, mode: static, uri: "sip:127.0.4.1:5060", sourceAddresses: ["127.0.4.0/24"], dids: ["+15550300000-+15550300099"] }',
      "  carriers:",
      `    - { name: alpha, gateways: [{ uri: "sip:127.0.2.1:${carrierPort}" }], sourceAddresses: ["127.0.2.0/24"] }`,
      "  routes:",
      '    - { prefix: "+1", carriers: [alpha] }',
    ].join("\n"),
  );

  let server = await startServer(config, port);
  const carrier = runSipp({ scenario: "call-uas.xml", localAddress: "127.0.2.1", localPort: carrierPort, calls: 2, timeoutSec: 30 });
  const call = (callee: string, holdMs: number) =>
    runSipp({
      scenario: "call-uac.xml",
      remote: `127.0.0.1:${port}`,
      localAddress: "127.0.4.1",
      calls: 1,
      timeoutSec: 30,
      service: callee,
      keys: { caller: "+15550300001" },
      callDurationMs: holdMs,
    });

  const finished = await call("+15551230001", 200).done();
  assert.equal(finished.stats.successful, 1, finished.output.slice(-1500));

  // The second call is answered and held when the process dies.
  const held = call("+15551230002", 20_000);
  await sleep(1500);
  await server.stop("SIGKILL");
  await held.stop();
  await carrier.stop();

  server = await startServer(config, port);
  await server.stop("SIGTERM");

  const storage = await openSqliteStorage({ path: db });
  try {
    const { rows } = await storage.cdrs.search({});
    const byCallee = new Map(rows.map((r) => [r.calleeE164, r]));
    const done = byCallee.get("+15551230001");
    const cut = byCallee.get("+15551230002");
    assert.ok(done, "the finished call's CDR survived the kill");
    assert.equal(done.disposition, "answered");
    assert.equal(done.hangupBy, "caller");
    assert.ok(done.endedAt !== null);
    assert.ok(cut, "the call that was up has a record");
    assert.equal(cut.disposition, "interrupted");
    assert.ok(cut.endedAt !== null, "closed at the next start");
  } finally {
    await storage.close();
  }
});
