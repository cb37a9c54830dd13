// OPTIONS round trips per second over UDP: SIPp (client) -> Trunkline's whole stack, beside
// SIPp -> SIPp (the load generator's own ceiling) measured the same way in the same run.
// Closed loop: SIPp keeps `window` requests outstanding, so the rate is what the server sustains.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "../test/support/ports.ts";
import { startProcess } from "../test/support/processes.ts";
import { runSipp } from "../test/support/sipp.ts";

const requests = Number(process.env["BENCH_REQUESTS"] ?? 100_000);
const window = Number(process.env["BENCH_WINDOW"] ?? 200);
const root = resolve(import.meta.dirname, "..");

async function measure(target: string, label: string, count = requests): Promise<number> {
  const started = performance.now();
  const run = runSipp({
    scenario: "options-uac.xml",
    remote: target,
    localAddress: "127.0.0.1",
    calls: count,
    rate: 1_000_000,
    limit: window,
    timeoutSec: 120,
    service: "ping",
  });
  const { code, stats } = await run.done();
  const seconds = (performance.now() - started) / 1000;
  const rate = stats.successful / seconds;
  console.log(`${label.padEnd(28)} ${stats.successful} ok, ${stats.failed} failed in ${seconds.toFixed(2)} s: ${Math.round(rate)} req/s (sipp exit ${code})`);
  return rate;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "trunkline-bench-"));
  const port = await freePort();
  const config = join(dir, "bench.yaml");
  writeFileSync(
    config,
    `sip:\n  listen:\n    - { protocol: udp, address: 127.0.0.1, port: ${port} }\nstorage:\n  path: ${join(dir, "db.sqlite")}\nlog:\n  level: warn\n`,
  );
  const server = startProcess(process.execPath, [join(root, "bin/trunkline.js"), "start", "--config", config]);
  const peerPort = await freePort();
  const peer = runSipp({ scenario: "options-uas.xml", localAddress: "127.0.0.1", localPort: peerPort, timeoutSec: 600 });
  try {
    await sleep(1500);
    // The JIT needs a few thousand messages before the stack runs at its steady speed.
    await measure(`127.0.0.1:${port}`, "warm-up trunkline", 10_000).catch(() => 0);
    const ours = await measure(`127.0.0.1:${port}`, "SIPp -> Trunkline");
    const theirs = await measure(`127.0.0.1:${peerPort}`, "SIPp -> SIPp (peer)");
    console.log(`ratio Trunkline / SIPp-to-SIPp: ${(ours / theirs).toFixed(2)}`);
  } finally {
    await peer.stop();
    await server.stop("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
