// Per-call SIP capture end to end: a running Trunkline with trace.hep set, SIPp as the PBX (over
// TCP) and the carrier (over UDP). The call's ladder is read through the API while it is up and
// after it ended, and every captured message reaches a UDP "Homer collector" as HEPv3.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseConfigText } from "../../src/config/index.ts";
import { summarize } from "../../src/call/index.ts";
import { startTrunkline } from "../../src/main.ts";
import { freePort } from "../support/ports.ts";
import { haveSipp, runSipp } from "../support/sipp.ts";
import { stopAll } from "../support/processes.ts";

const skip = haveSipp() ? false : "sipp is not installed (scripts/test.sh installs it)";
const dir = mkdtempSync(join(tmpdir(), "trunkline-ladder-"));

after(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

interface Item {
  readonly direction: "in" | "out";
  readonly leg: "a" | "b";
  readonly protocol: string;
  readonly src: string;
  readonly dst: string;
  readonly summary: { kind: string; method: string; status: number | null };
  readonly raw: string;
}

const label = (i: Item): string => `${i.leg}${i.direction === "in" ? "<" : ">"}${i.summary.kind === "request" ? i.summary.method : String(i.summary.status)}`;

/** Reads a HEPv3 packet's generic chunks (type -> value). */
function hepChunks(packet: Buffer): Map<number, Buffer> {
  assert.equal(packet.toString("latin1", 0, 4), "HEP3");
  assert.equal(packet.readUInt16BE(4), packet.length);
  const chunks = new Map<number, Buffer>();
  for (let off = 6; off < packet.length; ) {
    const length = packet.readUInt16BE(off + 4);
    assert.ok(length >= 6);
    chunks.set(packet.readUInt16BE(off + 2), packet.subarray(off + 6, off + length));
    off += length;
  }
  return chunks;
}

test("a call's SIP ladder: both legs, live then saved, over TCP and UDP, and sent to a HEP collector", { skip, timeout: 90_000 }, async () => {
  const sipPort = await freePort("127.0.0.1");
  const httpPort = await freePort("127.0.0.1");
  const carrierPort = await freePort("127.0.26.1");
  const collector = createSocket("udp4");
  await new Promise<void>((resolve) => collector.bind(0, "127.0.0.1", () => resolve()));
  const hep: Buffer[] = [];
  collector.on("message", (m) => hep.push(m));
  const yaml = `
sip:
  listen:
    - { protocol: udp, address: 127.0.0.1, port: ${sipPort} }
    - { protocol: tcp, address: 127.0.0.1, port: ${sipPort} }
storage:
  path: ${JSON.stringify(join(dir, "ladder.db"))}
log:
  level: silent
health:
  enabled: false
media:
  enabled: false
http:
  enabled: true
  listen: "127.0.0.1:${httpPort}"
trace:
  sipLadder: { enabled: true, retentionHours: 1, maxMessagesPerCall: 50 }
  hep: { host: 127.0.0.1, port: ${collector.address().port}, captureId: 4242 }
provisioning:
  customers:
    - name: pbx
      mode: static
      uri: sip:127.0.27.1:5060
      sourceAddresses: ["127.0.27.0/24"]
      dids: ["+15550600000-+15550600099"]
      channels: 4
  carriers:
    - name: delta
      gateways: ["sip:127.0.26.1:${carrierPort}"]
      sourceAddresses: ["127.0.26.0/24"]
  routes:
    - { prefix: "+1", carriers: [delta] }
`;
  const parsed = parseConfigText(yaml, "sip-ladder-test");
  assert.ok(parsed.ok, parsed.ok ? "" : JSON.stringify(parsed.error));
  const server = await startTrunkline(parsed.value);
  const base = `http://127.0.0.1:${httpPort}`;
  try {
    const gw = runSipp({ scenario: "call-uas-trying.xml", localAddress: "127.0.26.1", localPort: carrierPort, calls: 1, timeoutSec: 30 });
    const pbx = runSipp({
      scenario: "call-uac.xml",
      remote: `127.0.0.1:${sipPort}`,
      localAddress: "127.0.27.1",
      transport: "t1",
      calls: 1,
      timeoutSec: 30,
      service: "+15551230000",
      keys: { caller: "+15550600001" },
      callDurationMs: 3000,
    });

    // While the call is up its ladder comes from memory, already with both legs.
    let id = "";
    for (let i = 0; i < 100 && id === ""; i++) {
      const calls = (await (await fetch(`${base}/api/v1/calls`)).json()) as { items: Array<{ id: string; state: string }> };
      if (calls.items[0]?.state === "answered") id = calls.items[0].id;
      else await sleep(100);
    }
    assert.notEqual(id, "", "the call was answered");
    const live = (await (await fetch(`${base}/api/v1/calls/${id}/sip`)).json()) as { live: boolean; items: Item[] };
    assert.equal(live.live, true);
    assert.deepEqual(live.items.slice(0, 3).map(label), ["a<INVITE", "b>INVITE", "b<100"]);
    assert.equal(live.items[0]?.protocol, "TCP", "the PBX's leg is TCP");
    assert.equal(live.items[1]?.protocol, "UDP", "the carrier's leg is UDP");

    const [out, inn] = await Promise.all([pbx.done(), gw.done()]);
    assert.equal(out.stats.successful, 1, out.output.slice(-1500));
    assert.equal(inn.stats.successful, 1, inn.output.slice(-1500));

    // Once ended and saved (after a few seconds' linger), the whole ladder comes from storage.
    let saved: { live: boolean; items: Item[] } | undefined;
    for (let i = 0; i < 100; i++) {
      const body = (await (await fetch(`${base}/api/v1/calls/${id}/sip`)).json()) as { live: boolean; items: Item[] };
      if (!body.live) {
        saved = body;
        break;
      }
      await sleep(100);
    }
    assert.ok(saved !== undefined, "the ladder was saved");
    const labels = saved.items.map(label);
    for (const expected of ["a<INVITE", "a>100", "a>180", "a>200", "a<ACK", "a<BYE", "a>200", "b>INVITE", "b<100", "b<180", "b<200", "b>ACK", "b>BYE", "b<200"]) {
      assert.ok(labels.includes(expected), `${expected} in ${labels.join(" ")}`);
    }
    assert.ok(saved.items.filter((i) => i.leg === "a").every((i) => i.protocol === "TCP" && (i.src.startsWith("127.0.27.1:") || i.dst.startsWith("127.0.27.1:"))));
    assert.ok(saved.items.filter((i) => i.leg === "b").every((i) => i.protocol === "UDP" && (i.src === `127.0.26.1:${carrierPort}` || i.dst === `127.0.26.1:${carrierPort}`)));

    // The collector got each captured message once, as HEPv3 with our capture id.
    for (let i = 0; i < 50 && hep.length < saved.items.length; i++) await sleep(50);
    assert.equal(hep.length, saved.items.length);
    const chunks = hep.map(hepChunks);
    assert.ok(chunks.every((c) => c.get(12)?.readUInt32BE() === 4242));
    assert.deepEqual(
      chunks.map((c) => summarize(c.get(15) ?? Buffer.alloc(0)).startLine),
      saved.items.map((i) => summarize(Buffer.from(i.raw)).startLine),
      "HEP payloads in capture order",
    );
    assert.equal(chunks[0]?.get(2)?.[0], 6, "the INVITE came over TCP");
    assert.equal(chunks[1]?.get(2)?.[0], 17, "the B-leg INVITE went over UDP");
    assert.equal(chunks.at(-1)?.get(17)?.toString(), id, "correlated by our call id");
  } finally {
    await server.stop();
    collector.close();
  }
});
