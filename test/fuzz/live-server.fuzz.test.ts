// A real Trunkline process (bin/trunkline.js) under mutated SIP over UDP and several TCP
// connections with random chunk boundaries (issue 5): first from a trusted source (never banned,
// so every message reaches the parser and the transaction layer), then from untrusted sources
// (banned along the way). Meanwhile and afterwards: the process lives, a clean source's OPTIONS is
// answered, a SIPp call completes during the untrusted fuzz (over TCP) and after it (over UDP),
// nothing at log level >= 50 and no uncaught error on stderr, and live memory (heap + external)
// after a forced GC does not grow with the messages.
// Bounded for CI; FUZZ_SECONDS=300 for a long run, FUZZ_SEED=n to replay the message sequence.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, type Socket as TcpSocket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "../support/ports.ts";
import { startProcess, stopAll, type RunningProcess } from "../support/processes.ts";
import { framer, optionsProbe, udpPeer, type Received } from "../support/raw-sip.ts";
import { haveSipp, runSipp } from "../support/sipp.ts";
import { poll } from "../support/until.ts";
import { Rng, fuzzSeed, mutate, randomChunks, realisticCorpus, tortureCorpus } from "./mutators.ts";

const skip = haveSipp() ? false : "sipp is not installed (scripts/test.sh installs it)";
const root = resolve(import.meta.dirname, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "trunkline-fuzz-"));
const seed = fuzzSeed();
const seconds = Number(process.env["FUZZ_SECONDS"] ?? "0");
// CI: 3 s warm-up, 8 s measured (trusted then untrusted); on demand the measured part is FUZZ_SECONDS.
const warmMs = seconds > 0 ? Math.min(30, Math.max(3, seconds / 10)) * 1000 : 3000;
const mainMs = seconds > 0 ? seconds * 1000 : 8000;
// Short RFC timers, so server transactions (Timer J/H = 64*T1) are gone before memory is compared.
const T1_MS = 25;
const SETTLE_MS = 64 * T1_MS + 1000;
// The leak bound on live memory (heapUsed + external after a forced GC): fixed slack for caches
// and JIT, plus a small allowance per message. Keeping even a tenth of each message fails it.
const HEAP_SLACK = 8 * 1024 * 1024;
const HEAP_PER_MESSAGE = 64;

// Loopback addresses of our own, so nobody else's test sees the replies or the bans.
const TRUSTED = "127.0.77.1";
const UNTRUSTED = ["127.0.78.1", "127.0.78.2", "127.0.78.3", "127.0.78.4"];
const CLEAN = "127.0.79.1";

after(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

interface Memory {
  heapUsed: number;
  /** Buffers and other memory held by JS objects outside the heap: a kept datagram lives here. */
  external: number;
  rss: number;
  gc: boolean;
}

/** What the server wrote that a test must look at: level >= 50 log entries and stderr. */
interface Findings {
  errors: string[];
  stderr: string;
  /** Log entries per message text, to show which paths the fuzz reached. */
  seen: Map<string, number>;
}

interface LogEntry {
  level?: number | string;
  msg?: string;
  code?: string;
  err?: { message?: string };
}

// pino's numeric levels, for a log written with level labels.
const LEVELS: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

function watch(proc: RunningProcess): Findings {
  const f: Findings = { errors: [], stderr: "", seen: new Map() };
  let pending = "";
  proc.child.stdout?.on("data", (d: Buffer) => {
    pending += d.toString("utf8");
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      try {
        const entry = JSON.parse(line) as LogEntry;
        const level = typeof entry.level === "number" ? entry.level : (LEVELS[entry.level ?? ""] ?? 0);
        const key = `${level} ${entry.msg ?? ""}`;
        f.seen.set(key, (f.seen.get(key) ?? 0) + 1);
        // Peers resetting connections mid-answer (EPIPE, ECONNRESET) are logged below error level:
        // anything at error or above here is a finding.
        if (level >= 50 && f.errors.length < 50) f.errors.push(line.slice(0, 2000));
      } catch {
        if (line.trim() !== "" && f.errors.length < 50) f.errors.push(`non-JSON stdout: ${line.slice(0, 500)}`);
      }
    }
  });
  proc.child.stderr?.on("data", (d: Buffer) => {
    if (f.stderr.length < 100_000) f.stderr += d.toString("utf8");
  });
  return f;
}

/** Asks the memory probe for heapUsed, external and RSS after a forced GC. */
async function memory(proc: RunningProcess): Promise<Memory> {
  const answer = once(proc.child, "message", { signal: AbortSignal.timeout(15_000) });
  proc.child.send("probe");
  const [m] = (await answer) as [Memory];
  return m;
}

/** True when an OPTIONS from the clean source is answered 200 (three tries). */
async function answersOptions(target: { address: string; port: number }, n: number): Promise<boolean> {
  const peer = await udpPeer(CLEAN, 0, target);
  try {
    for (let k = 0; k < 3; k++) {
      await peer.send(optionsProbe("UDP", { address: CLEAN, port: peer.port }, target, n * 10 + k));
      await peer.waitFor(k + 1, 1000);
      if (peer.received.some((r) => r.status === 200)) return true;
    }
    return false;
  } finally {
    await peer.close();
  }
}

/**
 * True when an OPTIONS over a fresh TCP connection from the clean source is answered 200. Used
 * while the fuzz runs: a UDP probe could be dropped by the kernel with the flood, a TCP one can't.
 */
async function answersOptionsTcp(target: { address: string; port: number }, n: number): Promise<boolean> {
  const sock = connect({ host: target.address, port: target.port, localAddress: CLEAN });
  const received: Received[] = [];
  sock.on("data", framer(received));
  sock.on("error", () => undefined);
  try {
    await once(sock, "connect");
    sock.write(optionsProbe("TCP", { address: CLEAN, port: sock.localPort ?? 0 }, target, n));
    return await poll(() => received.some((r) => r.status === 200), 10_000, 20);
  } catch {
    return false;
  } finally {
    sock.destroy();
  }
}

/** Resolves when the socket drains or closes (an error is followed by close); never rejects. */
function drained(sock: TcpSocket): Promise<void> {
  return new Promise((res) => {
    const done = () => {
      sock.off("drain", done);
      sock.off("close", done);
      res();
    };
    sock.on("drain", done);
    sock.on("close", done);
  });
}

/** Counts of what one fuzz phase sent. */
interface Sent {
  udp: number;
  tcp: number;
  connections: number;
}

/** Fires mutated messages from `sources` over UDP and 4 TCP connections each, until `ms` have passed. */
async function fuzz(rng: Rng, sources: readonly string[], target: { address: string; port: number }, ms: number, sent: Sent): Promise<void> {
  const deadline = Date.now() + ms;
  const torture = tortureCorpus();
  const udp: UdpSocket[] = [];
  for (const address of sources) {
    const sock = createSocket("udp4");
    sock.on("error", () => undefined);
    sock.on("message", () => undefined);
    sock.bind(0, address);
    await once(sock, "listening");
    udp.push(sock);
  }
  const udpLoop = async (sock: UdpSocket) => {
    const self = { address: sock.address().address, port: sock.address().port };
    let corpus = [...torture, ...realisticCorpus({ transport: "UDP", client: self, server: target })];
    for (let i = 0; Date.now() < deadline; i++) {
      if (i % 200 === 0) corpus = [...torture, ...realisticCorpus({ transport: "UDP", client: self, server: target }, i)];
      const m = mutate(rng, corpus);
      await new Promise<void>((res) => sock.send(m.bytes.subarray(0, 65_000), target.port, target.address, () => res()));
      sent.udp++;
      // Paced, so the server's socket buffer is not simply overrun and the test's own loop breathes.
      if (i % 20 === 19) await sleep(2);
    }
  };
  const tcpLoop = async (address: string) => {
    while (Date.now() < deadline) {
      const sock: TcpSocket = connect({ host: target.address, port: target.port, localAddress: address });
      let closed = false;
      sock.on("error", () => (closed = true));
      sock.on("close", () => (closed = true));
      sock.on("data", () => undefined);
      try {
        await once(sock, "connect");
      } catch {
        await sleep(20);
        continue;
      }
      sent.connections++;
      const self = { address, port: sock.localPort ?? 0 };
      const corpus = [...torture, ...realisticCorpus({ transport: "TCP", client: self, server: target }, sent.connections)];
      // A connection lives for a few messages, or until the server closes it on broken framing.
      for (let k = rng.range(1, 40); k > 0 && !closed && Date.now() < deadline; k--) {
        const m = rng.chance(0.3) ? { bytes: rng.pick(corpus) } : mutate(rng, corpus);
        for (const chunk of randomChunks(rng, m.bytes)) {
          if (closed) break;
          if (!sock.write(chunk)) await drained(sock);
          if (rng.chance(0.05)) await sleep(1);
        }
        sent.tcp++;
        if (k % 5 === 0) await sleep(1);
      }
      sock.destroy();
      // A banned source's connections are closed at once: do not spin on reconnecting.
      await sleep(closed ? 20 : 2);
    }
  };
  try {
    await Promise.all([...udp.map(udpLoop), ...sources.flatMap((a) => [0, 1, 2, 3].map(() => tcpLoop(a)))]);
  } finally {
    await Promise.all(udp.map((s) => new Promise<void>((res) => s.close(() => res()))));
  }
}

/** Where a SIPp call goes: carrier alpha over UDP, or carrier beta with both legs over TCP. */
interface CallLeg {
  readonly transport: "u1" | "t1";
  readonly carrier: { readonly address: string; readonly port: number };
  /** A number the route table sends to that carrier. */
  readonly service: string;
}

/** A SIPp call through the loadtest PBX and the leg's carrier, answered and hung up. */
async function sippCall(port: number, leg: CallLeg): Promise<{ successful: number; output: string }> {
  const carrier = runSipp({ scenario: "call-uas.xml", localAddress: leg.carrier.address, localPort: leg.carrier.port, transport: leg.transport, calls: 1, timeoutSec: 20 });
  try {
    const r = await runSipp({
      scenario: "call-uac.xml",
      remote: `127.0.0.1:${port}`,
      localAddress: "127.0.4.1",
      transport: leg.transport,
      calls: 1,
      timeoutSec: 20,
      service: leg.service,
      keys: { caller: "+15550300001" },
      callDurationMs: 200,
    }).done();
    return { successful: r.stats.successful, output: `${r.output.slice(-4000)}\n--- carrier side:\n${carrier.process.output().slice(-2000)}` };
  } finally {
    await carrier.stop();
  }
}

test(`a live server under fuzz stays up, answers, completes a call and does not leak (seed ${seed})`, { skip, timeout: mainMs + warmMs + 120_000 }, async () => {
  const port = await freePort("127.0.0.1");
  // Alpha takes the call after the fuzz over UDP; beta, over TCP, the call during it (see below).
  const udpLeg: CallLeg = { transport: "u1", carrier: { address: "127.0.2.1", port: await freePort("127.0.2.1") }, service: "+15551230001" };
  const tcpLeg: CallLeg = { transport: "t1", carrier: { address: "127.0.2.2", port: await freePort("127.0.2.2") }, service: "+15551290001" };
  const config = join(dir, "trunkline.yaml");
  writeFileSync(
    config,
    [
      "sip:",
      `  listen: [{ protocol: udp, address: 127.0.0.1, port: ${port} }, { protocol: tcp, address: 127.0.0.1, port: ${port} }]`,
      `  timers: { t1Ms: ${T1_MS}, t2Ms: 200, t4Ms: 250 }`,
      "  idleTimeoutMs: 5000",
      `storage: { path: ${JSON.stringify(join(dir, "trunkline.db"))} }`,
      "log: { level: warn }",
      "http: { enabled: false }",
      "health: { enabled: false }",
      `security: { trustedNetworks: ["${TRUSTED}/32"] }`,
      "provisioning:",
      "  customers:",
      '    - { name: loadtest, mode: static, uri: "sip:127.0.4.1:5060", sourceAddresses: ["127.0.4.0/24"], dids: ["+15550300000-+15550300099"] }',
      "  carriers:",
      `    - { name: alpha, gateways: [{ uri: "sip:127.0.2.1:${udpLeg.carrier.port}" }], sourceAddresses: ["127.0.2.1/32"] }`,
      `    - { name: beta, gateways: [{ uri: "sip:127.0.2.2:${tcpLeg.carrier.port};transport=tcp" }], sourceAddresses: ["127.0.2.2/32"] }`,
      "  routes:",
      '    - { prefix: "+1", carriers: [alpha] }',
      '    - { prefix: "+1555129", carriers: [beta] }',
    ].join("\n"),
  );
  const probe = join(root, "test/fuzz/memory-probe.ts");
  const server = startProcess(process.execPath, ["--expose-gc", "--import", "tsx", "--import", probe, join(root, "bin/trunkline.js"), "start", "--config", config], {
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  const findings = watch(server);
  const target = { address: "127.0.0.1", port };
  let up = false;
  for (let i = 0; i < 40 && !up && server.child.exitCode === null; i++) up = await answersOptions(target, i);
  assert.ok(up, `trunkline did not answer:\n${server.output().slice(-3000)}`);

  const rng = new Rng(seed);
  const warm: Sent = { udp: 0, tcp: 0, connections: 0 };
  await fuzz(rng, [TRUSTED], target, warmMs, warm);
  await sleep(SETTLE_MS);
  const before = await memory(server);
  assert.ok(before.gc, "the probe runs with --expose-gc");

  // Measured run: trusted for 60 %, untrusted (bans included) for 40 %, with liveness checks all along
  // and a SIPp call during the untrusted part.
  const sent: Sent = { udp: 0, tcp: 0, connections: 0 };
  let checks = 0;
  let failedChecks = 0;
  let fuzzing = true;
  const liveness = (async () => {
    while (fuzzing) {
      await sleep(2000);
      if (!fuzzing) break;
      checks++;
      if (!(await answersOptionsTcp(target, 1000 + checks))) failedChecks++;
    }
  })();
  let during: { successful: number; output: string };
  try {
    await fuzz(rng, [TRUSTED], target, mainMs * 0.6, sent);
    // A real call goes through while untrusted sources are being fuzzed and banned. Over TCP, both
    // legs, for the reason the liveness probe uses TCP: four untrusted UDP senders outrun the server,
    // so its one UDP socket sits at the receive-buffer cap (about 7 MB queued, thousands of
    // datagrams dropped by the kernel, seen in /proc/net/udp). A UDP call would then share that
    // queue: its INVITE waits a second or more, or the carrier's 180/200 is dropped, and with this
    // test's T1 of 25 ms Timer B (64*T1 = 1.6 s) ends the B leg with a 408 before the retransmissions
    // get through; SIPp's call-uas.xml neither retransmits its 200 nor absorbs a retransmitted
    // INVITE, so it aborts the call at the first one. That is UDP loss under overload, not a fault
    // of Trunkline's; over TCP nothing is dropped and nothing waits behind the datagram queue.
    [during] = await Promise.all([sippCall(port, tcpLeg), fuzz(rng, UNTRUSTED, target, mainMs * 0.4, sent)]);
  } finally {
    // Also on a failure: the probe loop would otherwise keep this test process alive.
    fuzzing = false;
  }
  await liveness;
  assert.equal(server.child.exitCode, null, `the server died:\n${findings.stderr.slice(-3000)}`);
  assert.equal(during.successful, 1, `the SIPp call during the untrusted fuzz failed (seed ${seed}):\n${during.output}`);

  await sleep(SETTLE_MS);
  const end = await memory(server);
  const messages = sent.udp + sent.tcp;
  const live = (m: Memory) => m.heapUsed + m.external;
  const growth = live(end) - live(before);
  const mb = (n: number) => (n / 1048576).toFixed(1);
  console.log(
    `fuzzed ${messages} messages (udp ${sent.udp}, tcp ${sent.tcp} over ${sent.connections} connections) after ${warm.udp + warm.tcp} warm-up; ` +
      `heapUsed+external ${mb(live(before))} -> ${mb(live(end))} MiB (${(growth / Math.max(1, messages)).toFixed(1)} B/message; heap ${mb(before.heapUsed)} -> ${mb(end.heapUsed)}), rss ${mb(before.rss)} -> ${mb(end.rss)} MiB; ` +
      `liveness ${checks - failedChecks}/${checks}; log entries: ${JSON.stringify(Object.fromEntries(findings.seen))}`,
  );

  assert.ok(await answersOptions(target, 9999), "a clean source's OPTIONS is answered after the fuzz");
  assert.equal(failedChecks, 0, `${failedChecks} of ${checks} OPTIONS probes during the fuzz went unanswered`);
  const call = await sippCall(port, udpLeg);
  assert.equal(call.successful, 1, `the SIPp call after the fuzz failed:\n${call.output.slice(-2000)}`);

  const bound = HEAP_SLACK + HEAP_PER_MESSAGE * messages;
  assert.ok(growth < bound, `heapUsed+external grew ${mb(growth)} MiB over ${messages} messages (bound ${mb(bound)} MiB)`);
  assert.equal(server.child.exitCode, null, "still running");
  const code = await server.stop("SIGTERM", 10_000);
  assert.deepEqual(findings.errors, [], "no log entry at level >= 50");
  // The untrusted phase met the defences (ACL, limits, rates), so it tested more than the parser.
  assert.ok([...findings.seen.keys()].some((k) => k.includes("security: ")), "security events were logged");
  assert.doesNotMatch(findings.stderr, /uncaught|unhandled|\n\s+at .+:\d+:\d+/i, findings.stderr.slice(0, 3000));
  assert.equal(code, 0, `exit code after SIGTERM\n${findings.stderr.slice(-2000)}`);
});
