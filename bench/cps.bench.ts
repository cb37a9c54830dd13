// Call rate (calls per second) and memory per held call, over UDP on loopback:
//   SIPp UAC (the PBX) -> target -> SIPp UAS (the carrier),
// for each target in one run and measured the same way:
//   - "SIPp direct": UAC -> UAS with nothing between, the load generator's own ceiling;
//   - "Kamailio":    Debian's Kamailio as a dialog-stateful proxy (bench/kamailio/kamailio-cps.cfg);
//   - "Trunkline":   our B2BUA (bin/trunkline.js start), started by startTrunklineTarget().
// Goal (issue): Trunkline / Kamailio >= 1.0 and under 10 KiB per held call.
//
// Rate search: a run offers `rate` calls/s for BENCH_RUN_SEC seconds (rate x seconds calls, hold 0:
// INVITE/180/200/ACK/BYE/200, test/sipp/cps-*.xml). A run passes when fewer than 0.1% of its calls
// fail or are unfinished when SIPp's timeout ends it, and it ends within BENCH_RUN_SEC + slack
// (a target that cannot keep up makes SIPp fall behind its pacing, and the run takes longer).
// The rate doubles from BENCH_START_RATE until a run fails, then BENCH_BISECT_STEPS bisections
// between the last pass and the first failure. The figure is the highest passing rate.
//
// SIPp tuning that keeps the figures about the target and not the generator:
//   - 4 MiB UDP socket buffers (-buff_size; the kernel caps at net.core.rmem_max, checked below),
//     so bursts are queued rather than dropped and retransmitted;
//   - -default_behaviors all,-abortunexp on both sides: through a proxy with several workers or
//     a B2BUA, a 180 may arrive after the 200 or a BYE before the ACK; such a message is ignored
//     instead of aborting the call, for every target alike;
//   - one UDP socket per SIPp (-t u1), fixed local ports, a fresh UAS for every run.
//
// CPU per call: on a fresh instance of each target, after a 2 s warm-up, BENCH_CPU_RATE calls/s for
// BENCH_CPU_SEC seconds; the target's process-tree CPU time (utime + stime from /proc/<pid>/stat,
// all threads and worker processes) over the run and 1 s after it, divided by the calls completed.
// A shared machine moves the rate ceiling a lot but this figure little, so it is the one to compare
// changes with; the rate search still says where the ceiling is.
//
// Env: BENCH_CPU_RATE (600), BENCH_CPU_SEC (10), BENCH_RUN_SEC (3), BENCH_START_RATE (250), BENCH_MAX_RATE (16000), BENCH_BISECT_STEPS (3),
// BENCH_HELD_CALLS (5000), BENCH_HELD_RATE (250), BENCH_HELD_SETTLE_MS (40000), BENCH_KAMAILIO_CHILDREN (4),
// BENCH_PARTS (any of "cpu", "rate", "memory", comma separated; default all), BENCH_TARGETS (comma list of names to run, e.g. "kamailio,trunkline"), BENCH_TRUNKLINE_LADDER (1: SIP ladder capture on), BENCH_TRUNKLINE_FRAUD (on: every fraud rule), BENCH_TRUNKLINE_NODE_ARGS (node flags
// for the Trunkline process only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "../test/support/ports.ts";
import { startProcess, stopAll } from "../test/support/processes.ts";
import { runSipp, type SippRun } from "../test/support/sipp.ts";

const env = (name: string, fallback: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
const runSec = env("BENCH_RUN_SEC", 3);
const startRate = env("BENCH_START_RATE", 250);
const maxRate = env("BENCH_MAX_RATE", 16000);
const bisectSteps = env("BENCH_BISECT_STEPS", 3);
const heldCalls = env("BENCH_HELD_CALLS", 5000);
const heldRate = env("BENCH_HELD_RATE", 250);
const heldSettleMs = env("BENCH_HELD_SETTLE_MS", 40_000);
const kamailioChildren = env("BENCH_KAMAILIO_CHILDREN", 4);
const cpuRate = env("BENCH_CPU_RATE", 600);
const cpuSec = env("BENCH_CPU_SEC", 10);
// The bench customer runs without the sequential-dialing and burst fraud rules: a load test is a
// burst by design, and with them on the rate search soon measures a suspended trunk (every call
// refused with 403). The other fraud checks (destination, limits) run. BENCH_TRUNKLINE_FRAUD=on: all rules.
const fraudOff = process.env["BENCH_TRUNKLINE_FRAUD"] !== "on";
const onlyTargets = (process.env["BENCH_TARGETS"] ?? "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
// BENCH_PARTS: any of "cpu", "rate", "memory" (default all three), to repeat one part alone.
const parts = (process.env["BENCH_PARTS"] ?? "cpu,rate,memory").toLowerCase();

const root = resolve(import.meta.dirname, "..");
const maxFailedShare = 0.001;
const sippBufferBytes = 4 * 1024 * 1024;
const sippBehaviors = "all,-abortunexp";

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** A started system under test, between the PBX (SIPp UAC) and the carrier (SIPp UAS). */
export interface Target {
  readonly name: string;
  /** Where the PBX sends its INVITEs. */
  readonly entry: Endpoint;
  /** The PBX's source address (Trunkline identifies customer "loadtest" by it). */
  readonly pbxAddress: string;
  /** Where the carrier SIPp UAS must listen: the target relays every call there. */
  readonly carrier: Endpoint;
  /** The dialed number (SIPp -s, the Request-URI user part). */
  readonly dialed: string;
  /** Root PIDs of the target's processes, for memory (their descendants are counted too); empty for direct. */
  readonly pids: readonly number[];
  /** What the target printed so far, for BENCH_DEBUG (e.g. --trace-gc lines through BENCH_TRUNKLINE_NODE_ARGS). */
  output?(): string;
  stop(): Promise<void>;
}

interface TargetSpec {
  readonly name: string;
  /** Starts a fresh instance, or null when it cannot run here (the reason is printed). */
  start(): Promise<Target | null>;
}

// ---------------------------------------------------------------------------------------------
// Trunkline with the topology of examples/loopback: the PBX sends from 127.0.4.1 (customer
// "loadtest", identified by source address), Trunkline listens on 127.0.0.1:<free port>, the
// carrier gateway is a SIPp UAS at 127.0.2.1:5060. Limits are set above what the bench offers.
export const trunklineTopology = {
  pbxAddress: process.env["BENCH_PBX_ADDRESS"] ?? "127.0.4.1",
  listenHost: process.env["BENCH_TRUNKLINE_HOST"] ?? "127.0.0.1",
  carrier: {
    host: process.env["BENCH_CARRIER_HOST"] ?? "127.0.2.1",
    port: Number(process.env["BENCH_CARRIER_PORT"] ?? 5060),
  },
  dialed: process.env["BENCH_DIALED"] ?? "+15551230000",
} as const;

export async function startTrunklineTarget(): Promise<Target | null> {
  const t = trunklineTopology;
  const dir = mkdtempSync(join(tmpdir(), "trunkline-cps-"));
  const port = await freePort(t.listenHost);
  const config = join(dir, "trunkline.yaml");
  writeFileSync(
    config,
    [
      "sip:",
      `  listen: [{ protocol: udp, address: "${t.listenHost}", port: ${port} }]`,
      "storage:",
      `  path: ${JSON.stringify(join(dir, "trunkline.db"))}`,
      "log: { level: warn }",
      "health: { enabled: false }",
      // No API: the bench measures SIP, and a fixed HTTP port would collide with other instances.
      "http: { enabled: false }",
      // The B2BUA alone, like the Kamailio proxy (no siptrace); BENCH_TRUNKLINE_LADDER=1 measures it with per-call SIP capture.
      `trace: { sipLadder: { enabled: ${process.env["BENCH_TRUNKLINE_LADDER"] === "1"} } }`,
      // Signaling only, like the Kamailio proxy it is compared with; bench:media measures the relay.
      "media: { enabled: false }",
      "provisioning:",
      "  customers:",
      `    - { name: loadtest, mode: static, uri: "sip:${t.pbxAddress}:5060", sourceAddresses: ["${t.pbxAddress}/32"], dids: ["+15550300000-+15550399999"], channels: 100000${fraudOff ? ", fraud: { sequential: false, burst: false }" : ""} }`,
      "  carriers:",
      `    - { name: alpha, gateways: [{ uri: "sip:${t.carrier.host}:${t.carrier.port}" }], sourceAddresses: ["${t.carrier.host}/32"] }`,
      "  routes:",
      `    - { prefix: "+", carriers: [alpha] }`,
    ].join("\n"),
  );
  // BENCH_TRUNKLINE_NODE_ARGS: extra node flags for the target only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env["BENCH_TRUNKLINE_NODE_ARGS"] ?? "").split(" ").filter(Boolean);
  // The node flags the product starts with: those on bin/trunkline.js's shebang line.
  const productFlags = readFileSync(join(root, "bin/trunkline.js"), "utf8").split("\n", 1)[0]!.split(/\s+/).filter((f) => f.startsWith("--"));
  const proc = startProcess(process.execPath, [...productFlags, ...nodeArgs, join(root, "bin/trunkline.js"), "start", "--config", config]);
  // Ready when it answers an OPTIONS.
  for (let i = 0; i < 50; i++) {
    await sleep(200);
    const probe = runSipp({ scenario: "options-uac.xml", remote: `${t.listenHost}:${port}`, localAddress: "127.0.0.1", calls: 1, timeoutSec: 2, service: "ping" });
    const { stats } = await probe.done();
    if (stats.successful === 1) break;
    if (proc.child.exitCode !== null) {
      console.log(`Trunkline did not start:\n${proc.output()}`);
      rmSync(dir, { recursive: true, force: true });
      return null;
    }
  }
  return {
    name: "Trunkline",
    entry: { host: t.listenHost, port },
    pbxAddress: t.pbxAddress,
    carrier: t.carrier,
    dialed: t.dialed,
    pids: [proc.pid],
    output: () => proc.output(),
    async stop() {
      await proc.stop("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
// ---------------------------------------------------------------------------------------------

const directSpec: TargetSpec = {
  name: "SIPp direct",
  async start() {
    const carrier = { host: "127.0.2.1", port: await freePort("127.0.2.1") };
    return {
      name: "SIPp direct",
      entry: carrier,
      pbxAddress: "127.0.4.1",
      carrier,
      dialed: "+15551230000",
      pids: [],
      async stop() {},
    };
  },
};

function haveCommand(command: string, args: readonly string[]): boolean {
  try {
    execFileSync(command, args, { stdio: "ignore" });
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ENOENT";
  }
}

const kamailioSpec: TargetSpec = {
  name: "Kamailio",
  async start() {
    if (!haveCommand("kamailio", ["-v"])) {
      console.log("Kamailio: not installed (apt-get install kamailio), skipped");
      return null;
    }
    const carrier = { host: "127.0.2.1", port: await freePort("127.0.2.1") };
    const entry = { host: "127.0.3.1", port: await freePort("127.0.3.1") };
    const dir = mkdtempSync(join(tmpdir(), "trunkline-kamailio-"));
    // UDP workers (4 on 2 cores), 256 MB shm, 8 MB pkg: see the config's header.
    const proc = startProcess("kamailio", [
      "-f", join(root, "bench/kamailio/kamailio-cps.cfg"),
      "-DD", "-E",
      "-l", `udp:${entry.host}:${entry.port}`,
      "-A", `UAS_URI="sip:${carrier.host}:${carrier.port}"`,
      "-n", String(kamailioChildren), "-m", "256", "-M", "8",
      "-Y", dir, "-w", dir,
    ]);
    const stop = async (): Promise<void> => {
      const tree = descendants(proc.pid);
      await proc.stop("SIGTERM", 3000);
      // Kamailio's main process stops its workers; any straggler is ended by its own PID.
      for (const pid of tree) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      rmSync(dir, { recursive: true, force: true });
    };
    for (let i = 0; i < 50 && !proc.output().includes("Listening on"); i++) {
      if (proc.child.exitCode !== null) break;
      await sleep(100);
    }
    await sleep(300); // the workers bind after the banner
    if (proc.child.exitCode !== null || !proc.output().includes("Listening on")) {
      const out = proc.output();
      await stop();
      throw new Error(`kamailio did not start:\n${out}`);
    }
    return { name: "Kamailio", entry, pbxAddress: "127.0.4.1", carrier, dialed: "+15551230000", pids: [proc.pid], stop };
  },
};

const trunklineSpec: TargetSpec = {
  name: "Trunkline",
  async start() {
    const t = await startTrunklineTarget();
    if (t === null) console.log("Trunkline: not available yet");
    return t;
  },
};

// ---------------------------------------------------------------------------------------------
// Processes and memory

/** PIDs of pid's descendants, from the ppid field of /proc/<pid>/stat. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue;
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")".
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [pid];
  for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/**
 * Memory of a process tree in bytes: the sum of PSS (proportional set size) from
 * /proc/<pid>/smaps_rollup over the roots and their descendants. For one process (Trunkline) PSS
 * is its RSS less its share of shared libraries; for Kamailio, whose shared memory pool is mapped
 * by every worker, summing RSS would count each touched shm page once per worker, while PSS
 * divides it among them, so the sum counts it once.
 */
function treeMemoryBytes(roots: readonly number[]): number {
  let kb = 0;
  for (const pid of [...roots, ...roots.flatMap(descendants)]) {
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
      kb += Number(m?.[1] ?? 0);
    } catch {
      // exited meanwhile
    }
  }
  return kb * 1024;
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const clockTicksPerSec = ((): number => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system, every thread) of a process tree in ms, from /proc/<pid>/stat. */
function treeCpuMs(roots: readonly number[]): number {
  let ticks = 0;
  for (const pid of [...roots, ...roots.flatMap(descendants)]) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // After "pid (comm) ": state is field 3, utime field 14, stime field 15.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // exited meanwhile
    }
  }
  return (ticks * 1000) / clockTicksPerSec;
}

/** CPU ms per thread of a process tree, keyed "pid/tid comm" (for BENCH_DEBUG). */
function threadCpuMs(roots: readonly number[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of [...roots, ...roots.flatMap(descendants)]) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
        const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        out.set(`${pid}/${tid} ${comm}`, ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicksPerSec);
      } catch {
        // exited meanwhile
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Runs

function startCarrier(t: Target, timeoutSec: number): SippRun {
  return runSipp({
    scenario: "cps-uas.xml",
    localAddress: t.carrier.host,
    localPort: t.carrier.port,
    timeoutSec,
    defaultBehaviors: sippBehaviors,
    bufferBytes: sippBufferBytes,
  });
}

async function startPbx(t: Target, o: { calls: number; rate: number; holdMs: number; timeoutSec: number }): Promise<SippRun> {
  return runSipp({
    scenario: "cps-uac.xml",
    remote: `${t.entry.host}:${t.entry.port}`,
    localAddress: t.pbxAddress,
    localPort: await freePort(t.pbxAddress),
    calls: o.calls,
    rate: o.rate,
    limit: o.calls, // no cap on concurrent calls: falling behind shows in the run's duration
    timeoutSec: o.timeoutSec,
    service: t.dialed,
    callDurationMs: o.holdMs,
    defaultBehaviors: sippBehaviors,
    bufferBytes: sippBufferBytes,
  });
}

interface Trial {
  rate: number;
  pass: boolean;
  line: string;
}

async function trial(t: Target, rate: number): Promise<Trial> {
  const calls = Math.round(rate * runSec);
  const slackSec = Math.max(1.5, runSec * 0.1);
  const uas = startCarrier(t, runSec * 4 + 30);
  try {
    await sleep(300);
    const started = performance.now();
    const uac = await startPbx(t, { calls, rate, holdMs: 0, timeoutSec: Math.ceil(runSec + slackSec + 8) });
    const { code, stats, output } = await uac.done();
    const seconds = (performance.now() - started) / 1000;
    if (stats.created === 0) throw new Error(`SIPp UAC made no call (exit ${code}):\n${output.slice(-2000)}`);
    const failed = calls - stats.successful; // failed, unfinished at the timeout, or never created
    const pass = failed / calls < maxFailedShare && seconds <= runSec + slackSec;
    const line =
      `  ${t.name.padEnd(12)} ${String(rate).padStart(6)} cps x ${runSec} s: ${stats.successful}/${calls} ok, ` +
      `${failed} failed, ${stats.retransmissions} retrans, ${seconds.toFixed(2)} s -> ${pass ? "pass" : "FAIL"}`;
    console.log(line);
    if (!pass && process.env["BENCH_DEBUG"] && t.output !== undefined) console.log(t.output().slice(-3000));
    return { rate, pass, line };
  } finally {
    await uas.stop();
  }
}

/** Highest rate with under 0.1% failed calls: doubling, then bisection. */
async function searchRate(t: Target): Promise<number> {
  let lo = 0;
  let hi = 0;
  for (let rate = startRate; rate <= maxRate; rate *= 2) {
    const r = await trial(t, rate);
    await sleep(r.pass ? 500 : 3000); // after an overload, let retransmissions and timers drain
    if (!r.pass) {
      hi = rate;
      break;
    }
    lo = rate;
  }
  if (hi === 0) return lo; // passed up to maxRate
  for (let i = 0; i < bisectSteps; i++) {
    const mid = Math.round((lo + hi) / 2 / 10) * 10;
    if (mid <= lo || mid >= hi) break;
    const r = await trial(t, mid);
    await sleep(r.pass ? 500 : 3000);
    if (r.pass) lo = mid;
    else hi = mid;
  }
  return lo;
}

interface CpuResult {
  calls: number;
  failed: number;
  /** SIPp's retransmissions: a target falling behind does more work per call (and says so here). */
  retransmissions: number;
  cpuMs: number;
  msPerCall: number;
}

/** CPU ms per call at a fixed rate on a fresh instance (see the header); null for a target with no process. */
async function measureCpu(spec: TargetSpec): Promise<CpuResult | null> {
  const t = await spec.start();
  if (t === null || t.pids.length === 0) {
    await t?.stop();
    return null;
  }
  const uas = startCarrier(t, cpuSec * 4 + 60);
  try {
    await sleep(300);
    const warm = await startPbx(t, { calls: cpuRate * 2, rate: cpuRate, holdMs: 0, timeoutSec: 30 });
    await warm.done();
    await sleep(1000);
    const calls = Math.round(cpuRate * cpuSec);
    const threadsBefore = threadCpuMs(t.pids);
    const before = treeCpuMs(t.pids);
    const uac = await startPbx(t, { calls, rate: cpuRate, holdMs: 0, timeoutSec: cpuSec * 3 + 10 });
    const { stats } = await uac.done();
    await sleep(1000); // deferred work (CDR writes, transaction timers) belongs to these calls too
    const cpuMs = treeCpuMs(t.pids) - before;
    if (process.env["BENCH_DEBUG"]) {
      // Where the time went, by thread (main loop, worker threads, libuv pool, V8 GC helpers).
      for (const [name, ms] of threadCpuMs(t.pids)) {
        const used = ms - (threadsBefore.get(name) ?? 0);
        if (used > 0) console.log(`    ${name.padEnd(28)} ${used.toFixed(0)} ms`);
      }
      // With BENCH_TRUNKLINE_NODE_ARGS=--trace-gc: how many collections of each kind over the whole process life.
      const out = t.output?.() ?? "";
      for (const kind of ["Scavenge", "Mark-Compact", "Minor Mark-Sweep"]) {
        const n = out.split("\n").filter((l) => l.includes(kind)).length;
        if (n > 0) console.log(`    ${kind}: ${n}`, process.env["BENCH_DEBUG"] === "2" ? out.split("\n").filter((l) => l.includes(kind)).slice(-3).join("\n") : "");
      }
    }
    return { calls: stats.successful, failed: calls - stats.successful, retransmissions: stats.retransmissions, cpuMs, msPerCall: cpuMs / Math.max(1, stats.successful) };
  } finally {
    await uas.stop();
    await t.stop();
  }
}

interface HeldResult {
  held: number;
  bytesPerCall: number;
  beforeBytes: number;
  afterBytes: number;
}

/**
 * Memory per held call. On a fresh instance: a warm-up of 200 short calls, 1 s of rest, memory
 * "before" (treeMemoryBytes); then BENCH_HELD_CALLS calls set up at BENCH_HELD_RATE and held
 * (the UAC pauses 10 minutes before its BYE); once all are set up, BENCH_HELD_SETTLE_MS of rest
 * (longer than Kamailio's 5 s tm wait timer and than Trunkline's RFC 6026 Timers L and M, 64*T1 =
 * 32 s, in which an answered INVITE's transactions absorb retransmissions, so the INVITE
 * transactions are gone and only dialog state is left; with the former 6 s, Trunkline was measured
 * with all 10,000 of its INVITE transactions still alive), then samples every 2 s until two agree within 2%: memory "after".
 * Per call = (after - before) / calls held (the UAC's current calls, none failed).
 * A fresh instance, because pages touched and freed during the rate search would be reused
 * silently and hide the growth. The set-up rate is low (250/s) on purpose: resident memory keeps
 * its high-water mark, and the transactions alive during set-up (rate x how long they are kept,
 * ~5 s in Kamailio's tm) count in it. For Kamailio on a 2-core machine, setting 5,000 calls up
 * at 1,000/s gave ~16.7 KiB per call, at 250/s ~5.6 KiB: the held state is nearer the latter.
 */
async function measureHeld(spec: TargetSpec): Promise<HeldResult | null> {
  const t = await spec.start();
  if (t === null) return null;
  let uas: SippRun | undefined;
  let uac: SippRun | undefined;
  try {
    uas = startCarrier(t, 300);
    await sleep(300);
    const warm = await startPbx(t, { calls: 200, rate: 200, holdMs: 0, timeoutSec: 15 });
    await warm.done();
    await sleep(1000);
    const beforeBytes = treeMemoryBytes(t.pids);
    uac = await startPbx(t, { calls: heldCalls, rate: heldRate, holdMs: 600_000, timeoutSec: 300 });
    const deadline = performance.now() + (heldCalls / heldRate + 20) * 1000;
    while (performance.now() < deadline) {
      const s = uac.stats();
      if (s.created >= heldCalls || s.failed > 0) break;
      await sleep(250);
    }
    await sleep(heldSettleMs);
    // Then until the memory holds still: a sample every 2 s, until two agree within 2% (30 s at most).
    let afterBytes = treeMemoryBytes(t.pids);
    for (let i = 0; i < 15; i++) {
      await sleep(2000);
      const now = treeMemoryBytes(t.pids);
      if (process.env["BENCH_DEBUG"]) console.log(`  ${t.name} memory ${(now / 2 ** 20).toFixed(1)} MiB`);
      const stable = Math.abs(now - afterBytes) <= 0.02 * Math.max(1, afterBytes - beforeBytes);
      afterBytes = now;
      if (stable) break;
    }
    const s = uac.stats();
    const held = s.current;
    if (process.env["BENCH_DEBUG"] && t.output !== undefined) console.log(t.output().split("\n").filter((l) => l.includes("Mark-Compact") || l.includes("Scavenge")).slice(-6).join("\n"));
    if (held === 0) throw new Error(`no call held on ${t.name} (${s.failed} failed)`);
    if (held < heldCalls || s.failed > 0) console.log(`  ${t.name}: only ${held} of ${heldCalls} calls held, ${s.failed} failed`);
    return { held, beforeBytes, afterBytes, bytesPerCall: (afterBytes - beforeBytes) / held };
  } finally {
    await uac?.stop();
    await uas?.stop();
    await t.stop();
  }
}

// ---------------------------------------------------------------------------------------------

function checkSocketBuffers(): void {
  try {
    const max = Number(readFileSync("/proc/sys/net/core/rmem_max", "utf8").trim());
    if (max < sippBufferBytes) {
      console.log(`note: net.core.rmem_max is ${max}: SIPp's ${sippBufferBytes}-byte socket buffers are capped to it`);
    }
  } catch {
    // not Linux: nothing to check
  }
}

async function main(): Promise<void> {
  if (!haveCommand("sipp", ["-v"])) {
    console.log("sipp is not installed: nothing to measure");
    return;
  }
  checkSocketBuffers();
  const specs = [directSpec, kamailioSpec, trunklineSpec].filter(
    (s) => onlyTargets.length === 0 || onlyTargets.some((n) => s.name.toLowerCase().includes(n)),
  );
  const benchStart = performance.now();
  const cpu = new Map<string, CpuResult>();
  if (parts.includes("cpu")) console.log(`CPU per call: ${cpuRate} cps x ${cpuSec} s, target process CPU time / calls completed`);
  for (const spec of parts.includes("cpu") ? specs.filter((s) => s !== directSpec) : []) {
    const r = await measureCpu(spec);
    if (r === null) continue;
    cpu.set(spec.name, r);
    console.log(
      `  ${spec.name.padEnd(12)} ${r.calls} calls (${r.failed} failed, ${r.retransmissions} retrans), ${r.cpuMs.toFixed(0)} ms CPU: ${r.msPerCall.toFixed(3)} CPU ms per call`,
    );
  }

  const rates = new Map<string, number>();
  console.log(`\ncall rate: ${runSec} s runs, hold 0, highest rate with < ${maxFailedShare * 100}% failed calls`);
  for (const spec of parts.includes("rate") ? specs : []) {
    const t = await spec.start();
    if (t === null) continue;
    try {
      rates.set(spec.name, await searchRate(t));
    } finally {
      await t.stop();
    }
  }

  const held = new Map<string, HeldResult>();
  console.log(`\nmemory: ${heldCalls} concurrent held calls`);
  for (const spec of parts.includes("memory") ? specs.filter((s) => s !== directSpec) : []) {
    const r = await measureHeld(spec);
    if (r === null) continue;
    held.set(spec.name, r);
    console.log(
      `  ${spec.name.padEnd(12)} ${r.held} held: ${(r.beforeBytes / 2 ** 20).toFixed(1)} -> ${(r.afterBytes / 2 ** 20).toFixed(1)} MiB, ` +
        `${(r.bytesPerCall / 1024).toFixed(2)} KiB per call`,
    );
  }

  console.log(`\nresult (CPU ms per call at ${cpuRate} cps; highest call rate with < 0.1% failed; memory per held call):`);
  for (const spec of specs) {
    const rate = rates.get(spec.name);
    const mem = held.get(spec.name);
    const perCall = cpu.get(spec.name);
    const cpuText = perCall === undefined ? "" : `${perCall.msPerCall.toFixed(3)} CPU ms per call, `;
    const rateText = rate === undefined ? "rate not measured" : `${rate} cps`;
    const memText = mem === undefined ? "" : `, ${(mem.bytesPerCall / 1024).toFixed(2)} KiB per held call`;
    console.log(`  ${spec.name.padEnd(12)} ${cpuText}${rateText}${memText}`);
  }
  const cpuOurs = cpu.get(trunklineSpec.name)?.msPerCall;
  const cpuKam = cpu.get(kamailioSpec.name)?.msPerCall;
  if (cpuOurs !== undefined && cpuKam !== undefined) {
    console.log(`  CPU per call Trunkline / Kamailio: ${(cpuOurs / cpuKam).toFixed(2)} (lower is better)`);
  }
  const ours = rates.get(trunklineSpec.name);
  const kam = rates.get(kamailioSpec.name);
  const direct = rates.get(directSpec.name);
  const ratio = (a: number | undefined, b: number | undefined): string =>
    a === undefined || b === undefined || b === 0 ? "n/a" : (a / b).toFixed(2);
  console.log(`  ratio Trunkline / Kamailio: ${ratio(ours, kam)} (goal >= 1.0)`);
  console.log(`  ratio Trunkline / SIPp direct: ${ratio(ours, direct)}`);
  console.log(`  ratio Kamailio / SIPp direct: ${ratio(kam, direct)}`);
  const oursMem = held.get(trunklineSpec.name);
  console.log(`  Trunkline memory per held call: ${oursMem === undefined ? "n/a" : `${(oursMem.bytesPerCall / 1024).toFixed(2)} KiB`} (goal < 10 KiB)`);
  console.log(`bench time: ${((performance.now() - benchStart) / 1000).toFixed(0)} s`);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void stopAll().finally(() => process.exit(130));
  });
}
try {
  await main();
} finally {
  await stopAll(); // safety net: every process this run started, by its PID
}
