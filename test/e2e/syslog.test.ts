// RFC 5424 syslog against real collectors on loopback: a running Trunkline sends its security
// events over UDP; the sink frames by RFC 6587 octet counting over TCP and TLS; a collector that
// is down costs a bounded queue and counted drops, never a blocked or crashed sender.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { Writable } from "node:stream";
import { join } from "node:path";
import { createServer as createTlsServer } from "node:tls";
import { parseConfigText } from "../../src/config/index.ts";
import { startTrunkline, type TrunklineHandle } from "../../src/main.ts";
import { createSyslogSink, type SyslogRecord } from "../../src/observability/index.ts";
import { freePort } from "../support/ports.ts";
import { udpPeer } from "../support/raw-sip.ts";
import { makeCa, makeLeaf } from "../support/tls.ts";
import { until } from "../support/until.ts";

// RFC 5424 6: HEADER SP STRUCTURED-DATA SP MSG, MSG here always UTF-8 with its BOM.
const RFC5424 = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\d+) (\S+) (\[(?:[^\]\\]|\\.)*\]) \ufeff(.*)$/s;

function parse5424(text: string): { pri: number; timestamp: string; host: string; app: string; msgId: string; sd: string; msg: string } {
  const m = RFC5424.exec(text);
  if (m === null) throw new Error(`not RFC 5424: ${text.slice(0, 200)}`);
  return { pri: Number(m[1]), timestamp: m[2] ?? "", host: m[3] ?? "", app: m[4] ?? "", msgId: m[6] ?? "", sd: m[7] ?? "", msg: m[8] ?? "" };
}

/** Reads RFC 6587 octet-counted frames off a stream; fails on anything else. */
function octetFrames(socket: Socket, into: string[]): void {
  let pending = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      const sp = pending.indexOf(0x20);
      if (sp < 0) return;
      const len = Number(pending.subarray(0, sp).toString("ascii"));
      if (!/^[1-9]\d*$/.test(pending.subarray(0, sp).toString("ascii"))) throw new Error("bad MSG-LEN");
      if (pending.length < sp + 1 + len) return;
      into.push(pending.subarray(sp + 1, sp + 1 + len).toString("utf8"));
      pending = pending.subarray(sp + 1 + len);
    }
  });
}

const record = (n: number, reason = "banned"): SyslogRecord => ({
  severity: 4,
  timestamp: new Date().toISOString(),
  msgId: reason,
  params: [["source", `198.51.100.${n}:5060`], ["reason", reason]],
  msg: JSON.stringify({ n, reason, security: true }),
});

describe("a running Trunkline sends security events to a UDP collector", () => {
  let dir = "";
  let handle: TrunklineHandle;
  let collector: UdpSocket;
  const datagrams: string[] = [];
  let sipPort = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "trunkline-syslog-"));
    collector = createSocket("udp4");
    collector.on("message", (data) => datagrams.push(data.toString("utf8")));
    collector.bind(0, "127.0.0.1");
    await once(collector, "listening");
    sipPort = await freePort("127.0.0.1");
    const yaml = `
sip:
  listen:
    - { protocol: udp, address: "127.0.0.1", port: ${sipPort} }
storage:
  path: ${JSON.stringify(join(dir, "trunkline.db"))}
log:
  level: warn
  syslog: { host: "127.0.0.1", port: ${collector.address().port}, protocol: udp, facility: auth, appName: tl-test }
http:
  enabled: false
health:
  enabled: false
`;
    const parsed = parseConfigText(yaml, "syslog");
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
    // Log lines go to a sink that discards them, in place of stdout; syslog gets its copy.
    handle = await startTrunkline(parsed.value, { logDestination: new Writable({ write: (_c, _e, done) => done() }) });
  });

  after(async () => {
    await handle?.stop();
    collector?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("an INVITE from an unknown source: one RFC 5424 message with the event's facts", async () => {
    const pbx = await udpPeer("127.0.7.1", 0, { address: "127.0.0.1", port: sipPort });
    try {
      const callId = `syslog-${Date.now()}`;
      await pbx.send(
        [
          `INVITE sip:+15551230000@127.0.0.1:${sipPort} SIP/2.0`,
          `Via: SIP/2.0/UDP 127.0.7.1:${pbx.port};branch=z9hG4bKsyslog1;rport`,
          `From: <sip:intruder@127.0.7.1>;tag=x1`,
          `To: <sip:+15551230000@127.0.0.1>`,
          `Call-ID: ${callId}`,
          `CSeq: 1 INVITE`,
          `Contact: <sip:intruder@127.0.7.1:${pbx.port}>`,
          `Max-Forwards: 70`,
          `Content-Length: 0`,
          ``,
          ``,
        ].join("\r\n"),
      );
      await until(() => datagrams.some((d) => d.includes(callId)), 5000, "syslog datagram for the call");
      const m = parse5424(datagrams.find((d) => d.includes(callId)) ?? "");
      // auth (4) * 8 + warning (4).
      assert.equal(m.pri, 36);
      assert.equal(m.app, "tl-test");
      assert.equal(m.msgId, "acl-denied");
      assert.match(m.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.match(m.sd, new RegExp(`^\\[trunkline@32473 source="127\\.0\\.7\\.1:${pbx.port}" reason="acl-denied" callId="${callId}"`));
      const json = JSON.parse(m.msg) as Record<string, unknown>;
      assert.equal(json["security"], true);
      assert.equal(json["callId"], callId);
      const sent = handle.metrics.render();
      assert.match(sent, /trunkline_syslog_messages_sent_total [1-9]/);
    } finally {
      await pbx.close();
    }
  });
});

describe("TCP and TLS collectors: RFC 6587 octet counting", () => {
  const servers: Server[] = [];
  after(() => {
    for (const s of servers) s.close();
  });

  test("TCP: every message is one octet-counted frame, escaping intact", async () => {
    const frames: string[] = [];
    const server = createServer((socket) => octetFrames(socket, frames));
    servers.push(server);
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const port = (server.address() as { port: number }).port;
    const sink = createSyslogSink({ host: "127.0.0.1", port, protocol: "tcp", facility: "local3", hostname: "sbc1" });
    sink.send({ ...record(1), params: [["reason", 'odd "quoted" \\ value ] here'], ["account", "ünï"]] });
    sink.send(record(2));
    sink.send(record(3));
    await until(() => frames.length === 3, 5000, "three frames");
    const first = parse5424(frames[0] ?? "");
    assert.equal(first.pri, 19 * 8 + 4);
    assert.equal(first.host, "sbc1");
    assert.equal(first.sd, '[trunkline@32473 reason="odd \\"quoted\\" \\\\ value \\] here" account="ünï"]');
    assert.deepEqual(frames.map((f) => (JSON.parse(parse5424(f).msg) as { n: number }).n), [1, 2, 3]);
    await sink.close();
    assert.deepEqual(sink.stats(), { sent: 3, dropped: 0, queued: 0 });
  });

  test("TLS: the collector's certificate is verified against caFile and frames arrive", async () => {
    const dir = mkdtempSync(join(tmpdir(), "trunkline-syslog-tls-"));
    try {
      const ca = makeCa(dir);
      const cert = makeLeaf(dir, "collector", "localhost", ["DNS:localhost", "IP:127.0.0.1"], ca);
      const frames: string[] = [];
      const server = createTlsServer({ cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) }, (socket) => octetFrames(socket, frames));
      servers.push(server);
      server.listen(0, "127.0.0.1");
      await once(server, "listening");
      const port = (server.address() as { port: number }).port;
      const sink = createSyslogSink({ host: "127.0.0.1", port, protocol: "tls", caFile: ca.certFile });
      sink.send(record(7));
      await until(() => frames.length === 1, 5000, "a frame over TLS");
      assert.equal(parse5424(frames[0] ?? "").msgId, "banned");
      await sink.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("collector down: sending never throws or waits, the queue is bounded, drops are counted, and the queue drains once it is up", async () => {
    const port = await freePort("127.0.0.1");
    const sink = createSyslogSink({ host: "127.0.0.1", port, protocol: "tcp", maxQueue: 5, reconnectMs: 50 });
    for (let i = 1; i <= 20; i++) sink.send(record(i));
    assert.deepEqual(sink.stats(), { sent: 0, dropped: 15, queued: 5 });
    // Let a few reconnects fail against the closed port.
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(sink.stats().queued, 5);
    const frames: string[] = [];
    const server = createServer((socket) => octetFrames(socket, frames));
    servers.push(server);
    server.listen(port, "127.0.0.1");
    await once(server, "listening");
    await until(() => frames.length === 5, 10_000, "the five queued messages");
    assert.deepEqual(frames.map((f) => (JSON.parse(parse5424(f).msg) as { n: number }).n), [1, 2, 3, 4, 5]);
    assert.deepEqual(sink.stats(), { sent: 5, dropped: 15, queued: 0 });
    await sink.close();
  });

  test("UDP to nobody: no error escapes", async () => {
    const port = await freePort("127.0.0.1");
    const sink = createSyslogSink({ host: "127.0.0.1", port, protocol: "udp" });
    for (let i = 0; i < 10; i++) sink.send(record(i));
    await sink.close();
    assert.equal(sink.stats().sent + sink.stats().dropped, 10);
  });
});
