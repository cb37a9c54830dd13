// Calls through the RTP relay with real SIPp signalling and RTP sent from the test: the SDP each
// side gets points at the relay, RTP crosses it both ways and the CDR carries the packet counts;
// a codec mismatch is refused with 488 and a 305 Warning; a call without media is torn down by
// the media timeout with BYE on both legs.
import { afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { haveSipp, runSipp, type SippRun } from "../support/sipp.ts";
import { stopAll } from "../support/processes.ts";
import { freePort } from "../support/ports.ts";
import { startCallHarness, until, type CallHarness } from "./call-harness.ts";
import { poll } from "../support/until.ts";
import { createMediaRelay, createWorkerMediaRelay, type MediaRelay, type WorkerMediaRelay } from "../../src/media/index.ts";
import { relayMediaAnchor } from "../../src/call/index.ts";
import { systemClock } from "../../src/lib/index.ts";
import { sendDigit } from "../support/rtp-peer.ts";

const skip = haveSipp() ? false : "sipp is not installed";
const PORT_MIN = 41000;
const PORT_MAX = 41998;
let h: CallHarness | undefined;
let relay: MediaRelay | undefined;
let workerRelay: WorkerMediaRelay | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  await stopAll();
  await h?.stop();
  await relay?.close();
  await workerRelay?.close();
  for (const s of sockets.splice(0)) s.close();
  h = undefined;
  relay = undefined;
  workerRelay = undefined;
});

async function harness(mediaTimeoutMs: number, tweak?: Parameters<typeof startCallHarness>[0]): Promise<CallHarness> {
  relay = createMediaRelay({ address: "127.0.0.1", portMin: PORT_MIN, portMax: PORT_MAX, mediaTimeoutMs });
  return startCallHarness(tweak, {}, systemClock, relayMediaAnchor(relay));
}

/** The same harness with the relay in two worker threads (media.workers: 2). */
async function workerHarness(oneWayAfterMs: number, reportIntervalMs = 200): Promise<{ h: CallHarness; relay: WorkerMediaRelay }> {
  const r = createWorkerMediaRelay({ address: "127.0.0.1", portMin: 41500, portMax: 41599, workers: 2, oneWayAfterMs, reportIntervalMs });
  workerRelay = r;
  return { h: await startCallHarness(undefined, {}, systemClock, relayMediaAnchor(r)), relay: r };
}

/** A UDP socket standing in for one side's RTP endpoint, keeping what it receives. */
interface Bound {
  readonly socket: Socket;
  readonly received: Buffer[];
}

async function bind(address: string, port: number): Promise<Bound> {
  const socket = createSocket("udp4");
  const received: Buffer[] = [];
  socket.on("message", (m) => received.push(m));
  await new Promise<void>((resolve) => socket.bind(port, address, resolve));
  sockets.push(socket);
  return { socket, received };
}

function rtp(seq: number, ssrc: number): Buffer {
  const b = Buffer.alloc(12 + 160, 0xff);
  b[0] = 0x80;
  b[1] = 0; // PCMU
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(seq * 160, 4);
  b.writeUInt32BE(ssrc, 8);
  return b;
}

async function sendRtp(socket: Socket, port: number, count: number, ssrc: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    socket.send(rtp(i + 1, ssrc), port, "127.0.0.1");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Sends 25 packets each way through the relay's ports for the two legs; most must arrive. */
async function rtpBothWays(pbxMedia: Bound, gwMedia: Bound, aPort: number, bPort: number): Promise<void> {
  await Promise.all([sendRtp(pbxMedia.socket, aPort, 25, 0x1111), sendRtp(gwMedia.socket, bPort, 25, 0x2222)]);
  // Not until(): a packet or two lost on a loaded machine is allowed, the counts below say how many came.
  await poll(() => gwMedia.received.length >= 25 && pbxMedia.received.length >= 25, 2000);
  assert.ok(gwMedia.received.length >= 20, `gateway got ${gwMedia.received.length} RTP packets`);
  assert.ok(pbxMedia.received.length >= 20, `PBX got ${pbxMedia.received.length} RTP packets`);
}

/**
 * A media call from the PBX (127.0.4.1) through Trunkline to the carrier (127.0.2.1), SIPp on both
 * sides with a bound RTP socket each; resolves once the call is answered.
 */
async function mediaCall(hh: CallHarness, uas = "media-uas.xml"): Promise<{ pbxMedia: Bound; gwMedia: Bound; pbx: SippRun; gw: SippRun }> {
  const rtpA = await freePort("127.0.4.1");
  const rtpB = await freePort("127.0.2.1");
  const pbxMedia = await bind("127.0.4.1", rtpA);
  const gwMedia = await bind("127.0.2.1", rtpB);
  const common = { timeoutSec: 15, calls: 1, service: "+15551230001", defaultBehaviors: "all,-bye" } as const;
  const gw = runSipp({ ...common, scenario: uas, localAddress: "127.0.2.1", localPort: hh.ports.gw1, keys: { rtp: String(rtpB) } });
  const pbx = runSipp({ ...common, scenario: "media-uac.xml", remote: `${hh.address}:${hh.port}`, localAddress: "127.0.4.1", localPort: 0, keys: { rtp: String(rtpA), caller: "+15550100005" }, callDurationMs: 2500 });
  await until(() => hh.layer.activeCalls().some((c) => c.state === "answered"), 5000);
  return { pbxMedia, gwMedia, pbx, gw };
}

/** Both SIPp sides ran their scenario to the end (the failure message carries their output and our log). */
async function bothSucceeded(hh: CallHarness, pbx: SippRun, gw: SippRun): Promise<void> {
  const [a, b] = await Promise.all([pbx.done(), gw.done()]);
  assert.equal(a.stats.successful, 1, a.output.slice(-2000) + "\n" + hh.logLines.join("\n"));
  assert.equal(b.stats.successful, 1, b.output.slice(-3000) + "\n" + hh.logLines.join("\n"));
}

describe("media through the relay", { skip }, () => {
  test("SDP on both legs points at the relay, RTP crosses both ways, the CDR counts the packets", async () => {
    h = await harness(60_000);
    const { pbxMedia, gwMedia, pbx, gw } = await mediaCall(h);
    const r = relay;
    assert.ok(r);
    const stream = r.activeSessions()[0]?.stream(0);
    assert.ok(stream, "a relay session with one stream");
    const aPort = stream.leg("a").local.rtpPort;
    const bPort = stream.leg("b").local.rtpPort;
    assert.ok(aPort >= PORT_MIN && aPort <= PORT_MAX + 1 && bPort >= PORT_MIN && bPort <= PORT_MAX + 1);
    await rtpBothWays(pbxMedia, gwMedia, aPort, bPort);
    await bothSucceeded(h, pbx, gw);
    const [cdr] = await h.cdrs.waitClosed(1);
    assert.ok(cdr);
    assert.equal(cdr.disposition, "answered");
    assert.ok(cdr.media, "CDR has media quality");
    assert.ok(cdr.media.a.received.packets >= 20, JSON.stringify(cdr.media));
    assert.ok(cdr.media.b.received.packets >= 20, JSON.stringify(cdr.media));
    assert.equal(cdr.media.a.srtp, false);
    await until(() => r.activeSessions().length === 0);
    assert.equal(r.portsInUse(), 0, "ports released at the end of the call");
  });

  test("DTMF: INFO from an info-mode carrier becomes RFC 4733 towards the PBX, the PBX's events become INFO", async () => {
    h = await harness(60_000, (p) => ({ ...p, carriers: p.carriers.map((c) => (c.id === "alpha" ? { ...c, media: { dtmf: "info" } } : c)) }));
    const { pbxMedia, pbx, gw } = await mediaCall(h, "media-uas-info.xml");
    const r = relay;
    assert.ok(r);
    const aPort = r.activeSessions()[0]?.stream(0)?.leg("a").local.rtpPort;
    assert.ok(aPort !== undefined);
    // Digit 7 from the carrier's INFO reaches the PBX as telephone-event packets.
    const isEvent = (m: Buffer, digit: number): boolean => (m[1] ?? 0) % 128 === 101 && m[12] === digit;
    await until(() => pbxMedia.received.some((m) => isEvent(m, 7)), 3000);
    assert.ok(pbxMedia.received.some((m) => isEvent(m, 7)), `PBX got ${pbxMedia.received.length} packets, none a digit-7 event\n${h.logLines.join("\n")}`);
    // Digit 5 as RFC 4733 events from the PBX reaches the carrier as SIP INFO (checked by the scenario).
    await sendDigit(pbxMedia.socket, aPort, 5, { firstSeq: 100, timestamp: 16000, ssrc: 0x3333, updates: 7 });
    await bothSucceeded(h, pbx, gw);
  });

  test("late offer: the callee's offer in the 2xx and the caller's answer in the ACK are anchored too", async () => {
    h = await harness(60_000);
    const rtpA = await freePort("127.0.4.1");
    const pbxMedia = await bind("127.0.4.1", rtpA);
    const common = { timeoutSec: 15, calls: 1, service: "+15551230001", defaultBehaviors: "all,-bye" } as const;
    const gw = h.sipp("127.0.2.1", h.ports.gw1, "call-uas.xml");
    const pbx = runSipp({ ...common, scenario: "media-uac-late.xml", remote: `${h.address}:${h.port}`, localAddress: "127.0.4.1", localPort: 0, keys: { rtp: String(rtpA), caller: "+15550100005" }, callDurationMs: 1500 });
    const r = relay;
    assert.ok(r);
    await until(() => h!.layer.activeCalls().some((c) => c.state === "answered"), 5000);
    // Once the ACK's answer is in, the relay knows the PBX's media address.
    await until(() => r.activeSessions()[0]?.stream(0)?.leg("a").remote?.port === rtpA, 3000);
    const stream = r.activeSessions()[0]?.stream(0);
    assert.equal(stream?.leg("a").remote?.port, rtpA, "the ACK's answer reached the relay");
    await bothSucceeded(h, pbx, gw);
    const [cdr] = await h.cdrs.waitClosed(1);
    assert.ok(cdr?.media, "CDR has media quality");
    assert.equal(pbxMedia.received.length, 0);
  });

  test("a carrier allowing only G729 gets no PCMU-only call: 488 with a 305 Warning", async () => {
    h = await harness(60_000, (p) => ({ ...p, carriers: p.carriers.map((c) => (c.id === "alpha" ? { ...c, media: { codecs: ["G729"] } } : c)) }));
    const pbx = h.sipp("127.0.4.1", 0, "media-uac-488.xml", { client: true });
    const a = await pbx.done();
    assert.equal(a.stats.successful, 1, a.output.slice(0, 3000) + "\n" + h.logLines.join("\n"));
    const [cdr] = await h.cdrs.waitClosed(1);
    assert.ok(cdr);
    assert.equal(cdr.finalStatus, 488);
    assert.equal(cdr.attempts.length, 0, "no carrier was tried");
    assert.match(cdr.endReason ?? "", /media not acceptable/);
    await until(() => relay!.activeSessions().length === 0);
    assert.equal(relay?.portsInUse(), 0);
  });

  test("no RTP for the media timeout: BYE on both legs, CDR says media timeout", async () => {
    h = await harness(1500);
    const gw = h.sipp("127.0.2.1", h.ports.gw1, "call-uas.xml");
    const pbx = h.sipp("127.0.4.1", 0, "call-uac-wait-bye.xml");
    await bothSucceeded(h, pbx, gw);
    const [cdr] = await h.cdrs.waitClosed(1);
    assert.ok(cdr);
    assert.equal(cdr.disposition, "answered");
    assert.equal(cdr.hangupBy, "system");
    assert.match(cdr.endReason ?? "", /media timeout/);
    await until(() => h!.channels("loadtest") === 0 && h!.channels("alpha") === 0);
    assert.equal(h.channels("alpha"), 0);
  });

  test("relay in worker threads: RTP crosses both ways, the CDR counts all of it, ports are free after the call", async () => {
    // No periodic report during the call: every count in the CDR comes from the worker's final one, at release.
    const w = await workerHarness(0, 60_000);
    h = w.h;
    const { pbxMedia, gwMedia, pbx, gw } = await mediaCall(h);
    const session = w.relay.activeSessions()[0];
    const aPort = session?.localPort("a");
    const bPort = session?.localPort("b");
    assert.ok(aPort !== undefined && bPort !== undefined && aPort >= 41500 && bPort <= 41599, `relay ports ${aPort} ${bPort}`);
    await rtpBothWays(pbxMedia, gwMedia, aPort, bPort);
    await bothSucceeded(h, pbx, gw);
    const [cdr] = await h.cdrs.waitClosed(1);
    assert.ok(cdr?.media, "CDR has media quality");
    assert.ok(cdr.media.a.received.packets >= 20, JSON.stringify(cdr.media));
    assert.ok(cdr.media.b.received.packets >= 20, JSON.stringify(cdr.media));
    await until(() => w.relay.activeSessions().length === 0);
    assert.equal(await w.relay.portsInUse(), 0, "ports released at the end of the call");
  });

  test("a media worker dies mid-call: BYE on both legs, the CDR says media failed, channels free; the restarted worker carries the next call", async () => {
    const w = await workerHarness(0);
    h = w.h;
    const gw = h.sipp("127.0.2.1", h.ports.gw1, "call-uas.xml");
    const pbx = h.sipp("127.0.4.1", 0, "call-uac-wait-bye.xml");
    await until(() => h!.layer.activeCalls().some((c) => c.state === "answered"), 5000);
    await until(() => w.relay.activeSessions().length === 1, 2000);
    // Which of the two workers holds the call is the relay's business: both die.
    w.relay.crashWorker(0, "relay bug (test)");
    w.relay.crashWorker(1, "relay bug (test)");
    await bothSucceeded(h, pbx, gw);
    const [cdr] = await h.cdrs.waitClosed(1);
    assert.ok(cdr);
    assert.equal(cdr.disposition, "answered");
    assert.equal(cdr.hangupBy, "system");
    assert.match(cdr.endReason ?? "", /media failed: media worker \d died/);
    await until(() => h!.channels("loadtest") === 0 && h!.channels("alpha") === 0);
    assert.equal(h.channels("alpha"), 0);
    assert.equal(w.relay.activeSessions().length, 0);
    // The workers came back: a new call gets media through them.
    const next = await mediaCall(h);
    const session = w.relay.activeSessions()[0];
    const aPort = session?.localPort("a");
    const bPort = session?.localPort("b");
    assert.ok(aPort !== undefined && bPort !== undefined);
    await rtpBothWays(next.pbxMedia, next.gwMedia, aPort, bPort);
    await bothSucceeded(h, next.pbx, next.gw);
  });

  test("one-way audio: the PBX sends RTP, the carrier none; the CDR trace and the log say so, the call goes on", async () => {
    const w = await workerHarness(600);
    h = w.h;
    const { pbxMedia, gwMedia, pbx, gw } = await mediaCall(h);
    const aPort = w.relay.activeSessions()[0]?.localPort("a");
    assert.ok(aPort !== undefined);
    await sendRtp(pbxMedia.socket, aPort, 50, 0x1111);
    await bothSucceeded(h, pbx, gw);
    assert.ok(gwMedia.received.length >= 40, `gateway got ${gwMedia.received.length} RTP packets`);
    const [cdr] = await h.cdrs.waitClosed(1);
    assert.ok(cdr);
    assert.equal(cdr.disposition, "answered");
    assert.match(cdr.endReason ?? "", /BYE/, "one-way audio does not end the call");
    const oneWay = cdr.trace.filter((t) => t.step === "media" && /one-way audio/.test(t.detail));
    assert.equal(oneWay.length, 1, JSON.stringify(cdr.trace));
    assert.equal(oneWay[0]!.data?.["silentLeg"], "callee");
    assert.ok(h.logLines.some((l) => /one-way audio/.test(l)), "logged");
  });
});
