/**
 * A relay worker thread: one in-thread media relay (media-relay.ts) over its slice of the port
 * range, driven by messages from worker-relay.ts. Packets never leave this thread; only control
 * requests, events, logs and quality reports cross.
 */
import { parentPort, workerData } from "node:worker_threads";
import { MediaRelayError, isMediaRelayError } from "./errors.ts";
import { type MediaSession, createMediaRelay, optionalRelaySettings } from "./media-relay.ts";
import type { RelayLogger } from "./relay-session.ts";
import type { AnchoredReply, FromWorker, SessionReport, StreamPorts, ToWorker, WorkerError, WorkerRelayInit } from "./worker-protocol.ts";

const port = parentPort;
if (port === null) throw new Error("relay-worker.ts runs only as a worker thread");
const init = workerData as WorkerRelayInit;

function post(message: FromWorker): void {
  port!.postMessage(message);
}

function log(level: "debug" | "info" | "warn", obj: object, msg: string): void {
  try {
    post({ type: "log", level, obj: { ...obj, worker: init.index }, msg });
  } catch {
    // Something in obj did not clone: the message is still worth having.
    post({ type: "log", level, obj: { worker: init.index, detail: String(JSON.stringify(obj)) }, msg });
  }
}

const logger: RelayLogger = {
  debug: (obj, msg) => {
    if (init.debug) log("debug", obj, msg);
  },
  info: (obj, msg) => log("info", obj, msg),
  warn: (obj, msg) => log("warn", obj, msg),
};

const relay = createMediaRelay({
  address: init.address,
  portMin: init.portMin,
  portMax: init.portMax,
  logger,
  announceIo: false,
  ...optionalRelaySettings(init),
});
// Sessions whose call was answered: the ones whose quality is pushed.
const started = new Set<string>();
let portsInUse = 0;

function errorOf(e: unknown): WorkerError {
  if (isMediaRelayError(e)) return { code: e.code, message: e.message, warnCode: e.warnCode };
  return { code: undefined, message: e instanceof Error ? e.message : String(e), warnCode: undefined };
}

function portsOf(session: MediaSession): StreamPorts[] {
  return session.streams().map((s) => (s === undefined ? null : { a: s.leg("a").local.rtpPort, b: s.leg("b").local.rtpPort }));
}

function reportOf(session: MediaSession): SessionReport {
  return { session: session.id, streams: session.streams().map((_, i) => session.qualityReport(i) ?? null), held: session.onHold() };
}

function pushReports(): void {
  const reports: SessionReport[] = [];
  for (const id of started) {
    const s = relay.session(id);
    if (s === undefined) started.delete(id);
    else reports.push(reportOf(s));
  }
  const ports = relay.portsInUse();
  if (reports.length === 0 && ports === portsInUse) return;
  portsInUse = ports;
  post({ type: "reports", reports, portsInUse: ports });
}

function reply(id: number, work: () => Promise<AnchoredReply | boolean | number | SessionReport | null>): void {
  work().then(
    (value) => post({ type: "reply", id, ok: true, value }),
    (e: unknown) => post({ type: "reply", id, ok: false, error: errorOf(e) }),
  );
}

function sessionOf(id: string): MediaSession {
  const s = relay.session(id);
  // The main side creates before anything else, so a missing session was closed (or never made it).
  if (s === undefined) throw new MediaRelayError("MEDIA_CLOSED", `media session ${id} closed`);
  return s;
}

function anchored(session: MediaSession, sdp: AnchoredReply["sdp"]): AnchoredReply {
  return { sdp, held: session.onHold(), ports: portsOf(session) };
}

function handle(m: ToWorker): void {
  switch (m.op) {
    case "create": {
      try {
        const session = relay.createSession({ ...m.options, id: m.session });
        session.on((event) => post({ type: "event", session: m.session, event, held: session.onHold() }));
      } catch (e) {
        // The first request on it will fail with MEDIA_CLOSED; say why here.
        logger.warn({ session: m.session, err: errorOf(e) }, "media session not created");
      }
      return;
    }
    case "offer":
      return reply(m.id, async () => {
        const s = sessionOf(m.session);
        return anchored(s, await s.offer(m.from, m.sdp, m.options));
      });
    case "answer":
      return reply(m.id, async () => {
        const s = sessionOf(m.session);
        return anchored(s, await s.answer(m.from, m.sdp));
      });
    case "start":
      relay.session(m.session)?.start();
      started.add(m.session);
      return;
    case "dtmf":
      return reply(m.id, async () => sessionOf(m.session).queueDtmf(m.toLeg, m.digit, m.durationMs));
    case "close":
      return reply(m.id, async () => {
        started.delete(m.session);
        const s = relay.session(m.session);
        if (s === undefined) return null;
        // The final quality is taken before the ports go, with the counters as they ended.
        const report = reportOf(s);
        await s.close();
        return report;
      });
    case "report":
      return reply(m.id, async () => {
        portsInUse = -1;
        pushReports();
        return relay.portsInUse();
      });
    case "shutdown":
      return reply(m.id, async () => {
        clearInterval(timer);
        await relay.close();
        return true;
      });
    case "crash":
      // Outside any promise, so it is an uncaught exception as a real bug would be.
      setImmediate(() => {
        throw new Error(m.message);
      });
      return;
  }
}

const timer = init.reportIntervalMs > 0 ? setInterval(pushReports, init.reportIntervalMs) : undefined;
port.on("message", handle);
