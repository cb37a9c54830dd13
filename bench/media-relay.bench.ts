// `npm run bench:media`: N concurrent G.711 calls relayed on loopback, N stepped up, side by side
// in one run with a raw node:dgram forwarder (the floor of any Node relay), Trunkline's relay on
// its main thread and in worker threads, and Debian's rtpengine (userspace) when installed.
// Each call has two legs; each leg sends 50 packets/s of 172 octets (12-octet RTP header + 20 ms
// of G.711). The load comes from separate generator processes, so it shares no event loop with
// the relay; each generator owns both ends of its calls, writes its clock into every payload and
// reads it back at the receiver, so latency needs no clock sync. The generators are a small C
// program (bench/media-gen/media-gen.c, compiled here with `cc -O2` at start) because a node:dgram
// generator costs ~13 µs per packet and tops out before the relays do; without a C compiler, or
// with BENCH_GENERATOR=node, the Node generator in this file runs instead. The "direct" path
// (endpoints sending to each other, no relay) at the same N is the baseline the added latency is
// taken from. Reported per peer: the highest N with under 0.1% loss; added latency p50/p99 at each
// N; CPU of the relay process per 1000 packets relayed (from /proc/<pid>/stat, so the workers' and
// rtpengine's threads count too), and per step the time its threads waited for a CPU and the
// generators' CPU, to tell a busy machine or a starved load from a slow relay. The machine is
// shared: compare ratios within a run.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { type Socket, createSocket } from "node:dgram";
import { once } from "node:events";
import { existsSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { type Interface, createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseSdp, readStreams } from "../src/sdp/index.ts";
import { threadScheduling } from "../test/support/threads.ts";

const HOST = "127.0.0.1";
const PACKET_SIZE = 172;
const PPS_PER_LEG = 50;
const LOSS_LIMIT = 0.001;
const STEPS = (process.env["BENCH_STEPS"] ?? "100,200,400,700,1000,1400").split(",").map(Number);
const STEP_MS = Number(process.env["BENCH_STEP_SECONDS"] ?? 3) * 1000;
const WARMUP_MS = Number(process.env["BENCH_WARMUP_MS"] ?? 500);
// Generator processes: one C generator holds N=2000 in under a core, and on a small machine every
// extra process takes CPU from the relay; a Node one needs two to get that far.
const generatorCount = (c: boolean): number => Number(process.env["BENCH_GENERATORS"] ?? (c ? 1 : 2));
// Calls of one generator spread over this many socket pairs, so no single socket's buffer takes all the load.
const SOCKETS_PER_SIDE = Number(process.env["BENCH_SOCKETS"] ?? 16);
const PORT_MIN = Number(process.env["BENCH_PORT_MIN"] ?? 33000);
const PORT_MAX = Number(process.env["BENCH_PORT_MAX"] ?? 44999);
const RTPENGINE_PORT_MIN = Number(process.env["BENCH_RTPENGINE_PORT_MIN"] ?? 50000);
const RTPENGINE_PORT_MAX = Number(process.env["BENCH_RTPENGINE_PORT_MAX"] ?? 59999);
const BUFFER_BYTES = 4 << 20;
// Latency histogram: 10 µs bins up to 100 ms, then one overflow bin.
const BIN_US = 10;
const BINS = 10_000;
// The C generator's send timer period: each tick sends what is due, so a burst is about
// N x 2 x 50 x tick packets spread over the generators.
const TICK_US = Number(process.env["BENCH_TICK_US"] ?? 250);
// Arrival time for the C generator's latency: the kernel's receive stamp (default), so its own
// wake-up delay on a busy machine is not counted, or "app": its clock when it reads the packet.
const RX_STAMP = process.env["BENCH_RX_STAMP"] === "app" ? "app" : "kernel";
// BENCH_PIN=<relay cpus>/<generator cpus> (taskset lists, e.g. 1/0): each relay (every thread of
// it) and the generators get CPUs of their own, so "per core" means one core and the relays do not
// share theirs with the load. Unset: the scheduler places everything.
const PIN = parsePin(process.env["BENCH_PIN"]);
// BENCH_REALTIME=<priority 1-99>: the relays forward under SCHED_FIFO at that priority (Trunkline's
// media.realtimePriority, rtpengine's --scheduling=fifo --priority) and so does the C generator,
// so neither the load's timing nor the relay's waits depend on what else the scheduler runs.
// Unset: everything on the normal scheduler. Needs root or CAP_SYS_NICE.
const REALTIME = parseCount("BENCH_REALTIME", 99);
// rtpengine's --num-threads (its media threads); unset: the test helper's 2.
const RTPENGINE_THREADS = parseCount("BENCH_RTPENGINE_THREADS");
const GENERATOR_SOURCE = fileURLToPath(new URL("./media-gen/media-gen.c", import.meta.url));
const GENERATOR_BUILD = fileURLToPath(new URL("./media-gen/build/", import.meta.url));

type NodePeer = "raw-dgram" | "trunkline" | "trunkline-dgram" | "trunkline-workers";
type Peer = "direct" | NodePeer | "rtpengine";

/** One call as the generator sees it: its two endpoint sockets and where each sends. */
interface CallTarget {
  /** Index of the A and B socket (of this generator) the call's legs use. */
  readonly socket: number;
  readonly aSendsTo: number;
  readonly bSendsTo: number;
}

interface RunResult {
  readonly sent: number;
  readonly received: number;
  /** Packets the schedule asked for; sent below it means the generator could not keep up. */
  readonly due: number;
  readonly hist: number[];
}

// ------------------------------------------------------------------ shared helpers

function parsePin(text: string | undefined): { relay: string; generator: string } | undefined {
  if (text === undefined || text === "") return undefined;
  const m = /^([0-9,-]+)\/([0-9,-]+)$/.exec(text);
  if (m === null) throw new Error(`BENCH_PIN must be <relay cpus>/<generator cpus>, as 1/0, not ${text}`);
  return { relay: m[1]!, generator: m[2]! };
}

function parseCount(name: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === "") return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${name} must be a whole number from 1${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ""}, not ${text}`);
  return n;
}

/** Puts a single-threaded process (the C generator) under SCHED_FIFO at priority. */
function realtime(pid: number | undefined, priority: number | undefined): void {
  if (pid === undefined || priority === undefined) return;
  const r = spawnSync("chrt", ["-f", "-p", String(priority), String(pid)], { encoding: "utf8" });
  if (r.error !== undefined || r.status !== 0) throw new Error(`chrt -f ${priority} ${pid} failed: ${r.error?.message ?? r.stderr.trim()}`);
}

/** Moves every thread of a process (and the threads it starts later) to the given CPUs. */
function pin(pid: number | undefined, cpus: string | undefined): void {
  if (pid === undefined || cpus === undefined) return;
  const r = spawnSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { encoding: "utf8" });
  if (r.error !== undefined || r.status !== 0) throw new Error(`taskset ${cpus} ${pid} failed: ${r.error?.message ?? r.stderr.trim()}`);
}

// Every destination here is an IP literal: answering dgram's per-send lookup at once saves the
// default dns.lookup's queued callback per packet (the relay's sockets do the same).
const literal = (address: string, _family: unknown, cb: (e: Error | null, address: string, family: number) => void): void => cb(null, address, 4);

async function bind(port = 0, fast = true): Promise<Socket> {
  const s = fast ? createSocket({ type: "udp4", lookup: literal as never }) : createSocket("udp4");
  await new Promise<void>((resolve) => s.bind(port, HOST, () => resolve()));
  s.setRecvBufferSize(BUFFER_BYTES);
  s.setSendBufferSize(BUFFER_BYTES);
  return s;
}

/** Reads one JSON line per request from a child; requests are strictly one at a time. */
class LineChannel {
  private readonly lines: Interface;
  private readonly queue: string[] = [];
  private waiter: ((line: string) => void) | undefined;
  constructor(readonly child: ChildProcess) {
    this.lines = createInterface({ input: child.stdout! });
    this.lines.on("line", (line) => {
      if (!line.startsWith("{")) return;
      if (this.waiter !== undefined) {
        const w = this.waiter;
        this.waiter = undefined;
        w(line);
      } else this.queue.push(line);
    });
  }
  async next<T>(): Promise<T> {
    const line = this.queue.shift() ?? (await new Promise<string>((resolve) => (this.waiter = resolve)));
    return JSON.parse(line) as T;
  }
  async ask<T>(request: object): Promise<T> {
    this.child.stdin!.write(`${JSON.stringify(request)}\n`);
    return this.next<T>();
  }
  async stop(): Promise<void> {
    this.child.stdin!.end();
    if (this.child.exitCode === null && this.child.signalCode === null) await once(this.child, "exit");
  }
}

function child(role: string, ...args: string[]): LineChannel {
  // BENCH_CPU_PROF=<dir>: V8 CPU profiles of the relay processes, to find what a packet costs.
  const prof = process.env["BENCH_CPU_PROF"];
  const flags = prof !== undefined && role === "--relay" ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : [];
  const c = spawn(process.execPath, [...flags, "--import", "tsx", import.meta.filename, role, ...args], { stdio: ["pipe", "pipe", "inherit"] });
  return new LineChannel(c);
}

/**
 * Compiles the C generator into bench/media-gen/build (gitignored); returns the binary's path, or
 * why not (no compiler, a failed build) so the bench can say why it falls back to Node.
 */
function compileGenerator(): { path: string } | { why: string } {
  const out = `${GENERATOR_BUILD}media-gen`;
  mkdirSync(GENERATOR_BUILD, { recursive: true });
  const cc = process.env["CC"] ?? "cc";
  const r = spawnSync(cc, ["-O2", "-Wall", "-o", out, GENERATOR_SOURCE], { encoding: "utf8" });
  if (r.error !== undefined) return { why: `${cc}: ${r.error.message}` };
  if (r.status !== 0) return { why: `${cc} failed: ${r.stderr.trim()}` };
  return { path: out };
}

/** Starts one generator process: the compiled C one when given its path, else the Node one in this file. */
function generatorChild(binary: string | undefined): LineChannel {
  if (binary === undefined) {
    // Pinned but never real-time: a Node process under SCHED_FIFO on a pinned CPU can stall on its
    // own helper threads (a spinning waiter keeps the CPU from the thread it waits for).
    const ch = child("--generator");
    pin(ch.child.pid, PIN?.generator);
    return ch;
  }
  const args = ["--sockets", SOCKETS_PER_SIDE, "--bins", BINS, "--bin-us", BIN_US, "--pps", PPS_PER_LEG, "--size", PACKET_SIZE];
  args.push("--tick-us", TICK_US, "--rx-stamp", RX_STAMP, "--host", HOST);
  const c = spawn(binary, args.map(String), { stdio: ["pipe", "pipe", "inherit"] });
  pin(c.pid, PIN?.generator);
  realtime(c.pid, REALTIME);
  return new LineChannel(c);
}

/** Serves JSON-line requests on stdin/stdout until stdin ends. */
async function serveLines(handle: (request: Record<string, unknown>) => Promise<unknown>): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const reply = await handle(JSON.parse(line) as Record<string, unknown>);
    process.stdout.write(`${JSON.stringify(reply)}\n`);
  }
}

/** utime + stime of a process in ms (all its threads), from /proc; undefined off Linux. */
function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14 and 15 of proc(5), counted from after the command name (which is field 2).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

/**
 * Time all threads of a process spent runnable but waiting for a CPU, in ms (second field of
 * /proc/<pid>/task/<tid>/schedstat); undefined off Linux. High means the machine, not the relay, set the pace.
 */
function runQueueMs(pid: number): number | undefined {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[1]);
      } catch {
        // The thread ended meanwhile.
      }
    }
    return ns / 1e6;
  } catch {
    return undefined;
  }
}

function percentile(hist: readonly number[], p: number): number | undefined {
  const total = hist.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const rank = Math.ceil(total * p);
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i]!;
    if (seen >= rank) return ((i + 0.5) * BIN_US) / 1000;
  }
  return undefined;
}

// ------------------------------------------------------------------ generator process

/**
 * Owns SOCKETS_PER_SIDE A sockets and as many B sockets. A call's A end sends to aSendsTo and its
 * B end to bSendsTo, each 50 packets/s, paced by elapsed time so the rate holds however the
 * timers fire. Each payload carries the send time; the receiving socket bins the difference.
 */
async function generator(): Promise<void> {
  const aSockets = await Promise.all(Array.from({ length: SOCKETS_PER_SIDE }, () => bind()));
  const bSockets = await Promise.all(Array.from({ length: SOCKETS_PER_SIDE }, () => bind()));
  const hist = new Uint32Array(BINS + 1);
  let received = 0;
  // Only packets sent inside the measured window count, wherever they arrive.
  let measureFrom = Number.POSITIVE_INFINITY;
  let measureTo = Number.POSITIVE_INFINITY;
  const onMessage = (msg: Buffer): void => {
    if (msg.length < 20) return;
    const at = msg.readDoubleLE(12);
    if (at < measureFrom || at >= measureTo) return;
    received++;
    const us = (performance.now() - at) * 1000;
    hist[Math.min(BINS, Math.max(0, Math.floor(us / BIN_US)))]!++;
  };
  for (const s of [...aSockets, ...bSockets]) s.on("message", onMessage);
  // A ring of packet buffers: a buffer is written again only thousands of sends later, long after
  // the kernel has copied it, so the generator allocates nothing per packet.
  const ring = Array.from({ length: 8192 }, () => {
    // RTP version 2, payload type 0: PCMU, the codec both legs negotiate (the payload octets do not matter).
    const b = Buffer.alloc(PACKET_SIZE, 0xd5);
    b[0] = 0x80;
    b[1] = 0;
    return b;
  });
  let ringAt = 0;

  await serveLines(async (request) => {
    if (request["cmd"] === "ports") return { a: aSockets.map((s) => s.address().port), b: bSockets.map((s) => s.address().port) };
    const calls = request["calls"] as CallTarget[];
    const durationMs = request["ms"] as number;
    const warmupMs = request["warmupMs"] as number;
    const legs = calls.length * 2;
    const perMs = (legs * PPS_PER_LEG) / 1000;
    const seq = new Uint16Array(legs);
    let next = 0;
    let sent = 0;
    let due = 0;
    received = 0;
    hist.fill(0);
    const start = performance.now();
    measureFrom = start + warmupMs;
    measureTo = Number.POSITIVE_INFINITY;
    let sentAtMeasure = -1;
    let scheduled = 0;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const now = performance.now();
        const elapsed = now - start;
        if (sentAtMeasure < 0 && now >= measureFrom) sentAtMeasure = sent;
        if (elapsed >= warmupMs + durationMs) {
          measureTo = now;
          return resolve();
        }
        const target = Math.floor(elapsed * perMs);
        // Never more than 100 ms of backlog at once: past that the generator is the bottleneck.
        const burst = Math.min(target - scheduled, Math.ceil(perMs * 100));
        scheduled = target;
        for (let i = 0; i < burst; i++) {
          const leg = next;
          next = next + 1 === legs ? 0 : next + 1;
          const call = calls[leg >> 1]!;
          const fromA = (leg & 1) === 0;
          const b = ring[ringAt]!;
          ringAt = (ringAt + 1) & 8191;
          const s = (seq[leg] = (seq[leg]! + 1) & 0xffff);
          b.writeUInt16BE(s, 2);
          b.writeUInt32BE((s * 160) >>> 0, 4);
          b.writeUInt32BE(leg, 8);
          b.writeDoubleLE(performance.now(), 12);
          (fromA ? aSockets : bSockets)[call.socket]!.send(b, fromA ? call.aSendsTo : call.bSendsTo, HOST);
          sent++;
        }
        // A timer, not setImmediate: a spinning generator would take the CPU the relay needs.
        setTimeout(tick, 1);
      };
      tick();
    });
    due = Math.round(durationMs * perMs);
    const sentMeasured = sent - sentAtMeasure;
    // Let the last packets arrive before the count is taken.
    await new Promise((r) => setTimeout(r, 150));
    const result: RunResult = { sent: sentMeasured, received, due, hist: [...hist] };
    return result;
  });
  for (const s of [...aSockets, ...bSockets]) s.close();
}

// ------------------------------------------------------------------ relay process (Node peers)

function sdpText(port: number): string {
  return ["v=0", `o=- 1 1 IN IP4 ${HOST}`, "s=-", `c=IN IP4 ${HOST}`, "t=0 0", `m=audio ${port} RTP/AVP 0`, "a=rtpmap:0 PCMU/8000", ""].join("\r\n");
}

/** Serves calls for one Node peer: `calls` replaces the current calls with new ones between the given endpoints. */
async function relayServer(kind: NodePeer): Promise<void> {
  const { createMediaRelay, createWorkerMediaRelay } = await import("../src/media/index.ts");
  let closeCalls: () => Promise<void> = async () => {};
  let closeRelay: () => Promise<void> = async () => {};
  let addCall: (aPort: number, bPort: number) => Promise<{ aRelayPort: number; bRelayPort: number }>;
  if (kind === "raw-dgram") {
    const sockets: Socket[] = [];
    addCall = async (aPort, bPort) => {
      // Plain sockets, as a naive forwarder would have them.
      const a = await bind(0, false);
      const b = await bind(0, false);
      a.on("message", (msg) => b.send(msg, bPort, HOST));
      b.on("message", (msg) => a.send(msg, aPort, HOST));
      sockets.push(a, b);
      return { aRelayPort: a.address().port, bRelayPort: b.address().port };
    };
    closeCalls = async () => {
      for (const s of sockets.splice(0)) s.close();
    };
  } else {
    // trunkline and trunkline-workers use the default I/O (native when the addon is built);
    // trunkline-dgram is the node:dgram fallback.
    const io = kind === "trunkline-dgram" ? ("dgram" as const) : ("auto" as const);
    const options = {
      address: HOST,
      portMin: PORT_MIN,
      portMax: PORT_MAX,
      socketBufferBytes: 1 << 20,
      mediaTimeoutMs: 0,
      oneWayAfterMs: 0,
      io,
      ...(REALTIME === undefined || io === "dgram" ? {} : { realtimePriority: REALTIME }),
      // A refused real-time priority must show, or the run would be mislabelled.
      logger: {
        debug: () => {},
        info: () => {},
        warn: (obj: object, msg: string) => console.error(`${kind}: ${msg} ${JSON.stringify(obj)}`),
        error: (obj: object, msg: string) => console.error(`${kind}: ${msg} ${JSON.stringify(obj)}`),
      },
    };
    const relay = kind === "trunkline-workers" ? createWorkerMediaRelay({ ...options, workers: "auto" }) : createMediaRelay(options);
    if ("io" in relay) console.error(`${kind}: media I/O ${relay.io}`);
    const sessions: { close(): Promise<void> }[] = [];
    addCall = async (aPort, bPort) => {
      const session = relay.createSession();
      sessions.push(session);
      const parse = (text: string) => {
        const p = parseSdp(text);
        if (!p.ok) throw new Error("bad bench SDP");
        return p.value;
      };
      const toB = await session.offer("a", parse(sdpText(aPort)));
      const toA = await session.answer("b", parse(sdpText(bPort)));
      session.start();
      return { aRelayPort: readStreams(toA)[0]!.port, bRelayPort: readStreams(toB)[0]!.port };
    };
    closeCalls = async () => {
      await Promise.all(sessions.splice(0).map((s) => s.close()));
    };
    closeRelay = () => relay.close();
  }
  console.log(JSON.stringify({ ready: true, pid: process.pid }));
  await serveLines(async (request) => {
    await closeCalls();
    const pairs = request["pairs"] as [number, number][];
    const out: { aRelayPort: number; bRelayPort: number }[] = [];
    // Bounded concurrency: a burst of thousands of binds at once only adds contention.
    for (let i = 0; i < pairs.length; i += 50) {
      out.push(...(await Promise.all(pairs.slice(i, i + 50).map(([a, b]) => addCall(a, b)))));
    }
    return { relays: out.map((r) => [r.aRelayPort, r.bRelayPort]) };
  });
  await closeCalls();
  await closeRelay();
}

// ------------------------------------------------------------------ orchestrator

interface StepResult {
  readonly n: number;
  readonly loss: number;
  readonly generatorLimited: boolean;
  readonly p50: number | undefined;
  readonly p99: number | undefined;
  readonly cpuPer1000: number | undefined;
  readonly cpuPercent: number | undefined;
  /** CPU of all generator processes together over the same window: high means the load, not the relay, may be the limit. */
  readonly generatorCpuPercent: number | undefined;
  /** Time the relay's threads waited for a CPU, as a percentage of the window (can pass 100 with several threads). */
  readonly waitPercent: number | undefined;
  /** The relay's threads under a real-time policy during the step (only looked at with BENCH_REALTIME). */
  readonly realtimeThreads: number | undefined;
}

interface PeerHandle {
  readonly pid: number | undefined;
  /** Creates the step's calls (dropping the previous step's) and returns the relay ports of each. */
  calls(pairs: readonly [number, number][]): Promise<[number, number][]>;
  stop(): Promise<void>;
}

type RtpengineStarter = (opts: { portMin: number; portMax: number; realtimePriority?: number; threads?: number }) => Promise<
  { createCall(aPort: number, bPort: number): Promise<{ aRelayPort: number; bRelayPort: number }>; stop(): Promise<void> } | undefined
>;

// rtpengine's PID, found by the private port range it was started with (ours alone).
function rtpenginePid(portMin: number): number | undefined {
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
      if (cmd[0]?.endsWith("rtpengine") === true && cmd.includes(`--port-min=${portMin}`)) return Number(name);
    } catch {
      // Gone meanwhile.
    }
  }
  return undefined;
}

async function loadRtpengine(): Promise<RtpengineStarter | undefined> {
  const path = new URL("./rtpengine-peer.ts", import.meta.url);
  if (!existsSync(path)) return undefined;
  const mod = (await import(path.href)) as { startRtpenginePeer?: RtpengineStarter };
  return mod.startRtpenginePeer;
}

async function startPeer(peer: Peer, rtpengine: RtpengineStarter | undefined, stepIndex: number): Promise<PeerHandle | undefined> {
  if (peer === "direct") return { pid: undefined, calls: async (pairs) => pairs.map(([a, b]) => [b, a]), stop: async () => {} };
  if (peer === "rtpengine") {
    if (rtpengine === undefined) return undefined;
    // A fresh daemon per step, so calls of a step are all that run. Each gets the whole range (a
    // call takes 4 ports); the small offset keeps --port-min unique per step for the PID lookup.
    const portMin = RTPENGINE_PORT_MIN + 2 * stepIndex;
    const engine = await rtpengine({
      portMin,
      portMax: RTPENGINE_PORT_MAX,
      ...(REALTIME === undefined ? {} : { realtimePriority: REALTIME }),
      ...(RTPENGINE_THREADS === undefined ? {} : { threads: RTPENGINE_THREADS }),
    });
    if (engine === undefined) return undefined;
    const pid = rtpenginePid(portMin);
    pin(pid, PIN?.relay);
    return {
      pid,
      async calls(pairs) {
        const out: [number, number][] = [];
        for (let i = 0; i < pairs.length; i += 20) {
          const batch = await Promise.all(pairs.slice(i, i + 20).map(([a, b]) => engine.createCall(a, b)));
          out.push(...batch.map((r): [number, number] => [r.aRelayPort, r.bRelayPort]));
        }
        return out;
      },
      stop: () => engine.stop(),
    };
  }
  const ch = child("--relay", peer);
  const { pid } = await ch.next<{ pid: number }>();
  pin(pid, PIN?.relay);
  return {
    pid,
    calls: async (pairs) => (await ch.ask<{ relays: [number, number][] }>({ pairs })).relays,
    stop: () => ch.stop(),
  };
}

async function runStep(peer: PeerHandle, generators: readonly { ch: LineChannel; a: number[]; b: number[] }[], n: number): Promise<StepResult> {
  // Calls are dealt round-robin to generators and, within one, to its socket pairs.
  const plan = Array.from({ length: n }, (_, i) => {
    const g = i % generators.length;
    const local = Math.floor(i / generators.length);
    const socket = local % SOCKETS_PER_SIDE;
    return { g, socket, aPort: generators[g]!.a[socket]!, bPort: generators[g]!.b[socket]! };
  });
  const relays = await peer.calls(plan.map((p) => [p.aPort, p.bPort]));
  // SCHED_FIFO or SCHED_RR: shows BENCH_REALTIME took.
  const rtThreads = REALTIME === undefined || peer.pid === undefined ? undefined : threadScheduling(peer.pid).filter((t) => t.policy === 1 || t.policy === 2).length;
  const perGenerator = generators.map((_, g) =>
    plan.flatMap((p, i) => (p.g === g ? [{ socket: p.socket, aSendsTo: relays[i]![0], bSendsTo: relays[i]![1] }] : [])),
  );
  let cpuStart: number | undefined;
  let waitStart: number | undefined;
  let generatorCpuStart: number | undefined;
  const generatorsCpu = (): number | undefined =>
    generators.reduce<number | undefined>((sum, g) => {
      const ms = g.ch.child.pid === undefined ? undefined : cpuMs(g.ch.child.pid);
      return sum === undefined || ms === undefined ? undefined : sum + ms;
    }, 0);
  const cpuTimer = setTimeout(() => {
    cpuStart = peer.pid === undefined ? undefined : cpuMs(peer.pid);
    waitStart = peer.pid === undefined ? undefined : runQueueMs(peer.pid);
    generatorCpuStart = generatorsCpu();
  }, WARMUP_MS);
  const results = await Promise.all(generators.map((gen, g) => gen.ch.ask<RunResult>({ calls: perGenerator[g], ms: STEP_MS, warmupMs: WARMUP_MS })));
  clearTimeout(cpuTimer);
  const cpuEnd = peer.pid === undefined ? undefined : cpuMs(peer.pid);
  const waitEnd = peer.pid === undefined ? undefined : runQueueMs(peer.pid);
  const generatorCpuEnd = generatorsCpu();
  const sent = results.reduce((s, r) => s + r.sent, 0);
  const received = results.reduce((s, r) => s + r.received, 0);
  const due = results.reduce((s, r) => s + r.due, 0);
  const hist = new Array<number>(BINS + 1).fill(0);
  for (const r of results) r.hist.forEach((v, i) => (hist[i]! += v));
  // Packets sent in the last 150 ms of the window may still count as received: clamp at zero.
  const loss = sent === 0 ? 1 : Math.max(0, (sent - received) / sent);
  const cpu = cpuStart !== undefined && cpuEnd !== undefined ? cpuEnd - cpuStart : undefined;
  return {
    n,
    loss,
    generatorLimited: sent < due * 0.95,
    p50: percentile(hist, 0.5),
    p99: percentile(hist, 0.99),
    cpuPer1000: cpu === undefined || sent === 0 ? undefined : (cpu / sent) * 1000,
    cpuPercent: cpu === undefined ? undefined : (cpu / (STEP_MS + 150)) * 100,
    waitPercent: waitStart === undefined || waitEnd === undefined ? undefined : ((waitEnd - waitStart) / (STEP_MS + 150)) * 100,
    realtimeThreads: rtThreads,
    generatorCpuPercent:
      generatorCpuStart === undefined || generatorCpuEnd === undefined ? undefined : ((generatorCpuEnd - generatorCpuStart) / (STEP_MS + 150)) * 100,
  };
}

const fmt = (v: number | undefined, digits = 2): string => (v === undefined ? "-" : v.toFixed(digits));

async function main(): Promise<void> {
  const started = performance.now();
  const wanted = process.env["BENCH_GENERATOR"] ?? "c";
  if (wanted !== "c" && wanted !== "node") throw new Error(`BENCH_GENERATOR must be c or node, not ${wanted}`);
  let binary: string | undefined;
  let generatorNote = "Node (node:dgram, BENCH_GENERATOR=node)";
  if (wanted === "c") {
    const built = compileGenerator();
    if ("path" in built) {
      binary = built.path;
      generatorNote = `C (${built.path}, ${TICK_US} µs send tick, ${RX_STAMP} receive stamps)`;
    } else generatorNote = `Node (node:dgram): the C generator did not build, ${built.why}`;
  }
  const rtpengine = await loadRtpengine();
  const all: Peer[] = ["direct", "raw-dgram", "trunkline", "trunkline-workers", "trunkline-dgram", "rtpengine"];
  // BENCH_PEERS picks some (direct always runs: it is the latency baseline and the generators' check).
  const picked = process.env["BENCH_PEERS"]?.split(",");
  const peers = all.filter((p) => p === "direct" || picked === undefined || picked.includes(p));
  console.log(
    `media relay: N calls x 2 legs x ${PPS_PER_LEG} packets/s of ${PACKET_SIZE} octets, steps ${STEPS.join(",")}, ${STEP_MS / 1000} s each (+${WARMUP_MS} ms warm-up),`,
    `${generatorCount(binary !== undefined)} generator processes, ${availableParallelism()} cores, workers: auto`,
  );
  console.log(`load generator: ${generatorNote}`);
  console.log(PIN === undefined ? "CPUs: not pinned (BENCH_PIN=<relay>/<generator> pins them)" : `CPUs: relays on ${PIN.relay}, generators on ${PIN.generator} (BENCH_PIN)`);
  console.log(
    REALTIME === undefined
      ? "scheduling: normal (BENCH_REALTIME=<priority> runs relays and generators SCHED_FIFO)"
      : `scheduling: relays' forwarding threads${binary === undefined ? "" : " and the C generator"} SCHED_FIFO ${REALTIME} (BENCH_REALTIME; raw-dgram and trunkline-dgram have no such thread)`,
  );
  if (rtpengine === undefined) console.log("rtpengine: not installed");
  const generators = await Promise.all(
    Array.from({ length: generatorCount(binary !== undefined) }, async () => {
      const ch = generatorChild(binary);
      const { a, b } = await ch.ask<{ a: number[]; b: number[] }>({ cmd: "ports" });
      return { ch, a, b };
    }),
  );
  const results = new Map<Peer, StepResult[]>();
  const failed = new Set<Peer>();
  try {
    for (const [stepIndex, n] of STEPS.entries()) {
      let direct: StepResult | undefined;
      for (const peer of peers) {
        if (failed.has(peer)) continue;
        const handle = await startPeer(peer, rtpengine, stepIndex);
        if (handle === undefined) {
          if (peer === "rtpengine" && rtpengine !== undefined) console.log("rtpengine: not installed");
          failed.add(peer);
          continue;
        }
        let r: StepResult;
        try {
          r = await runStep(handle, generators, n);
        } finally {
          await handle.stop();
        }
        if (peer === "direct") direct = r;
        (results.get(peer) ?? results.set(peer, []).get(peer)!).push(r);
        const added = (x: number | undefined, y: number | undefined): number | undefined => (x === undefined || y === undefined || peer === "direct" ? x : x - y);
        console.log(
          `N=${String(n).padStart(5)} ${peer.padEnd(18)} loss ${(r.loss * 100).toFixed(3).padStart(7)}%`,
          `${peer === "direct" ? "latency" : "added"} p50 ${fmt(added(r.p50, direct?.p50), 3)} ms p99 ${fmt(added(r.p99, direct?.p99), 3)} ms`,
          `cpu ${fmt(r.cpuPer1000, 3)} ms/1000 pkts (${fmt(r.cpuPercent, 0)}% of a core, waited ${fmt(r.waitPercent, 0)}% for one; generators ${fmt(r.generatorCpuPercent, 0)}%)${r.realtimeThreads === undefined ? "" : ` [${r.realtimeThreads} SCHED_FIFO threads]`}${r.generatorLimited ? "  [generator could not keep the rate]" : ""}`,
        );
        if (r.loss >= LOSS_LIMIT || r.generatorLimited) failed.add(peer);
      }
      if (failed.has("direct")) {
        console.log(`the load generators themselves lose packets at N=${n}: higher N would measure them, not the relays`);
        break;
      }
    }
  } finally {
    await Promise.all(generators.map((g) => g.ch.stop()));
  }
  console.log("\nsummary (highest N with loss < 0.1%; latency added over the direct path at that N):");
  const directAt = (n: number): StepResult | undefined => results.get("direct")?.find((r) => r.n === n);
  let rtpengineBest: number | undefined;
  let trunklineBest = 0;
  for (const peer of peers) {
    const rs = results.get(peer);
    if (rs === undefined) continue;
    const ok = rs.filter((r) => r.loss < LOSS_LIMIT && !r.generatorLimited);
    const best = ok[ok.length - 1];
    if (peer === "rtpengine") rtpengineBest = best?.n;
    if (peer.startsWith("trunkline")) trunklineBest = Math.max(trunklineBest, best?.n ?? 0);
    const d = best === undefined ? undefined : directAt(best.n);
    const sub = (x: number | undefined, y: number | undefined): number | undefined => (x === undefined || y === undefined ? undefined : peer === "direct" ? x : x - y);
    console.log(
      `  ${peer.padEnd(18)} N=${best === undefined ? "none" : String(best.n).padStart(5)}`,
      best === undefined ? "" : `p50 ${fmt(sub(best.p50, d?.p50), 3)} ms p99 ${fmt(sub(best.p99, d?.p99), 3)} ms cpu ${fmt(best.cpuPer1000, 3)} ms/1000 pkts`,
      rs.length > ok.length || best === undefined ? "" : "(every step passed: the limit is higher)",
    );
  }
  if (rtpengineBest !== undefined) console.log(`ratio trunkline best N / rtpengine best N: ${(trunklineBest / rtpengineBest).toFixed(2)}`);
  // CPU per packet compared where both ran without loss: the figure least disturbed by a busy machine.
  const cpuAt = (peer: Peer, n: number): number | undefined => results.get(peer)?.find((r) => r.n === n && r.loss < LOSS_LIMIT)?.cpuPer1000;
  for (const peer of ["trunkline", "trunkline-workers", "trunkline-dgram"] as const) {
    for (const base of ["raw-dgram", "rtpengine"] as const) {
      const common = STEPS.filter((n) => cpuAt(peer, n) !== undefined && cpuAt(base, n) !== undefined).pop();
      if (common === undefined) continue;
      console.log(`cpu per packet ${peer} / ${base} at N=${common}: ${(cpuAt(peer, common)! / cpuAt(base, common)!).toFixed(2)}`);
    }
  }
  console.log(`run took ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

const role = process.argv[2];
if (role === "--generator") await generator();
else if (role === "--relay") await relayServer(process.argv[3] as NodePeer);
else await main();
