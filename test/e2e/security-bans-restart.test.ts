// Bans survive a restart of the server process: Trunkline runs as its own process
// (bin/trunkline.js start), a SIPp OPTIONS flood gets 127.0.0.9 banned, `trunkline bans add` bans
// 203.0.113.7 by hand; after SIGTERM and a new start both bans are still listed by the API and the
// flooder is still dropped, while another source is answered. A lifted ban stays lifted.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "../support/ports.ts";
import { startProcess, stopAll, type RunningProcess } from "../support/processes.ts";
import { haveSipp, runSipp } from "../support/sipp.ts";
import { optionsProbe, udpPeer } from "../support/raw-sip.ts";

const skip = haveSipp() ? false : "sipp is not installed (scripts/test.sh installs it)";
const root = resolve(import.meta.dirname, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "trunkline-bans-restart-"));

after(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

/** Whether `from` gets an answer to OPTIONS within `ms`. */
async function answered(from: string, port: number, ms: number, n: number): Promise<boolean> {
  const target = { address: "127.0.0.1", port };
  const peer = await udpPeer(from, 0, target);
  try {
    await peer.send(optionsProbe("UDP", { address: from, port: peer.port }, target, n));
    await peer.waitFor(1, ms);
    return peer.received.some((r) => r.status === 200);
  } finally {
    await peer.close();
  }
}

/** Starts the server process and waits until it answers OPTIONS (from an address never banned here). */
async function startServer(config: string, port: number): Promise<RunningProcess> {
  const proc = startProcess(process.execPath, [join(root, "bin/trunkline.js"), "start", "--config", config]);
  for (let i = 0; i < 100; i++) {
    if (proc.child.exitCode !== null) throw new Error(`trunkline exited:\n${proc.output()}`);
    if (await answered("127.0.0.1", port, 200, i)) return proc;
  }
  throw new Error(`trunkline did not answer:\n${proc.output()}`);
}

/** Runs `trunkline bans ...` against the running server; its exit code and output. */
async function cli(config: string, ...args: string[]): Promise<{ code: number | string; out: string }> {
  const proc = startProcess(process.execPath, [join(root, "bin/trunkline.js"), "bans", ...args, "--config", config]);
  const code = await proc.exited;
  return { code, out: proc.output() };
}

interface BanRow {
  readonly address: string;
  readonly rule: string;
  readonly origin: string;
}

async function bans(httpPort: number): Promise<BanRow[]> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/api/v1/bans`, { signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200);
  return ((await res.json()) as { items: BanRow[] }).items;
}

test("bans placed by a flood and by `trunkline bans add` are still in force after a restart", { skip }, async () => {
  const port = await freePort("127.0.0.1");
  const httpPort = await freePort("127.0.0.1");
  const config = join(dir, "trunkline.yaml");
  writeFileSync(
    config,
    [
      `sip: { listen: [{ protocol: udp, address: 127.0.0.1, port: ${port} }] }`,
      `storage: { path: ${JSON.stringify(join(dir, "trunkline.db"))} }`,
      "log: { level: warn }",
      `http: { enabled: true, listen: "127.0.0.1:${httpPort}" }`,
      "health: { enabled: false }",
      "security: { trustedNetworks: [127.0.0.1/32] }",
    ].join("\n"),
  );

  let server = await startServer(config, port);
  try {
    const flood = runSipp({ scenario: "flood-options.xml", remote: `127.0.0.1:${port}`, localAddress: "127.0.0.9", calls: 600, rate: 2000, timeoutSec: 10, service: "flood" });
    await flood.done();
    const manual = await cli(config, "add", "203.0.113.7", "--reason", "seen in the fraud report");
    assert.equal(manual.code, 0, manual.out);
    const before = await bans(httpPort);
    assert.deepEqual(before.map((b) => b.address).sort(), ["127.0.0.9", "203.0.113.7"]);
    assert.equal(await answered("127.0.0.9", port, 300, 1), false, "the flooder is dropped");

    await server.stop("SIGTERM");
    server = await startServer(config, port);

    const afterRestart = await bans(httpPort);
    assert.deepEqual(
      afterRestart.map((b) => [b.address, b.origin]).sort(),
      [
        ["127.0.0.9", "auto"],
        ["203.0.113.7", "manual"],
      ],
    );
    assert.match(afterRestart.find((b) => b.address === "127.0.0.9")?.rule ?? "", /rate/);
    assert.equal(await answered("127.0.0.9", port, 300, 2), false, "the flooder is still dropped after the restart");
    assert.equal(await answered("127.0.0.8", port, 1000, 3), true, "another source is answered");
    const listed = await cli(config, "list");
    assert.match(listed.out, /203\.0\.113\.7\tuntil lifted\tmanual\tseen in the fraud report \(by api\)/);

    const lift = await cli(config, "lift", "203.0.113.7");
    assert.equal(lift.code, 0, lift.out);
    await server.stop("SIGTERM");
    server = await startServer(config, port);
    assert.deepEqual((await bans(httpPort)).map((b) => b.address), ["127.0.0.9"], "a lifted ban stays lifted");
  } finally {
    await server.stop("SIGTERM");
  }
});
