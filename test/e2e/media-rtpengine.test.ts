// Media through Debian's rtpengine (userspace, started here on loopback) instead of the built-in
// relay: Trunkline runs from a YAML config with `media.backend: rtpengine`, SIPp plays the PBX
// and the carriers, RTP is sent from the test. Checked: both legs' SDP point at rtpengine, RTP
// crosses it both ways with its payload intact, the CDR has the packet counts, and rtpengine
// forgets the call when it ends. Then failover to a carrier with other media settings: carrier
// 1 (SRTP required, PCMA only) answers 503 and carrier 2 (plain RTP, PCMU) must get an offer
// that fits it, with rtpengine and with the built-in relay alike.
import { afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { haveSipp, runSipp } from "../support/sipp.ts";
import { stopAll } from "../support/processes.ts";
import { freePort } from "../support/ports.ts";
import { type RtpengineProcess, rtpengineInstalled, startRtpengine } from "../support/rtpengine.ts";
import { startTestServer, type TestServer } from "../support/trunkline.ts";
import { poll } from "../support/until.ts";
import { startCallHarness, until, type CallHarness } from "./call-harness.ts";

import { createNgClient, createMediaRelay, isBencodeDict, type MediaRelay, type NgClient, type NgReply } from "../../src/media/index.ts";
import { relayMediaAnchor } from "../../src/call/index.ts";
import { systemClock } from "../../src/lib/index.ts";
import type { CallDetailRecord } from "../../src/ports/index.ts";
import { sendDigit } from "../support/rtp-peer.ts";

const skip = !haveSipp() ? "sipp is not installed" : !rtpengineInstalled() ? "rtpengine is not installed (scripts/test.sh installs Debian's rtpengine-daemon)" : false;
// The scenarios check that SDP points at a port in 45000-45999: rtpengine gets the lower part.
const RTPENGINE_MIN = 45000;
const RTPENGINE_MAX = 45399;

let rtpengine: RtpengineProcess | undefined;
let ng: NgClient | undefined;
let server: TestServer | undefined;
let harness: CallHarness | undefined;
let relay: MediaRelay | undefined;
const sockets: Socket[] = [];

// A fresh rtpengine per test: stopAll() in afterEach stops every process the file started.
async function startDaemon(extraArgs: readonly string[] = []): Promise<void> {
  rtpengine = await startRtpengine({ portMin: RTPENGINE_MIN, portMax: RTPENGINE_MAX, extraArgs });
  ng = createNgClient({ address: rtpengine.address, port: rtpengine.ngPort, timeoutMs: 2000 });
}

afterEach(async () => {
  await stopAll();
  await ng?.close();
  await rtpengine?.stop();
  ng = undefined;
  rtpengine = undefined;
  await server?.stop();
  await harness?.stop();
  await relay?.close();
  for (const s of sockets.splice(0)) s.close();
  server = undefined;
  harness = undefined;
  relay = undefined;
});

interface Peers {
  readonly pbx: number; // loadtest PBX at 127.0.4.1
  readonly alpha: number; // carrier alpha at 127.0.2.1
  readonly beta: number; // carrier beta at 127.0.3.1
}

type Media = Readonly<Record<string, unknown>> | undefined;

/** Trunkline from YAML with rtpengine as media backend; alpha then beta on the +1 route. */
async function startServer(p: Peers, alphaMedia: Media, betaMedia: Media, dtmfLogPort?: number): Promise<TestServer> {
  assert.ok(rtpengine);
  const media = (m: Media): string => (m === undefined ? "" : `\n      media: ${JSON.stringify(m)}`);
  const yaml = `
health:
  enabled: false
media:
  backend: rtpengine
  rtpengine: { address: "127.0.0.1", port: ${rtpengine.ngPort}, timeoutMs: 2000, statsIntervalMs: 200${dtmfLogPort === undefined ? "" : `, dtmfLogListen: "127.0.0.1:${dtmfLogPort}"`} }
provisioning:
  customers:
    - name: loadtest
      mode: static
      uri: sip:127.0.4.1:${p.pbx}
      sourceAddresses: ["127.0.4.0/24"]
      dids: ["+15550300000-+15550300099"]
      channels: 10
  carriers:
    - name: alpha
      gateways: [{ uri: "sip:127.0.2.1:${p.alpha}" }]
      sourceAddresses: ["127.0.2.0/24"]${media(alphaMedia)}
    - name: beta
      gateways: [{ uri: "sip:127.0.3.1:${p.beta}" }]
      sourceAddresses: ["127.0.3.0/24"]${media(betaMedia)}
  routes:
    - { prefix: "+1", carriers: [alpha, beta] }
`;
  return startTestServer({ protocols: ["udp"], extraYaml: yaml });
}

async function peers(): Promise<Peers> {
  return { pbx: await freePort("127.0.4.1"), alpha: await freePort("127.0.2.1"), beta: await freePort("127.0.3.1") };
}

async function bind(address: string): Promise<{ socket: Socket; port: number; received: Buffer[] }> {
  const port = await freePort(address);
  const socket = createSocket("udp4");
  const received: Buffer[] = [];
  socket.on("message", (m) => received.push(m));
  await new Promise<void>((resolve) => socket.bind(port, address, resolve));
  sockets.push(socket);
  return { socket, port, received };
}

/** A PCMU packet whose payload is a pattern of its own (so a changed payload is seen). */
function rtp(seq: number, ssrc: number, fill: number): Buffer {
  const b = Buffer.alloc(12 + 160);
  b[0] = 0x80;
  b[1] = 0; // PCMU
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(seq * 160, 4);
  b.writeUInt32BE(ssrc, 8);
  for (let i = 12; i < b.length; i++) b[i] = (fill + i) & 0xff;
  return b;
}

async function sendRtp(socket: Socket, port: number, count: number, ssrc: number, fill: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    socket.send(rtp(i + 1, ssrc, fill), port, "127.0.0.1");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** rtpengine's RTP port facing the leg with this tag (where that leg sends), from a query reply. */
function portOfTag(reply: NgReply, tag: string): number | undefined {
  const t = reply["tags"];
  if (!isBencodeDict(t)) return undefined;
  const entry = t[tag];
  if (!isBencodeDict(entry)) return undefined;
  const medias = entry["medias"];
  const media = Array.isArray(medias) ? medias[0] : undefined;
  if (!isBencodeDict(media)) return undefined;
  const streams = media["streams"];
  const stream = Array.isArray(streams) ? streams[0] : undefined;
  if (!isBencodeDict(stream)) return undefined;
  const port = stream["local port"];
  return typeof port === "number" ? port : undefined;
}

/**
 * A call from the PBX (127.0.4.1) through `s` to carrier alpha (SIPp with `uasScenario`), each with
 * an RTP socket; resolves once it is answered, with rtpengine's query reply for it.
 */
async function alphaCall(p: Peers, s: TestServer, uasScenario: string, callDurationMs: number) {
  const pbxMedia = await bind("127.0.4.1");
  const gwMedia = await bind("127.0.2.1");
  const common = { timeoutSec: 20, calls: 1, service: "+15551230001", defaultBehaviors: "all,-bye" } as const;
  const gw = runSipp({ ...common, scenario: uasScenario, localAddress: "127.0.2.1", localPort: p.alpha, keys: { rtp: String(gwMedia.port) } });
  const pbx = runSipp({ ...common, scenario: "rtpengine-uac.xml", remote: `127.0.0.1:${s.udp.port}`, localAddress: "127.0.4.1", localPort: p.pbx, keys: { rtp: String(pbxMedia.port), caller: "+15550300005" }, callDurationMs });
  await until(() => s.handle.calls.activeCalls().some((c) => c.state === "answered"), 8000);
  const call = s.handle.calls.activeCalls()[0];
  assert.ok(call, "the call is up");
  const q = await ng!.query({ "call-id": call.id });
  assert.ok(q.ok, `rtpengine knows the call by its CDR id: ${JSON.stringify(q)}`);
  return { pbxMedia, gwMedia, gw, pbx, call, reply: q.value };
}

async function closedCdr(s: TestServer, id: string): Promise<CallDetailRecord | undefined> {
  let cdr: CallDetailRecord | undefined;
  await poll(async () => {
    cdr = await s.handle.storage.cdrs.get(id);
    return cdr?.endedAt !== null && cdr?.endedAt !== undefined;
  }, 5000, 50);
  return cdr;
}

describe("media through rtpengine (media.backend: rtpengine)", { skip }, () => {
  test("both legs' SDP point at rtpengine, RTP crosses it intact, the CDR counts it, rtpengine forgets the call", async () => {
    await startDaemon();
    const p = await peers();
    server = await startServer(p, undefined, undefined);
    const s = server;
    const { pbxMedia, gwMedia, gw, pbx, call, reply } = await alphaCall(p, s, "rtpengine-uas.xml", 2500);
    const aPort = portOfTag(reply, "a");
    const bPort = portOfTag(reply, "b1");
    assert.ok(aPort !== undefined && aPort >= RTPENGINE_MIN && aPort <= RTPENGINE_MAX, `A-leg port ${aPort}`);
    assert.ok(bPort !== undefined && bPort >= RTPENGINE_MIN && bPort <= RTPENGINE_MAX, `B-leg port ${bPort}`);
    await Promise.all([sendRtp(pbxMedia.socket, aPort, 25, 0x1111, 0x10), sendRtp(gwMedia.socket, bPort, 25, 0x2222, 0x80)]);
    await until(() => gwMedia.received.length >= 25 && pbxMedia.received.length >= 25, 2000);
    assert.ok(gwMedia.received.length >= 20, `gateway got ${gwMedia.received.length} RTP packets`);
    assert.ok(pbxMedia.received.length >= 20, `PBX got ${pbxMedia.received.length} RTP packets`);
    // Same codec both sides: rtpengine forwards the payload untouched.
    const first = gwMedia.received[0]!;
    const seq = first.readUInt16BE(2);
    assert.deepEqual(first.subarray(12), rtp(seq, 0x1111, 0x10).subarray(12), "payload from the PBX arrives intact");
    assert.deepEqual(pbxMedia.received[0]!.subarray(12), rtp(pbxMedia.received[0]!.readUInt16BE(2), 0x2222, 0x80).subarray(12), "payload from the gateway arrives intact");
    const [a, b] = await Promise.all([pbx.done(), gw.done()]);
    assert.equal(a.stats.successful, 1, a.output.slice(-2000));
    assert.equal(b.stats.successful, 1, b.output.slice(-2000));
    const cdr = await closedCdr(s, call.id);
    assert.ok(cdr);
    assert.equal(cdr.disposition, "answered");
    assert.ok(cdr.media, "CDR has the media figures");
    assert.ok(cdr.media.a.received.packets >= 20, JSON.stringify(cdr.media));
    assert.ok(cdr.media.b.received.packets >= 20, JSON.stringify(cdr.media));
    assert.equal(cdr.media.a.codec, "PCMU");
    assert.equal(cdr.media.a.srtp, false);
    // release() deletes the call: rtpengine's query then says it is gone.
    let gone = false;
    await poll(async () => {
      const r = await ng!.query({ "call-id": call.id });
      gone = !r.ok && r.error.code === "NG_ERROR" && /unknown call/i.test(r.error.reason ?? "");
      return gone;
    }, 5000, 50);
    assert.ok(gone, "rtpengine no longer knows the call");
  });

  test("failover: carrier 1 (SRTP required, PCMA only) answers 503; carrier 2 (RTP, PCMU) gets an RTP/PCMU offer and media flows", async () => {
    await startDaemon();
    const p = await peers();
    server = await startServer(p, { srtp: "required", codecs: ["PCMA"] }, { srtp: "off", codecs: ["PCMU"] });
    const s = server;
    const pbxMedia = await bind("127.0.4.1");
    const gwMedia = await bind("127.0.3.1");
    const common = { timeoutSec: 20, calls: 1, service: "+15551230001", defaultBehaviors: "all,-bye" } as const;
    const alpha = runSipp({ ...common, scenario: "call-uas-503.xml", localAddress: "127.0.2.1", localPort: p.alpha });
    const beta = runSipp({ ...common, scenario: "rtpengine-uas.xml", localAddress: "127.0.3.1", localPort: p.beta, keys: { rtp: String(gwMedia.port) } });
    const pbx = runSipp({ ...common, scenario: "rtpengine-uac.xml", remote: `127.0.0.1:${s.udp.port}`, localAddress: "127.0.4.1", localPort: p.pbx, keys: { rtp: String(pbxMedia.port), caller: "+15550300005" }, callDurationMs: 2000 });
    await until(() => s.handle.calls.activeCalls().some((c) => c.state === "answered"), 8000);
    const call = s.handle.calls.activeCalls()[0];
    assert.ok(call, "the call is up on carrier 2");
    const q = await ng!.query({ "call-id": call.id });
    assert.ok(q.ok, JSON.stringify(q));
    // The second B-leg attempt is a branch of its own; the first one's offer was replaced.
    const aPort = portOfTag(q.value, "a");
    const bPort = portOfTag(q.value, "b2");
    assert.ok(aPort !== undefined && bPort !== undefined, `ports a=${aPort} b2=${bPort}`);
    await Promise.all([sendRtp(pbxMedia.socket, aPort, 25, 0x3333, 0x20), sendRtp(gwMedia.socket, bPort, 25, 0x4444, 0x90)]);
    await until(() => gwMedia.received.length >= 25 && pbxMedia.received.length >= 25, 2000);
    assert.ok(gwMedia.received.length >= 20, `carrier 2 got ${gwMedia.received.length} RTP packets`);
    assert.ok(pbxMedia.received.length >= 20, `PBX got ${pbxMedia.received.length} RTP packets`);
    assert.equal(gwMedia.received[0]![1]! & 0x7f, 0, "carrier 2 gets PCMU in plain RTP");
    const [a, b1, b2] = await Promise.all([pbx.done(), alpha.done(), beta.done()]);
    assert.equal(a.stats.successful, 1, a.output.slice(-2000));
    assert.equal(b1.stats.successful, 1, b1.output.slice(-2000));
    assert.equal(b2.stats.successful, 1, `carrier 2 refused the offer it got:\n${b2.output.slice(-3000)}`);
    const cdr = await closedCdr(s, call.id);
    assert.ok(cdr);
    assert.equal(cdr.disposition, "answered");
    assert.deepEqual(cdr.attempts.map((x) => x.status), [503, 200]);
  });
});

describe("DTMF through rtpengine", { skip }, () => {
  test("the PBX's RFC 4733 digit reaches an info-mode carrier as SIP INFO, through rtpengine's DTMF log", async () => {
    const dtmfLogPort = await freePort("127.0.0.1");
    await startDaemon([`--dtmf-log-dest=127.0.0.1:${dtmfLogPort}`]);
    const p = await peers();
    server = await startServer(p, { dtmf: "info" }, undefined, dtmfLogPort);
    const { pbxMedia, gw, pbx, reply } = await alphaCall(p, server, "rtpengine-uas-info.xml", 3000);
    const aPort = portOfTag(reply, "a");
    assert.ok(aPort !== undefined, "rtpengine's port for the PBX");
    // A little audio first (rtpengine learns the stream), then digit 5: three updates and three end packets (RFC 4733 2.5.1.4).
    await sendRtp(pbxMedia.socket, aPort, 10, 0x5555, 0x30);
    await sendDigit(pbxMedia.socket, aPort, 5, { firstSeq: 20, timestamp: 20 * 160, ssrc: 0x5555, updates: 3 });
    const [a, b] = await Promise.all([pbx.done(), gw.done()]);
    assert.equal(a.stats.successful, 1, a.output.slice(-2000));
    assert.equal(b.stats.successful, 1, `the carrier did not get digit 5 as INFO:\n${b.output.slice(-3000)}\n${rtpengine?.output().slice(-1500)}`);
  });
});

describe("failover with the built-in relay", { skip: haveSipp() ? false : "sipp is not installed" }, () => {
  test("carrier 1 (SRTP required, PCMA only) answers 503; carrier 2 (RTP, PCMU) gets an RTP/PCMU offer and media flows", async () => {
    relay = createMediaRelay({ address: "127.0.0.1", portMin: 45500, portMax: 45999 });
    const r = relay;
    harness = await startCallHarness(
      (prov) => ({
        ...prov,
        carriers: prov.carriers.map((c) =>
          c.id === "alpha"
            ? { ...c, gateways: c.gateways.slice(0, 1), media: { srtp: "required" as const, codecs: ["PCMA"] } }
            : c.id === "beta"
              ? { ...c, media: { srtp: "off" as const, codecs: ["PCMU"] } }
              : c,
        ),
      }),
      {},
      systemClock,
      relayMediaAnchor(r),
    );
    const h = harness;
    const pbxMedia = await bind("127.0.4.1");
    const gwMedia = await bind("127.0.3.1");
    const common = { timeoutSec: 20, calls: 1, service: "+15551230001", defaultBehaviors: "all,-bye" } as const;
    const alpha = runSipp({ ...common, scenario: "call-uas-503.xml", localAddress: "127.0.2.1", localPort: h.ports.gw1 });
    const beta = runSipp({ ...common, scenario: "rtpengine-uas.xml", localAddress: "127.0.3.1", localPort: h.ports.beta, keys: { rtp: String(gwMedia.port) } });
    const pbx = runSipp({ ...common, scenario: "rtpengine-uac.xml", remote: `${h.address}:${h.port}`, localAddress: "127.0.4.1", localPort: 0, keys: { rtp: String(pbxMedia.port), caller: "+15550100005" }, callDurationMs: 2000 });
    await until(() => h.layer.activeCalls().some((c) => c.state === "answered"), 8000);
    const stream = r.activeSessions()[0]?.stream(0);
    assert.ok(stream, "one relay session, with one stream");
    assert.equal(r.activeSessions().length, 1, "the first attempt's session was released");
    await Promise.all([
      sendRtp(pbxMedia.socket, stream.leg("a").local.rtpPort, 25, 0x5555, 0x30),
      sendRtp(gwMedia.socket, stream.leg("b").local.rtpPort, 25, 0x6666, 0xa0),
    ]);
    await until(() => gwMedia.received.length >= 25 && pbxMedia.received.length >= 25, 2000);
    assert.ok(gwMedia.received.length >= 20, `carrier 2 got ${gwMedia.received.length} RTP packets`);
    assert.ok(pbxMedia.received.length >= 20, `PBX got ${pbxMedia.received.length} RTP packets`);
    const [a, b1, b2] = await Promise.all([pbx.done(), alpha.done(), beta.done()]);
    assert.equal(a.stats.successful, 1, a.output.slice(-2000) + "\n" + h.logLines.join("\n"));
    assert.equal(b1.stats.successful, 1, b1.output.slice(-2000));
    assert.equal(b2.stats.successful, 1, `carrier 2 refused the offer it got:\n${b2.output.slice(-3000)}`);
    const [cdr] = await h.cdrs.waitClosed(1);
    assert.ok(cdr);
    assert.equal(cdr.disposition, "answered");
    assert.ok(cdr.media && cdr.media.b.received.packets >= 20, JSON.stringify(cdr.media));
    assert.equal(cdr.media.b.srtp, false);
    await until(() => r.activeSessions().length === 0);
    assert.equal(r.portsInUse(), 0, "ports released at the end of the call");
  });
});
