/**
 * The media relay in worker threads, so RTP does not compete with signaling for the main event
 * loop. Each worker (relay-worker.ts) runs an ordinary relay over its own slice of the port range;
 * the main thread keeps control: a session is pinned to the least loaded worker when created,
 * and offer/answer/start/DTMF/release are messages to it. Events come back as they happen,
 * quality every report interval and at release, so `qualityReport` answers from a last-known copy.
 * A worker that dies is a bug: it is logged, its calls' media is gone (the thread's sockets close
 * with it), their requests fail with MEDIA_CLOSED, and a fresh worker takes its port slice.
 */
import { availableParallelism } from "node:os";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { randomToken } from "../../lib/index.ts";
import type { SessionDescription } from "../../sdp/index.ts";
import { MediaRelayError } from "./errors.ts";
import { selectIo } from "./native-io.ts";
import { dgramIo } from "./udp-io.ts";
import { checkRealtimePriority, optionalRelaySettings, type MediaSessionEvent, type MediaSessionOptions, type OfferOptions, type RelaySettings, type StreamQuality } from "./media-relay.ts";
import type { MediaRelayControl, MediaSessionControl } from "./relay-control.ts";
import type { LegName, RelayLogger } from "./relay-session.ts";
import { type LegMediaOptions, DEFAULT_LEG_MEDIA } from "./stream-media.ts";
import type { AnchoredReply, FromWorker, SessionReport, StreamPorts, ToWorker, WorkerError, WorkerRelayInit } from "./worker-protocol.ts";

/** A logger that can also report bugs (a dying worker); a pino logger fits. */
export interface WorkerRelayLogger extends RelayLogger {
  error(obj: object, msg: string): void;
  isLevelEnabled?(level: string): boolean;
}

/** Options of the worker relay: those of the in-thread relay (no clock: workers run on real time) plus the thread count. */
export interface WorkerMediaRelayOptions extends RelaySettings {
  /** Threads; "auto" (default): one per core. The port range is split between them. */
  readonly workers?: number | "auto";
  /** How often workers push the quality of answered calls. Default 1000 ms. */
  readonly reportIntervalMs?: number;
  readonly logger?: WorkerRelayLogger;
}

/** The worker relay: what the call layer drives plus what tests and operators look at. */
export interface WorkerMediaRelay extends MediaRelayControl {
  /** Number of worker threads. */
  readonly workers: number;
  session(id: string): MediaSessionControl | undefined;
  activeSessions(): MediaSessionControl[];
  /** The worker a session is pinned to. */
  workerOf(sessionId: string): number | undefined;
  /** Ports bound in all workers, asked of each (every session's quality is pushed on the way). */
  portsInUse(): Promise<number>;
  /** Throws an uncaught error inside a worker, as a relay bug would (tests of the recovery). */
  crashWorker(index: number, message?: string): void;
}

const DEFAULT_REPORT_INTERVAL_MS = 1000;
const SHUTDOWN_GRACE_MS = 3000;
// A worker that keeps dying is not restarted forever: at most this many restarts per minute.
const MAX_RESTARTS_PER_MINUTE = 5;

type Reply = AnchoredReply | boolean | number | SessionReport | null;
type Request = ToWorker extends infer T ? (T extends { readonly id: number } ? Omit<T, "id"> : never) : never;

function errorFrom(e: WorkerError): Error {
  if (e.code === undefined) return new Error(e.message);
  return new MediaRelayError(e.code, e.message, e.warnCode === undefined ? {} : { warnCode: e.warnCode });
}

/** Splits [portMin, portMax] into `n` slices of whole RTP/RTCP pairs, each starting on an even port. */
export function splitPortRange(portMin: number, portMax: number, n: number): { portMin: number; portMax: number }[] {
  const firstEven = portMin % 2 === 0 ? portMin : portMin + 1;
  const pairs = Math.floor((portMax - firstEven + 1) / 2);
  const count = Math.max(1, Math.min(n, pairs));
  const per = Math.floor(pairs / count);
  return Array.from({ length: count }, (_, i) => ({
    portMin: firstEven + 2 * per * i,
    portMax: i === count - 1 ? portMax : firstEven + 2 * per * (i + 1) - 1,
  }));
}

// Under tsx (a clone running the sources) a worker must register the TypeScript loader itself;
// a built package runs the compiled .js directly.
function spawnWorker(init: WorkerRelayInit): Worker {
  const ext = extname(fileURLToPath(import.meta.url));
  const entry = new URL(`./relay-worker${ext}`, import.meta.url);
  if (ext !== ".ts") return new Worker(entry, { workerData: init });
  const tsx = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(boot, { eval: true, workerData: init });
}

class ProxySession implements MediaSessionControl {
  readonly listeners = new Set<(event: MediaSessionEvent) => void>();
  reports: readonly (StreamQuality | null)[] = [];
  held = false;
  ports: readonly StreamPorts[] = [];
  private closing: Promise<void> | undefined;

  constructor(
    readonly id: string,
    readonly thread: RelayThread,
    private readonly legs: { readonly a: LegMediaOptions; readonly b: LegMediaOptions },
    private readonly forget: (session: ProxySession) => void,
  ) {}

  get closed(): boolean {
    return this.closing !== undefined;
  }

  private anchor(request: Request): Promise<SessionDescription> {
    if (this.closing !== undefined) return Promise.reject(new MediaRelayError("MEDIA_CLOSED", `media session ${this.id} closed`));
    return this.thread.request(request).then((value) => {
      const r = value as AnchoredReply;
      this.held = r.held;
      this.ports = r.ports;
      return r.sdp;
    });
  }

  offer(from: LegName, sdp: SessionDescription, options: OfferOptions = {}): Promise<SessionDescription> {
    return this.anchor({ op: "offer", session: this.id, from, sdp, options });
  }

  answer(from: LegName, sdp: SessionDescription): Promise<SessionDescription> {
    return this.anchor({ op: "answer", session: this.id, from, sdp });
  }

  start(): void {
    if (this.closing === undefined) this.thread.send({ op: "start", session: this.id });
  }

  on(listener: (event: MediaSessionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  legOptions(leg: LegName): LegMediaOptions {
    return this.legs[leg];
  }

  async queueDtmf(toLeg: LegName, digit: string, durationMs: number): Promise<boolean> {
    if (this.closing !== undefined) return false;
    return (await this.thread.request({ op: "dtmf", session: this.id, toLeg, digit, durationMs })) === true;
  }

  qualityReport(index = 0): StreamQuality | undefined {
    return this.reports[index] ?? undefined;
  }

  onHold(): boolean {
    return this.held;
  }

  localPort(leg: LegName, index = 0): number | undefined {
    return this.ports[index]?.[leg];
  }

  /** Takes a pushed report and hold state. */
  update(report: SessionReport): void {
    this.reports = report.streams;
    this.held = report.held;
  }

  emit(event: MediaSessionEvent): void {
    for (const l of this.listeners) l(event);
  }

  /** The worker died: its owner is told (the call must end), and nothing is left to release. */
  lost(reason: string): void {
    if (this.closing === undefined) this.emit({ type: "failed", reason, stream: 0 });
    this.closing ??= Promise.resolve();
    this.listeners.clear();
    this.forget(this);
  }

  close(): Promise<void> {
    this.closing ??= this.thread
      .request({ op: "close", session: this.id })
      .then(
        (value) => {
          if (value !== null) this.update(value as SessionReport);
        },
        // A worker that died took the ports with it; nothing more to do.
        () => undefined,
      )
      .finally(() => {
        this.listeners.clear();
        this.forget(this);
      });
    return this.closing;
  }
}

class RelayThread {
  readonly sessions = new Map<string, ProxySession>();
  private readonly pending = new Map<number, { resolve: (v: Reply) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private worker: Worker;
  private stopping = false;
  private lastError: unknown;
  private readonly deaths: number[] = [];
  alive = true;

  constructor(
    readonly init: WorkerRelayInit,
    private readonly logger: WorkerRelayLogger | undefined,
  ) {
    this.worker = this.spawn();
  }

  private spawn(): Worker {
    const worker = spawnWorker(this.init);
    worker.on("message", (m: FromWorker) => this.receive(m));
    worker.on("error", (e) => {
      this.lastError = e;
    });
    worker.on("exit", (code) => this.exited(worker, code));
    this.alive = true;
    return worker;
  }

  send(message: ToWorker): void {
    if (this.alive) this.worker.postMessage(message);
  }

  request(request: Request): Promise<Reply> {
    if (!this.alive) return Promise.reject(new MediaRelayError("MEDIA_CLOSED", `media worker ${this.init.index} is not running`));
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id } as ToWorker);
    });
  }

  private receive(m: FromWorker): void {
    switch (m.type) {
      case "reply": {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.ok) p?.resolve(m.value);
        else p?.reject(errorFrom(m.error));
        return;
      }
      case "event": {
        const s = this.sessions.get(m.session);
        if (s === undefined) return;
        s.held = m.held;
        s.emit(m.event);
        return;
      }
      case "reports":
        for (const r of m.reports) this.sessions.get(r.session)?.update(r);
        return;
      case "log":
        this.logger?.[m.level](m.obj, m.msg);
        return;
    }
  }

  private exited(worker: Worker, code: number): void {
    if (worker !== this.worker) return;
    this.alive = false;
    for (const p of this.pending.values()) p.reject(new MediaRelayError("MEDIA_CLOSED", `media worker ${this.init.index} stopped`));
    this.pending.clear();
    const lost = [...this.sessions.values()];
    for (const s of lost) s.lost(`media worker ${this.init.index} died`);
    if (this.stopping) return;
    const now = Date.now();
    this.deaths.push(now);
    while (this.deaths.length > 0 && now - this.deaths[0]! > 60_000) this.deaths.shift();
    const restart = this.deaths.length <= MAX_RESTARTS_PER_MINUTE;
    this.logger?.error(
      { err: this.lastError, worker: this.init.index, exitCode: code, callsLost: lost.length, sessions: lost.map((s) => s.id).slice(0, 20), restart, bug: true },
      "media worker died: its calls' media is released",
    );
    this.lastError = undefined;
    if (restart) this.worker = this.spawn();
  }

  async stop(): Promise<void> {
    if (!this.alive) {
      this.stopping = true;
      return;
    }
    const done = this.request({ op: "shutdown" }).catch(() => undefined);
    const grace = new Promise<void>((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS).unref());
    await Promise.race([done, grace]);
    this.stopping = true;
    await this.worker.terminate();
  }
}

/** Starts the worker threads and returns the relay that drives them; throws MEDIA_BAD_OPTIONS for an unusable range. */
export function createWorkerMediaRelay(options: WorkerMediaRelayOptions): WorkerMediaRelay {
  const wanted = options.workers === undefined || options.workers === "auto" ? availableParallelism() : options.workers;
  if (!Number.isInteger(wanted) || wanted < 1) throw new MediaRelayError("MEDIA_BAD_OPTIONS", `worker relay needs at least one worker, got ${String(options.workers)}`);
  if (!Number.isInteger(options.portMin) || !Number.isInteger(options.portMax) || options.portMin < 1 || options.portMax > 65535 || options.portMin >= options.portMax) {
    throw new MediaRelayError("MEDIA_BAD_OPTIONS", `bad media port range ${options.portMin}-${options.portMax}`);
  }
  checkRealtimePriority(options.realtimePriority);
  const logger = options.logger;
  // Chosen here too, so media.io: native without the addon fails at start, and the choice is logged once, in order.
  const selected = selectIo(options.io ?? "auto", dgramIo);
  logger?.info({ io: selected.io.kind, workers: wanted, ...(selected.reason === undefined ? {} : { reason: selected.reason }) }, "media relay I/O");
  const debug = logger?.isLevelEnabled?.("debug") ?? false;
  const threads = splitPortRange(options.portMin, options.portMax, wanted).map(
    (range, index) =>
      new RelayThread(
        {
          index,
          address: options.address,
          portMin: range.portMin,
          portMax: range.portMax,
          reportIntervalMs: options.reportIntervalMs ?? DEFAULT_REPORT_INTERVAL_MS,
          debug,
          ...optionalRelaySettings(options),
        },
        logger,
      ),
  );
  const sessions = new Map<string, ProxySession>();
  let closed = false;
  const forget = (s: ProxySession): void => {
    if (sessions.get(s.id) === s) sessions.delete(s.id);
    s.thread.sessions.delete(s.id);
  };

  return {
    address: options.advertiseAddress ?? options.address,
    workers: threads.length,
    createSession(sessionOptions: MediaSessionOptions = {}) {
      if (closed) throw new MediaRelayError("MEDIA_CLOSED", "media relay closed");
      const id = sessionOptions.id ?? randomToken();
      if (sessions.has(id)) throw new MediaRelayError("MEDIA_BAD_OPTIONS", `media session ${id} already exists`);
      // Pinned for life to the worker with the fewest calls: a call's streams share one thread.
      let thread: RelayThread | undefined;
      for (const t of threads) if (t.alive && (thread === undefined || t.sessions.size < thread.sessions.size)) thread = t;
      if (thread === undefined) throw new MediaRelayError("MEDIA_PORTS_EXHAUSTED", "no media worker is running");
      const legs = { a: sessionOptions.legs?.a ?? DEFAULT_LEG_MEDIA, b: sessionOptions.legs?.b ?? DEFAULT_LEG_MEDIA };
      const session = new ProxySession(id, thread, legs, forget);
      sessions.set(id, session);
      thread.sessions.set(id, session);
      thread.send({ op: "create", session: id, options: { ...sessionOptions, id } });
      return session;
    },
    session: (id) => sessions.get(id),
    activeSessions: () => [...sessions.values()],
    workerOf: (id) => sessions.get(id)?.thread.init.index,
    async portsInUse() {
      const counts = await Promise.all(threads.map((t) => (t.alive ? t.request({ op: "report" }).catch(() => 0) : 0)));
      return counts.reduce<number>((sum, n) => sum + (typeof n === "number" ? n : 0), 0);
    },
    crashWorker(index, message = "media worker crash (test)") {
      threads[index]?.send({ op: "crash", message });
    },
    async close() {
      closed = true;
      await Promise.all([...sessions.values()].map((s) => s.close()));
      await Promise.all(threads.map((t) => t.stop()));
    },
  };
}
